#!/usr/bin/python3
"""Reference numbers from statsmodels for the forecasting harness.

Run once (python3 test/forecast/reference.py > test/forecast/expected/reference.txt)
with Debian's python3-statsmodels (0.13.5); the harness reads the output and
compares src/forecast/ets.c with it. One case per line, fields separated by
spaces:

  init   SERIES TREND SEASON M  level trend s_1 .. s_m
      statsmodels' heuristic initial states (Hyndman et al. 2008, 2.6.1)
  filter SERIES TREND SEASON M  alpha beta gamma phi  sse level slope  H f_1 .. f_H
      ExponentialSmoothing with those states and fixed smoothing weights: its
      SSE, final level and slope, and the forecasts its final states give.
      (Not its forecast(): in statsmodels 0.13.5 the forecast one season
      ahead, and every multiple of it, uses the season's factor from one
      cycle before the last, statsmodels issue #9538, fixed by PR #10230.)
  fit    SERIES TREND SEASON M  hw_sse  ets_loglik ets_sse  H f_1 .. f_H
      fitted by statsmodels: ExponentialSmoothing (initial states estimated,
      its SSE) and ETSModel with additive errors (its log-likelihood and SSE,
      and its forecasts)

TREND is N, A or Ad; SEASON is N, A or M.
"""
import csv
import os
import sys
import warnings

import numpy as np
from statsmodels.tsa.exponential_smoothing.initialization import _initialization_heuristic
from statsmodels.tsa.exponential_smoothing.ets import ETSModel
from statsmodels.tsa.holtwinters import ExponentialSmoothing

HERE = os.path.dirname(os.path.abspath(__file__))
H = 12

def load(name):
    with open(os.path.join(HERE, "data", name + ".csv")) as f:
        return np.array([float(row["value"]) for row in csv.DictReader(f)])


def sm_args(trend, season, m):
    return dict(
        trend=None if trend == "N" else "add",
        damped_trend=trend == "Ad",
        seasonal=None if season == "N" else {"A": "add", "M": "mul"}[season],
        seasonal_periods=m if season != "N" else None,
    )


def fmt(values):
    return " ".join(repr(float(v)) for v in values)


def init_line(name, y, trend, season, m):
    level, slope, seasonal = _initialization_heuristic(
        y, trend=False if trend == "N" else "add",
        seasonal=False if season == "N" else {"A": "add", "M": "mul"}[season],
        seasonal_periods=m)
    seasonal = [] if seasonal is None else seasonal
    slope = 0.0 if slope is None else slope
    print("init", name, trend, season, m, fmt([level, slope]), fmt(seasonal))


def filter_line(name, y, trend, season, m, alpha, beta, gamma, phi):
    model = ExponentialSmoothing(y, initialization_method="heuristic", **sm_args(trend, season, m))
    kwargs = dict(smoothing_level=alpha, optimized=False)
    if trend != "N":
        kwargs["smoothing_trend"] = beta
    if season != "N":
        kwargs["smoothing_seasonal"] = gamma
    if trend == "Ad":
        kwargs["damping_trend"] = phi
    res = model.fit(**kwargs)
    level = res.level[-1]
    slope = res.trend[-1] if trend != "N" else 0.0
    steps = np.arange(1, H + 1)
    damped = np.cumsum(phi ** steps) if trend == "Ad" else steps.astype(float)
    base = level + damped * slope
    if season == "N":
        forecast = base
    else:
        factors = np.asarray(res.season)[-m:][(steps - 1) % m]
        forecast = base * factors if season == "M" else base + factors
    print("filter", name, trend, season, m, fmt([alpha, beta, gamma, phi, res.sse, level, slope]), H,
          fmt(forecast))


def fit_line(name, y, trend, season, m):
    hw = ExponentialSmoothing(y, initialization_method="estimated", **sm_args(trend, season, m)).fit()
    args = sm_args(trend, season, m)
    ets = ETSModel(y, error="add", trend=args["trend"], damped_trend=args["damped_trend"],
                   seasonal=args["seasonal"], seasonal_periods=args["seasonal_periods"]).fit(disp=False)
    ets_sse = float(np.sum((y - ets.fittedvalues) ** 2))
    print("fit", name, trend, season, m, fmt([hw.sse, ets.llf, ets_sse]), H, fmt(ets.forecast(H)))


def main():
    warnings.simplefilter("ignore")
    series = {name: load(name) for name in
              ["air_passengers", "uk_gas", "nottem", "co2", "us_acc_deaths"]}
    m_of = {"uk_gas": 4}

    inits = [("air_passengers", "A", "A"), ("air_passengers", "A", "M"), ("air_passengers", "N", "N"),
             ("air_passengers", "A", "N"), ("uk_gas", "A", "M"), ("nottem", "N", "A"),
             ("us_acc_deaths", "A", "A")]
    for name, trend, season in inits:
        init_line(name, series[name], trend, season, m_of.get(name, 12))

    filters = [("air_passengers", "A", "A", 0.3, 0.1, 0.2, 1.0),
               ("air_passengers", "Ad", "M", 0.6, 0.05, 0.3, 0.9),
               ("air_passengers", "N", "N", 0.8, 0.0, 0.0, 1.0),
               ("uk_gas", "A", "M", 0.2, 0.3, 0.5, 1.0),
               ("nottem", "N", "A", 0.1, 0.0, 0.3, 1.0),
               ("co2", "Ad", "A", 0.5, 0.2, 0.1, 0.95)]
    for name, trend, season, a, b, g, phi in filters:
        filter_line(name, series[name], trend, season, m_of.get(name, 12), a, b, g, phi)

    fits = [("air_passengers", "A", "M"), ("air_passengers", "A", "A"), ("air_passengers", "Ad", "N"),
            ("uk_gas", "A", "M"), ("uk_gas", "Ad", "A"), ("nottem", "N", "A"),
            ("co2", "A", "A"), ("us_acc_deaths", "A", "A"), ("us_acc_deaths", "N", "A")]
    for name, trend, season in fits:
        fit_line(name, series[name], trend, season, m_of.get(name, 12))


if __name__ == "__main__":
    sys.exit(main())
