#!/usr/bin/env bash
# Builds and runs the fuzzers for AUTOML_FUZZ_SECONDS in all (default 30): two
# thirds for the model format, a third for the prediction-log record decoder
# (smaller, and faster per input). The seed is fixed (AUTOML_FUZZ_SEED,
# default 1), so a failure can be replayed:
#   test/fuzz/fuzz_model_format SECONDS SEED
#   test/fuzz/fuzz_log_record SECONDS SEED
# fuzz_log_record also saves a failing input to test/fuzz/fuzz_log_record.crash;
# ./fuzz_log_record fuzz_log_record.crash checks it alone.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
make -s fuzz_model_format fuzz_log_record PG_CONFIG="${PG_CONFIG:-pg_config}"
total=${AUTOML_FUZZ_SECONDS:-30}
seed=${AUTOML_FUZZ_SEED:-1}
log_seconds=$(awk -v t="$total" 'BEGIN { s = t / 3; printf "%g", (s < 1 ? 1 : s) }')
model_seconds=$(awk -v t="$total" -v l="$log_seconds" 'BEGIN { s = t - l; printf "%g", (s < 1 ? 1 : s) }')
./fuzz_model_format "$model_seconds" "$seed"
./fuzz_log_record "$log_seconds" "$seed"
