#!/bin/sh
# Builds and runs the forecasting harness (src/forecast outside the server).
# Writes the backtest figures to test/forecast/backtest.csv, in the columns
# bench/forecast_peer.py prints, so that the two can be joined:
#   /usr/bin/python3 bench/forecast_peer.py --ours test/forecast/backtest.csv
# Exits non-zero when a check fails. ASAN=1 runs the sanitizer build instead.
set -eu
cd "$(dirname "$0")"
if [ "${ASAN:-0}" = 1 ]; then
	make -s test_forecast_asan
	# palloc'd memory is the server's memory contexts' to free, not the shim's
	export ASAN_OPTIONS=detect_leaks=0
	exec ./test_forecast_asan --csv backtest.csv
fi
make -s test_forecast
exec ./test_forecast --csv backtest.csv
