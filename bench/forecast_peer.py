#!/usr/bin/python3
"""Peer figures for the forecasting core: statsmodels on the harness's split.

    /usr/bin/python3 bench/forecast_peer.py [--etsmodel] [--ours test/forecast/backtest.csv]
        [--data DIR] [--series a,b,...] [--methods m1,m2,...] [--details] [--repeat N]

Needs Debian's python3-statsmodels (0.13.5 was measured). For each series in
test/forecast/data/ (or --data DIR, a folder of period,value CSV files; --series
picks files by name): horizon one season (12 monthly, 4 quarterly; the
frequency is read off the first two periods), three rolling origins n-3h,
n-2h, n-h, fit on everything before the origin, forecast h. The origins follow
forecast_backtest_origins in src/forecast/backtest.c: an origin whose training
part is shorter than two seasons (4 periods without a season) is left out, and
a series without one origin is an error. MASE divides each absolute error by
the in-sample MAE of seasonal naive on that origin's training part (Hyndman &
Koehler 2006), as src/forecast/backtest.c does. Methods:

  seasonal_naive         the value one season before
  statsmodels_es         ExponentialSmoothing, additive trend, additive or
                         multiplicative season, whichever has the lower AIC;
                         initial states estimated; its own forecast()
  statsmodels_es_states  the same fits, forecasts computed from their final
                         states: statsmodels 0.13.5's forecast() uses a stale
                         seasonal factor one season ahead and at every multiple
                         of it (statsmodels issue #9538, fixed by PR #10230),
                         which is exactly the last step of this horizon
  statsmodels_etsmodel   (--etsmodel) ETSModel with additive errors over the
                         variants ours chooses among (trend N/A/Ad x season
                         N/A/M), lowest AICc: the same method as ours

Prints CSV (series,frequency,n,horizon,origins,method,mase,smape,rmse), the
columns test/forecast/run.sh writes to test/forecast/backtest.csv; with
--ours FILE it then prints both side by side. --methods prints only those
methods' rows. --details prints numbers to 15 significant digits instead of
6 decimals, and adds two columns for bench/forecast.sh: seconds (the
method's fits and forecasts over all origins of the series, wall time, the
median of --repeat runs; statsmodels_es and statsmodels_es_states share their
fits and report the same time) and train_lengths (the origins, as training
lengths joined by ';'). --points FILE writes every forecast point as CSV
(series, method, origin = training length, step, actual, forecast), for
bench/report.py's charts.
"""
import argparse
import csv
import os
import sys
import time
import warnings

import numpy as np
from statsmodels.tsa.exponential_smoothing.ets import ETSModel
from statsmodels.tsa.holtwinters import ExponentialSmoothing

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "test", "forecast", "data")
SERIES = [("air_passengers", "monthly", 12), ("uk_gas", "quarterly", 4), ("nottem", "monthly", 12),
          ("co2", "monthly", 12), ("us_acc_deaths", "monthly", 12)]
ORIGINS = 3
COLUMNS = ["series", "frequency", "n", "horizon", "origins", "method", "mase", "smape", "rmse"]
DETAIL_COLUMNS = ["seconds", "train_lengths"]
FREQUENCIES = {1: ("monthly", 12), 3: ("quarterly", 4)}


def load(name, data=DATA):
    with open(os.path.join(data, name + ".csv")) as f:
        return np.array([float(row["value"]) for row in csv.DictReader(f)])


def frequency(name, data=DATA):
    """(frequency, season length) from the months between the first two periods."""
    with open(os.path.join(data, name + ".csv")) as f:
        rows = csv.DictReader(f)
        first, second = next(rows), next(rows)
    if "period" not in first:
        known = {s[0]: s[1:] for s in SERIES}
        if name not in known:
            raise SystemExit(f"{name}: no period column and not a known series")
        return known[name]
    (y1, m1), (y2, m2) = [map(int, r["period"][:7].split("-")) for r in (first, second)]
    months = (y2 - y1) * 12 + (m2 - m1)
    if months not in FREQUENCIES:
        raise SystemExit(f"{name}: periods {months} months apart; monthly or quarterly series only")
    return FREQUENCIES[months]


def origins(n, m, h, max_origins=ORIGINS):
    """Training lengths n - k*h, k = max_origins..1, as forecast_backtest_origins does."""
    min_train = 2 * m if m > 1 else 4
    if n - h < min_train:
        raise SystemExit(f"series too short: {n} periods, a horizon of {h} needs {min_train + h}")
    return [n - k * h for k in range(max_origins, 0, -1) if n - k * h >= min_train]


def mase_scale(train, m):
    return np.mean(np.abs(train[m:] - train[:-m]))


def seasonal_naive(train, m, h):
    return np.array([train[len(train) - m + j % m] for j in range(h)])


def es_best(train, m, h):
    """ExponentialSmoothing with additive trend; the season by AIC."""
    fits = []
    for seasonal in ("add", "mul"):
        if seasonal == "mul" and np.any(train <= 0):
            continue
        fit = ExponentialSmoothing(train, trend="add", seasonal=seasonal, seasonal_periods=m,
                                   initialization_method="estimated").fit()
        fits.append((fit.aic, seasonal, fit))
    _, seasonal, fit = min(fits, key=lambda f: f[0])
    steps = np.arange(1, h + 1)
    base = fit.level[-1] + steps * fit.trend[-1]
    factors = np.asarray(fit.season)[-m:][(steps - 1) % m]
    from_states = base * factors if seasonal == "mul" else base + factors
    return np.asarray(fit.forecast(h)), from_states


def etsmodel_best(train, m, h):
    best = None
    for seasonal in (None, "add", "mul"):
        if seasonal == "mul" and np.any(train <= 0):
            continue
        for trend, damped in ((None, False), ("add", False), ("add", True)):
            try:
                fit = ETSModel(train, error="add", trend=trend, damped_trend=damped, seasonal=seasonal,
                               seasonal_periods=m if seasonal else None).fit(disp=False)
            except Exception:       # a variant statsmodels cannot fit is left out
                continue
            if np.isfinite(fit.aicc) and (best is None or fit.aicc < best.aicc):
                best = fit
    return np.asarray(best.forecast(h))


def metrics(actual, forecast, scale):
    e = np.abs(actual - forecast)
    denominator = np.abs(actual) + np.abs(forecast)
    return (np.mean(e / scale),
            np.mean(np.where(denominator > 0, 2 * e / np.where(denominator > 0, denominator, 1), 0)),
            np.sqrt(np.mean(e ** 2)))


def timed(fn, *args):
    start = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - start


def run(with_etsmodel, series=None, data=DATA, repeat=1, points=None):
    rows = []
    if series is None:
        series = [s[0] for s in SERIES]
    for name in series:
        freq, m = frequency(name, data)
        y = load(name, data)
        n, h = len(y), m
        lengths = origins(n, m, h)
        methods = {"seasonal_naive": [], "statsmodels_es": [], "statsmodels_es_states": []}
        if with_etsmodel:
            methods["statsmodels_etsmodel"] = []
        seconds = {method: [] for method in methods}
        start = time.time()
        for run_number in range(repeat):
            elapsed = dict.fromkeys(methods, 0.0)
            for origin in lengths:
                train, actual = y[:origin], y[origin:origin + h]
                scale = mase_scale(train, m)
                naive, t_naive = timed(seasonal_naive, train, m, h)
                (es, es_states), t_es = timed(es_best, train, m, h)
                forecasts = {"seasonal_naive": naive, "statsmodels_es": es,
                             "statsmodels_es_states": es_states}
                elapsed["seasonal_naive"] += t_naive
                elapsed["statsmodels_es"] += t_es
                elapsed["statsmodels_es_states"] += t_es
                if with_etsmodel:
                    forecasts["statsmodels_etsmodel"], t_ets = timed(etsmodel_best, train, m, h)
                    elapsed["statsmodels_etsmodel"] += t_ets
                if run_number == 0:     # the fits are deterministic: score the first run
                    for method, f in forecasts.items():
                        methods[method].append((actual, f, np.full(h, scale)))
                        if points is not None:
                            points.extend(dict(series=name, method=method, origin=origin,
                                               step=j + 1, actual=float(actual[j]),
                                               forecast=float(f[j])) for j in range(len(actual)))
            for method, t in elapsed.items():
                seconds[method].append(t)
        for method, parts in methods.items():
            actual = np.concatenate([p[0] for p in parts])
            forecast = np.concatenate([p[1] for p in parts])
            scale = np.concatenate([p[2] for p in parts])
            mase, smape, rmse = metrics(actual, forecast, scale)
            rows.append(dict(series=name, frequency=freq, n=n, horizon=h, origins=len(lengths),
                             method=method, mase=mase, smape=smape, rmse=rmse,
                             seconds=float(np.median(seconds[method])),
                             train_lengths=";".join(str(o) for o in lengths)))
        print(f"# {name}: {time.time() - start:.1f} s", file=sys.stderr)
    return rows


def side_by_side(peer_rows, ours_path):
    with open(ours_path) as f:
        ours = list(csv.DictReader(f))
    table = {}
    for r in peer_rows:
        table.setdefault(r["series"], {})[r["method"]] = float(r["mase"])
    for r in ours:
        key = "ours_" + r["method"] if r["method"] != "seasonal_naive" else "ours_seasonal_naive"
        table.setdefault(r["series"], {})[key] = float(r["mase"])
    columns = ["seasonal_naive", "ours_seasonal_naive", "ours_ets", "ours_selected", "statsmodels_es",
               "statsmodels_es_states", "statsmodels_etsmodel"]
    columns = [c for c in columns if any(c in v for v in table.values())]
    print()
    print("MASE, horizon one season, 3 rolling origins (lower is better)")
    print(f"{'series':<16}" + "".join(f"{c:>23}" for c in columns))
    for series, values in table.items():
        print(f"{series:<16}" + "".join(f"{values.get(c, float('nan')):>23.3f}" for c in columns))
    means = {c: np.mean([v[c] for v in table.values() if c in v]) for c in columns}
    print(f"{'mean':<16}" + "".join(f"{means[c]:>23.3f}" for c in columns))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ours", help="the harness's CSV (test/forecast/backtest.csv) to print beside")
    parser.add_argument("--etsmodel", action="store_true", help="also ETSModel chosen by AICc (slower)")
    parser.add_argument("--data", default=DATA, help="folder of NAME.csv files (period,value); default %(default)s")
    parser.add_argument("--series", help="comma-separated file names without .csv (default: the five harness series)")
    parser.add_argument("--methods", help="comma-separated methods to print (default: all)")
    parser.add_argument("--details", action="store_true", help="add the columns seconds and train_lengths")
    parser.add_argument("--repeat", type=int, default=1, help="time the fits this many times, report the median")
    parser.add_argument("--points", help="write every forecast point to this CSV file")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")

    series = args.series.split(",") if args.series else None
    points = [] if args.points else None
    rows = run(args.etsmodel, series, args.data, args.repeat, points)
    if args.points:
        with open(args.points, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=["series", "method", "origin", "step", "actual",
                                              "forecast"], lineterminator="\n")
            w.writeheader()
            for p in points:
                w.writerow({k: ("{:.15g}".format(v) if isinstance(v, float) else v)
                            for k, v in p.items()})
    if args.methods:
        wanted = args.methods.split(",")
        rows = [r for r in rows if r["method"] in wanted]
    columns = COLUMNS + (DETAIL_COLUMNS if args.details else [])
    out = csv.DictWriter(sys.stdout, fieldnames=columns, lineterminator="\n", extrasaction="ignore")
    out.writeheader()
    number = "{:.15g}" if args.details else "{:.6f}"
    for r in rows:
        out.writerow({k: (number.format(v) if isinstance(v, float) else v) for k, v in r.items()})
    if args.ours:
        side_by_side(rows, args.ours)


if __name__ == "__main__":
    main()
