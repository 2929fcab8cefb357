#!/usr/bin/python3
"""Generate docs/benchmarks.md and its SVG charts from one bench/run.sh results directory.

    /usr/bin/python3 bench/report.py DIR [--docs] [--out FILE] [--baseline DIR2]

DIR is a results directory of bench/run.sh (bench/results/<time>/): run.json (the commit,
machine, options and wall time of every benchmark) and one <benchmark>.json per benchmark
(see bench/benchlib.py). The template bench/benchmarks.md.in holds the prose, which must
not carry figures: every figure comes from the results, and every table is printed with
the commit it was measured at. The report is written to DIR/benchmarks.md with its charts
in DIR/img/; with --docs also to docs/benchmarks.md and docs/img/ (--out FILE: another
place, charts in img/ next to it). --baseline DIR2 adds the figures of an earlier run
beside the summary's (for "today's figure beside the new one").

Charts are drawn with Debian's python3-matplotlib (Agg backend, SVG written
deterministically: the same results give the same file).
"""

import argparse
import datetime
import json
import math
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import benchlib  # noqa: E402

TEMPLATE = os.path.join(HERE, "benchmarks.md.in")
DOCS_OUT = os.path.join(REPO, "docs", "benchmarks.md")

ALIAS = {"compare_sklearn": "compare", "compare_categorical": "categorical",
         "scoring_speed": "speed", "logging_cost": "logging", "gbdt_speed": "gbdt_speed",
         "gbdt_accuracy": "gbdt_accuracy", "search_benchmark": "search", "forecast": "forecast",
         "load": "load", "scale_out": "citus", "bagging": "bagging"}
SCRIPT = {"compare_sklearn": "bench/compare_sklearn.py",
          "compare_categorical": "bench/compare_categorical.py",
          "scoring_speed": "bench/scoring_speed.sh", "logging_cost": "bench/logging_cost.sh",
          "gbdt_speed": "bench/gbdt_speed.py", "gbdt_accuracy": "bench/gbdt_accuracy.py",
          "search_benchmark": "bench/search_benchmark.py", "forecast": "bench/forecast.sh",
          "load": "bench/load.sh", "scale_out": "bench/scale_out.sh", "bagging": "bench/bagging.py"}
SECTION = {"compare_sklearn": "correctness-linear-learners-against-scikit-learn",
           "scoring_speed": "scoring-speed-of-a-linear-model",
           "compare_categorical": "categorical-data-the-linear-learner-against-a-scikit-learn-pipeline",
           "gbdt_speed": "tree-learners-against-xgboost-and-scikit-learn-speed-and-memory",
           "gbdt_accuracy": "tree-learners-at-default-settings-accuracy",
           "search_benchmark": "the-search-under-a-time-budget-against-a-same-budget-xgboost-search",
           "logging_cost": "prediction-logging",      # docs/monitoring.md links here
           "forecast": "forecasting",                 # docs/forecasting.md links here
           "load": "scoring-under-load-while-the-model-is-retrained-and-redeployed",
           "scale_out": "scale-out-on-citus",         # docs/scale-out.md links here
           "bagging": "bagging-against-refitting"}    # docs/search.md links here
TASK_METRIC = {"binary": "ROC AUC ↑", "multiclass": "log loss ↓", "regression": "RMSE ↓"}
HIGHER = {"binary": True, "multiclass": False, "regression": False}
# "at or above" a peer, with the tolerance issue 20 uses: AUC -0.005, losses +3 %
TOL_AUC, TOL_REL = 0.005, 0.03


# --------------------------------------------------------------------------
# formatting

def num(x, digits=4):
    """A figure for a table: about `digits` significant digits, no exponent for usual sizes."""
    if x is None:
        return "–"
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, int):
        return "{:,}".format(x)
    if isinstance(x, str):
        return x
    if x != x:
        return "–"
    a = abs(x)
    if a == 0:
        return "0"
    if a >= 10 ** digits:
        return "{:,.0f}".format(x)
    if a < 1e-3:
        return "%.1e" % x
    decimals = max(0, digits - 1 - int(math.floor(math.log10(a))))
    return "{:,.{}f}".format(x, decimals)


def score(x, task):
    """A test metric: AUC and log loss to 4 decimals, RMSE to 4 significant digits."""
    if x is None:
        return "–"
    if task in ("binary", "multiclass", "roc_auc", "log_loss"):
        return "%.4f" % x
    return num(x, 4)


def mase(x):
    return "–" if x is None else "%.3f" % x


def secs(x):
    if x is None:
        return "–"
    return "%.2f" % x if x < 10 else "%.1f" % x


def pct(x, digits=0):
    return "–" if x is None else "%.*f %%" % (digits, 100 * x)


def ratio(x):
    return "–" if x is None else "%.2f×" % x


def signed(x, fmt):
    if x is None:
        return "–"
    if x == 0:
        return "0"
    return ("+" if x >= 0 else "−") + fmt(abs(x))


def md_table(header, rows, right=()):
    """A markdown table; columns whose index is in `right` are right-aligned."""
    out = ["| " + " | ".join(header) + " |",
           "|" + "|".join("---:" if i in right else "---" for i in range(len(header))) + "|"]
    for r in rows:
        out.append("| " + " | ".join("–" if v is None else str(v) for v in r) + " |")
    return "\n".join(out)


def spread(values):
    v = [float(x) for x in values if x is not None]
    if not v:
        return None
    m = sum(v) / len(v)
    return {"mean": m, "min": min(v), "max": max(v), "n": len(v),
            "std": math.sqrt(sum((x - m) ** 2 for x in v) / len(v))}


def mean_range(sp, task):
    """mean (min–max) over seeds; the value alone when the seeds agree or there is one."""
    if sp is None:
        return "FAILED"
    if sp["n"] == 1:
        return score(sp["mean"], task)
    if sp["min"] == sp["max"]:
        return "%s (every seed)" % score(sp["mean"], task)
    return "%s (%s–%s)" % (score(sp["mean"], task), score(sp["min"], task),
                           score(sp["max"], task))


def at_or_above(task, a, b, tolerance=False):
    """Is score a at least as good as b (with issue 20's tolerance when asked)?"""
    if a is None or b is None:
        return None
    if HIGHER[task]:
        return a >= b - (TOL_AUC if tolerance else 0.0)
    return a <= b * (1 + (TOL_REL if tolerance else 0.0))


def median(v):
    v = sorted(x for x in v if x is not None)
    if not v:
        return None
    k = len(v)
    return v[k // 2] if k % 2 else (v[k // 2 - 1] + v[k // 2]) / 2


# --------------------------------------------------------------------------
# the results of one run

class Run:
    def __init__(self, d):
        self.dir = os.path.abspath(d)
        path = os.path.join(self.dir, "run.json")
        self.info = json.load(open(path)) if os.path.exists(path) else {}
        self.res = {}
        for name in SCRIPT:
            p = os.path.join(self.dir, name + ".json")
            if os.path.exists(p):
                self.res[name] = json.load(open(p))
        self.timings = {t["benchmark"]: t for t in self.info.get("benchmarks", [])}
        self.quick = bool((self.info.get("options") or {}).get("quick"))
        self.charts = []

    def get(self, name):
        return self.res.get(name)

    def results_path(self, name):
        p = os.path.join(self.dir, name + ".json")
        try:
            return os.path.relpath(p, REPO)
        except ValueError:
            return p

    def commit(self, name=None):
        m = (self.res[name]["measured"] if name in self.res else self.info.get("measured")) or {}
        return m.get("commit_short", "?")[:10]

    def caption(self, name):
        """The line printed beside every table: where and when it was measured."""
        m = self.res[name]["measured"]
        load = m.get("load_average_start")
        bits = ["Measured at commit `%s`%s on %s%s" % (
            m.get("commit_short", "?")[:10],
            " **with uncommitted changes**" if m.get("dirty_code") else "", m.get("date", "?"),
            " (load average %s)" % load[0] if load else "")]
        if m.get("automl_so_changed"):
            bits.append("**`automl.so` was reinstalled during the benchmark: rerun**")
        if self.quick:
            bits.append("**quick smoke run, not for publication**")
        return "<sub>%s; results `%s`.</sub>" % (", ".join(bits), self.results_path(name))

    def missing(self, name):
        t = self.timings.get(name)
        if t and t.get("exit"):
            return ("**Failed in this run** (exit status %d after %s s): see `%s`."
                    % (t["exit"], secs(t["seconds"]),
                       os.path.relpath(os.path.join(self.dir, name + ".log"), REPO)))
        return "*Not measured in this run* (`bench/run.sh %s`)." % ALIAS[name]

    def errors(self, name):
        errs = self.res[name].get("errors") or []
        t = self.timings.get(name)
        lines = []
        if t and t.get("exit"):
            lines.append("**The benchmark exited with status %d**: some figures below may be "
                         "missing; see `%s`." % (t["exit"], os.path.relpath(
                             os.path.join(self.dir, name + ".log"), REPO)))
        if errs:
            lines.append("**Errors:**\n\n" + "\n".join("- %s: %s" % (a, b) for a, b in errs))
        return "\n\n".join(lines)


# --------------------------------------------------------------------------
# charts

def pyplot():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    matplotlib.rcParams.update({"svg.hashsalt": "automl-bench", "svg.fonttype": "none",
                                "font.size": 9, "axes.titlesize": 9,
                                "axes.spines.top": False, "axes.spines.right": False})
    return plt


OURS, PEER, PEER2, PEER3, GREY = "#1f77b4", "#d62728", "#ff7f0e", "#2ca02c", "#7f7f7f"


def save(run, fig, name, title):
    os.makedirs(os.path.join(run.out_dir, "img"), exist_ok=True)
    path = os.path.join(run.out_dir, "img", name + ".svg")
    fig.savefig(path, format="svg", metadata={"Date": None}, bbox_inches="tight")
    fig.clf()
    run.charts.append(path)
    return "![%s](img/%s.svg)" % (title, name)


def chart_gbdt_speed(run, R, p):
    plt = pyplot()
    a1, a0 = R["automl"]["1"], R["automl"]["0"]
    x1, x2, h = R["xgb"]["1"], R["xgb"]["2"], R["hgb"]
    cores = p.get("cores")
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.0))
    labels = ["automl, 1 thread", "automl, %s threads" % cores, "XGBoost, 1 thread",
              "XGBoost, 2 threads", "HGB, %s threads" % h.get("threads")]
    vals = [a1["refit_s"], a0["refit_s"], x1["fit_s"], x2["fit_s"], h["fit_s"]]
    cols = [OURS, OURS, PEER, PEER, PEER2]
    ax = axes[0]
    ax.barh(labels[::-1], vals[::-1], color=cols[::-1])
    for i, v in enumerate(vals[::-1]):
        ax.text(v, i, " %s" % secs(v), va="center")
    ax.set_xlabel("seconds, lower is better")
    ax.set_title("One fit, the same settings")
    ax.set_xlim(0, max(vals) * 1.25)

    e = R["e2e"]
    ax = axes[1]
    ax.barh(["fetch + XGBoost fit"], [e["fetch_s"]], color=GREY, label="COPY to numpy")
    ax.barh(["fetch + XGBoost fit"], [e["fit_s"]], left=[e["fetch_s"]], color=PEER,
            label="XGBoost fit, 2 threads")
    ax.barh(["automl_train call"], [a0["train_s"]], color=OURS, label="whole call")
    for i, v in enumerate([a0["train_s"], e["fetch_s"] + e["fit_s"]][::-1]):
        ax.text(v, i, " %s" % secs(v), va="center")
    ax.set_xlim(0, max(a0["train_s"], e["fetch_s"] + e["fit_s"]) * 1.3)
    ax.set_xlabel("seconds, lower is better")
    ax.set_title("From the table to a model")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.28), ncol=3, fontsize=7,
              frameon=False)

    n = R["n_test"]
    sc = R["scoring"]
    slabels = ["automl, serial SQL", "automl, parallel SQL", "XGBoost, 1 thread",
               "XGBoost, 2 threads", "HGB"]
    svals = [n / (sc["serial"]["predict_ms"] / 1000) / 1000,
             n / (sc["parallel"]["predict_ms"] / 1000) / 1000,
             n / x1["predict_s"] / 1000, n / x2["predict_s"] / 1000, n / h["predict_s"] / 1000]
    ax = axes[2]
    ax.barh(slabels[::-1], svals[::-1], color=[OURS, OURS, PEER, PEER, PEER2][::-1])
    for i, v in enumerate(svals[::-1]):
        ax.text(v, i, " %s" % num(v, 3), va="center")
    ax.set_xlim(0, max(svals) * 1.25)
    ax.set_xlabel("thousand rows/s, higher is better")
    ax.set_title("Scoring the test rows")
    fig.suptitle("Boosted trees, %s training rows × %d features, commit %s"
                 % ("{:,}".format(R["n_train"]), p["features"], run.commit("gbdt_speed")),
                 y=1.04)
    fig.tight_layout()
    return save(run, fig, "gbdt_speed", "Fit time, whole call and scoring speed against XGBoost")


def chart_search(run, results, p):
    plt = pyplot()
    anchors = benchlib.anchors()["amlb"]
    data = [r for r in results if r.get("summary")]
    if not data:
        return ""
    ncol = min(5, len(data))
    nrow = (len(data) + ncol - 1) // ncol
    fig, axes = plt.subplots(nrow, ncol, figsize=(2.4 * ncol, 1.9 * nrow + 0.4), squeeze=False)
    systems = [("automl", "automl", OURS), ("search", "XGB search", PEER),
               ("xgb", "XGB default", PEER2), ("hgb", "HGB default", PEER3)]
    for k, r in enumerate(data):
        ax = axes[k // ncol][k % ncol]
        sm = r["summary"]
        for j, (key, label, col) in enumerate(systems):
            sp = sm.get(key)
            y = len(systems) - 1 - j
            if not sp:
                ax.text(0.5, y, "failed", transform=ax.get_yaxis_transform(), ha="center")
                continue
            ax.errorbar([sp["mean"]], [y], xerr=[[max(sp["mean"] - sp["min"], 0.0)], [max(sp["max"] - sp["mean"], 0.0)]],
                        fmt="o", color=col, capsize=3, ms=5)
        a = anchors.get(r["dataset"])
        rng = benchlib.anchor_range(a["best"]) if a else None
        if rng:
            if rng[0] == rng[1]:
                ax.axvline(rng[0], color=GREY, ls="--", lw=1)
            else:
                ax.axvspan(rng[0], rng[1], color=GREY, alpha=0.25, lw=0)
        ax.set_yticks(range(len(systems)))
        ax.set_yticklabels([s[1] for s in systems][::-1] if k % ncol == 0 else [])
        ax.set_ylim(-0.6, len(systems) - 0.4)
        ax.set_title("%s (%s)" % (r["dataset"], TASK_METRIC[r["task"]]))
        ax.tick_params(axis="x", labelsize=7)
        ax.locator_params(axis="x", nbins=4)
    for k in range(len(data), nrow * ncol):
        axes[k // ncol][k % ncol].axis("off")
    seeds = p.get("seeds") or []
    fig.suptitle("Test score per dataset at time_budget %g s: mean and range over %d seed%s; "
                 "dashed: AMLB best (anchor); commit %s"
                 % (p["budget"], len(seeds), "" if len(seeds) == 1 else "s",
                    run.commit("search_benchmark")), y=1.0)
    fig.tight_layout()
    return save(run, fig, "search_quality", "Test score per dataset: automl against its peers")


def chart_forecast(run, series, p):
    plt = pyplot()
    import matplotlib.dates as mdates
    data = [s for s in series if s.get("forecast_points")]
    if not data:
        return ""
    ncol = min(3, len(data))
    nrow = (len(data) + ncol - 1) // ncol
    fig, axes = plt.subplots(nrow, ncol, figsize=(3.8 * ncol, 2.4 * nrow + 0.4), squeeze=False)
    day = lambda s: datetime.date.fromisoformat(s[:10])   # noqa: E731
    for k, s in enumerate(data):
        ax = axes[k // ncol][k % ncol]
        fp = s["forecast_points"]
        origins = sorted({q["origin"] for q in fp})
        h = s["horizon"]
        start = max(0, origins[0] - 2 * h)
        hist = s["history"][start:]
        ax.plot([day(q["period"]) for q in hist], [q["value"] for q in hist], color="black",
                lw=1, label="actual")
        for i, o in enumerate(origins):
            pts = sorted((q for q in fp if q["origin"] == o), key=lambda q: q["period"])
            d = [day(q["period"]) for q in pts]
            if all(q["lower95"] is not None for q in pts):
                ax.fill_between(d, [q["lower95"] for q in pts], [q["upper95"] for q in pts],
                                color=OURS, alpha=0.15, lw=0, label="95 % interval" if i == 0 else None)
            if all(q["lower80"] is not None for q in pts):
                ax.fill_between(d, [q["lower80"] for q in pts], [q["upper80"] for q in pts],
                                color=OURS, alpha=0.3, lw=0, label="80 % interval" if i == 0 else None)
            ax.plot(d, [q["forecast"] for q in pts], color=OURS, lw=1.2,
                    label="automl_forecast" if i == 0 else None)
            peer = sorted((q for q in s.get("peer_points", []) if q["origin"] == o
                           and q["method"] == "statsmodels_es"), key=lambda q: q["step"])
            if peer:
                ax.plot([day(q["period"]) for q in peer], [q["forecast"] for q in peer],
                        color=PEER, lw=1, ls="--", label="statsmodels ES" if i == 0 else None)
            ax.axvline(d[0], color=GREY, lw=0.6, ls=":")
        oos = s["out_of_sample"]
        es = (s["peer"].get("statsmodels_es") or {}).get("mase")
        ax.set_title("%s\nMASE %s (statsmodels ES %s), 95 %% interval covers %s"
                     % (s["series"], mase(oos["mase"]), mase(es),
                        pct(oos["covered95"] / oos["points"]) if oos["points"] else "–"),
                     fontsize=8)
        ax.xaxis.set_major_locator(mdates.AutoDateLocator(maxticks=5))
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(ax.xaxis.get_major_locator()))
        ax.tick_params(labelsize=7)
        if k == 0:
            ax.legend(fontsize=6, frameon=False, loc="upper left")
    for k in range(len(data), nrow * ncol):
        axes[k // ncol][k % ncol].axis("off")
    fig.suptitle("Out-of-sample forecasts at each backtest origin (automl trained on the history "
                 "before it), with intervals; commit %s" % run.commit("forecast"), y=1.0)
    fig.tight_layout()
    return save(run, fig, "forecast", "Out-of-sample forecasts with their intervals")


# --------------------------------------------------------------------------
# sections

def sec_compare_sklearn(run):
    d = run.get("compare_sklearn")
    if not d:
        return run.missing("compare_sklearn")
    R, p = d["results"], d["params"]
    cap = run.caption("compare_sklearn")
    rows1, rows2, rows3, rows4 = [], [], [], []
    for r in R:
        rows1.append([r["dataset"], r["task"], num(r["n"]), r["p"],
                      num(max(r["d_mean"], r["d_scale"]), 2), num(r["d_coef"], 3),
                      num(r["d_int"], 3), num(r["d_pred"], 3), num(r["d_serve"], 2)])
        rows2.append([r["dataset"], "%s / %s" % (num(r["f_ours"] - r["f_opt"], 2),
                                                 num(r["f_sk"] - r["f_opt"], 2)),
                      "%s / %s" % (num(r["g_ours"], 2), num(r["g_sk"], 2)),
                      "%s / %s" % (num(r["o_coef"], 2), num(r["sk_o_coef"], 2)),
                      num(r["rel_worst"], 2), "yes" if r["ok"] else "**no**"])
        for k in r["m_sk"]:
            a, b = r["m_ours"][k], r["m_sk"][k]
            rows3.append([r["dataset"], k.replace("_", " "), "%.6f" % a, "%.6f" % b,
                          num(abs(a - b), 2)])
        rows4.append([r["dataset"], json.dumps(r["hyperparams"], sort_keys=True),
                      secs(r["automl_train_seconds"]), secs(r["sklearn_seconds"])])
    ok = sum(r["ok"] for r in R)
    closer = sum((r["f_ours"] - r["f_opt"]) <= (r["f_sk"] - r["f_opt"]) for r in R)
    worst_pred = max((r["d_pred"] for r in R), default=None)
    out = [
        "Datasets: %s. Reference: %s. Tolerance: automl's largest difference from the exact "
        "optimum, relative to max(1, size of the reference values), at most %s."
        % (", ".join("%s (%s rows × %d, %s)" % (r["dataset"], num(r["n"]), r["p"], r["task"])
                     for r in R), p["reference"], num(p["tol"], 2)),
        "",
        "**Results.** automl is within the tolerance of the exact optimum on %d of %d datasets, "
        "and at least as close to it as scikit-learn's lbfgs (excess objective) on %d of %d. "
        "Its predictions differ from scikit-learn's by at most %s."
        % (ok, len(R), closer, len(R), num(worst_pred, 2)),
        "", run.errors("compare_sklearn"), "",
        cap, "",
        "Differences from scikit-learn, largest absolute:", "",
        md_table(["dataset", "task", "rows", "features", "Δ mean, scale", "Δ coef",
                  "Δ intercept", "Δ pred", "pred vs own summary"], rows1, right=(2, 3)),
        "", cap, "",
        "Distance to the exact optimum, automl / scikit-learn:", "",
        md_table(["dataset", "excess objective", "largest gradient component",
                  "Δ coef (largest)", "automl, relative", "within tolerance"], rows2),
        "", cap, "",
        "Training-set metrics:", "",
        md_table(["dataset", "metric", "automl", "scikit-learn", "difference"], rows3),
        "", cap, "",
        "Fit time, seconds (automl: `train_seconds` of the catalog, the whole call; "
        "scikit-learn: one fit):", "",
        md_table(["dataset", "automl hyperparams (catalog)", "automl `train_seconds`",
                  "scikit-learn fit"], rows4, right=(2, 3)),
    ]
    return "\n".join(x for x in out if x is not None)


def sec_scoring_speed(run):
    d = run.get("scoring_speed")
    if not d:
        return run.missing("scoring_speed")
    R, p = d["results"], d["params"]
    n = p["rows"]
    rows = []
    for key, label in (("serial", "serial (`max_parallel_workers_per_gather = 0`)"),
                       ("parallel", "parallel (server default, %s workers planned)"
                        % R["parallel"]["workers"])):
        s = R[key]
        extra = (s["predict_ms"] - s["baseline_ms"]) * 1e6 / n
        rows.append([label, num(s["baseline_ms"], 4), num(s["predict_ms"], 4),
                     num(extra, 3) + (" (wall)" if key == "parallel" else ""),
                     num(n / (s["predict_ms"] / 1000) / 1e6, 3)])
    s = R["serial"]
    extra = (s["predict_ms"] - s["baseline_ms"]) * 1e6 / n
    out = [
        "Rows: %s; best of %d runs after a warm-up; model `%s` (%s), trained in %s s."
        % (num(n), p["runs"], R["model"], R["algorithm"], secs((R["train_ms"] or 0) / 1000)),
        "",
        "**Results.** Scoring a row with a %d-feature linear model adds %s ns on one core "
        "(serially), including matching the row's columns to the model's features by name."
        % (p["features"], num(extra, 3)),
        "", run.errors("scoring_speed"), "", run.caption("scoring_speed"), "",
        md_table(["setting", "baseline ms", "predict ms", "extra ns per row",
                  "million rows per second scored"], rows, right=(1, 2, 3, 4)),
    ]
    return "\n".join(out)


def sec_scale_out(run):
    d = run.get("scale_out")
    if not d:
        return run.missing("scale_out")
    R, p = d["results"], d["params"]
    T = R["scoring_ms"]
    big, small = p["rows"], p["small_rows"]
    rows = []
    for key, label, nodes, n in (
            ("one_serial_small", "one node, serial", 1, small),
            ("one_parallel_small", "one node, %d parallel workers" % p["parallel_workers"], 1, small),
            ("cl2_small", "Citus, two workers", 2, small),
            ("one_serial_big", "one node, serial", 1, big),
            ("one_parallel_big", "one node, %d parallel workers" % p["parallel_workers"], 1, big),
            ("cl1_big", "Citus, one worker", 1, big),
            ("cl2_big", "Citus, two workers", 2, big)):
        pred, base = T[key + "_pred"], T[key + "_base"]
        rate = n / (pred / 1000) / 1e6
        rows.append([label, str(nodes), num(n), num(base, 4), num(pred, 4), num(rate, 3),
                     num(rate / nodes, 3)])
    t = R["train_s"]
    train = [[num(small), secs(t["one_small"]), secs(t["citus_small"]),
              ratio(t["citus_small"] / t["one_small"])],
             [num(big), secs(t["one_big"]), secs(t["citus_big"]),
              ratio(t["citus_big"] / t["one_big"])]]
    two, one_w = T["cl2_big_pred"], T["cl1_big_pred"]
    out = [
        "Rows: %s and %s, ten float8 features; a linear model; best of %d runs after a warm-up; "
        "%d shards per table; PostgreSQL %s, Citus %s; every node shares this machine's %d "
        "cores." % (num(small), num(big), p["runs"], p["shards"], p["postgresql"].split()[0],
                    p["citus"], p["nproc"]),
        "",
        "**Results.** Scoring %s rows over two workers took %s of the time over one "
        "(%s× the throughput); the cluster's sum of predictions equals one node's, each "
        "with its own model: %s. Training on one node kept every row in memory "
        "(`automl.train_memory` %s MB; rows used: %s); the cluster searched on a sample "
        "read through the coordinator (%s MB) and refitted the ridge model on every row "
        "from the workers' sums (%s): %s× one node's time at %s rows."
        % (num(big), pct(two / one_w), num(one_w / two, 3), R["same_predictions"],
           num(p.get("one_train_memory_mb")), R.get("one_node_rows", "?"),
           num(p.get("cluster_train_memory_mb")), R.get("cluster_refit_rows", "?"),
           num(t["citus_big"] / t["one_big"], 3), num(big)),
        "", run.errors("scale_out"), "", run.caption("scale_out"), "",
        md_table(["where", "nodes scoring", "rows", "baseline ms", "predict ms",
                  "million rows per second", "per scoring node"], rows,
                 right=(1, 2, 3, 4, 5, 6)),
        "",
        md_table(["rows", "automl_train, one node", "automl_train, Citus", "Citus / one node"],
                 train, right=(0, 1, 2, 3)),
    ]
    return "\n".join(out)


def sec_compare_categorical(run):
    d = run.get("compare_categorical")
    if not d:
        return run.missing("compare_categorical")
    R, p = d["results"], d["params"]
    rows, diffs = [], []
    for r in R:
        a, s = r["automl"], r["sklearn"]
        auc = a.get("auc")
        if auc is not None:
            diffs.append(auc - s["auc"])
        note = ""
        if a.get("error"):
            note = " (failed: %s)" % a["error"]
        elif a.get("skipped"):
            note = " (%d columns left out)" % len(a["skipped"])
        rows.append([r["dataset"], "%s / %s" % (num(r["n_train"]), num(r["n_test"])),
                     "%d numeric, %d text" % (r["n_num"], r["n_cat"]),
                     ("%.4f" % auc if auc is not None else "FAILED") + note, "%.4f" % s["auc"],
                     signed(auc - s["auc"], lambda x: num(x, 2)) if auc is not None else "–",
                     secs(a.get("train_seconds")), secs(s["seconds"]),
                     (a.get("calibration") or {}).get("method", "–")
                     if isinstance(a.get("calibration"), dict) else "–", r["amlb"]])
    worst = max((abs(x) for x in diffs), default=None)
    out = [
        "Split: %s; seed %d for the others." % ("adult on its own files" if "adult" in
                                                p["datasets"] else "–", p["seed"]),
        "",
        "**Results.** On %d of %d datasets automl's test ROC AUC is within %s of "
        "scikit-learn's (the largest difference in the table)."
        % (len(diffs), len(R), num(worst, 2)) if diffs else "**Results.** No dataset finished.",
        "", run.errors("compare_categorical"), "", run.caption("compare_categorical"), "",
        md_table(["dataset", "rows train / test", "columns", "automl test AUC",
                  "scikit-learn test AUC", "difference", "automl `train_seconds`",
                  "scikit-learn fit s", "automl calibration", "AMLB best (anchor)"], rows,
                 right=(6, 7)),
    ]
    return "\n".join(out)


def bagging_counts(R):
    """(runs where the bagged model scored better, runs compared), over the finished runs."""
    done = [r for r in R if "failed" not in r]
    better = sum((r["on"]["score"] > r["off"]["score"]) if HIGHER[r["task"]]
                 else (r["on"]["score"] < r["off"]["score"]) for r in done)
    return better, len(done)


def sec_bagging(run):
    d = run.get("bagging")
    if not d:
        return run.missing("bagging")
    R, p = d["results"], d["params"]
    better, n = bagging_counts(R)
    rows = []
    for name in p["datasets"]:
        rs = [r for r in R if r["dataset"] == name and "failed" not in r]
        if not rs:
            rows.append([name, "–", "failed", "", "", "", ""])
            continue
        task = rs[0]["task"]
        off = [r["off"]["score"] for r in rs]
        on = [r["on"]["score"] for r in rs]
        wins = sum((a > b) if HIGHER[task] else (a < b) for a, b in zip(on, off))
        rows.append([name, TASK_METRIC[task], num(sum(off) / len(off)), num(sum(on) / len(on)),
                     "%d of %d" % (wins, len(rs)),
                     num(sum(r["off"]["refit_seconds"] for r in rs) / len(rs), 2),
                     num(sum(r["on"]["refit_seconds"] for r in rs) / len(rs), 2)])
    out = [
        "`max_trials` %d, no time budget; seeds %s; split seed %d."
        % (p["max_trials"], ", ".join(str(s) for s in p["seeds"]), p["split_seed"]),
        "",
        "**Results.** The bagged model's test score was better than the refitted one's in %d of %d "
        "runs (dataset × seed)." % (better, n),
        "", run.errors("bagging"), "", run.caption("bagging"), "",
        md_table(["dataset", "metric", "refitted (default), mean", "bagged, mean", "bagged better",
                  "refit s, mean", "bagged: `refit_seconds`, mean"], rows, right=(2, 3, 5, 6)),
    ]
    return "\n".join(out)


def gbdt_speed_figures(R):
    """The issue-18 ratios from one gbdt_speed result (None where a part is missing)."""
    try:
        a1, a0 = R["automl"]["1"], R["automl"]["0"]
        x1, x2 = R["xgb"]["1"], R["xgb"]["2"]
        e = R["e2e"]
        n_tr, feats = R["n_train"], 28
        float8_mb = n_tr * feats * 8 / 1048576
        sc = R["scoring"]["serial"]
        return {
            "fit_vs_xgb_2": a0["refit_s"] / x2["fit_s"],
            "fit_vs_xgb_1": a1["refit_s"] / x1["fit_s"],
            "speedup_automl": a1["refit_s"] / a0["refit_s"],
            "speedup_xgb": x1["fit_s"] / x2["fit_s"],
            "call_vs_fetch_fit": a0["train_s"] / (e["fetch_s"] + e["fit_s"]),
            "call_vs_fit": a0["train_s"] / x2["fit_s"],
            "hwm_vs_float8": a0["after"]["VmHWM"] / float8_mb,
            "anon_vs_float8": a0["peak"]["RssAnon"] / float8_mb,
            "scoring_vs_xgb_1": (R["n_test"] / (sc["predict_ms"] / 1000)) / (R["n_test"] / x1["predict_s"]),
            "auc_diff": a0["test_auc"] - x2["test_auc"],
        }
    except (KeyError, TypeError, ZeroDivisionError):
        return {}


def sec_gbdt_speed(run):
    d = run.get("gbdt_speed")
    if not d:
        return run.missing("gbdt_speed")
    R, p = d["results"], d["params"]
    cap = run.caption("gbdt_speed")
    a1, a0 = R["automl"]["1"], R["automl"]["0"]
    x1, x2, h = R["xgb"]["1"], R["xgb"]["2"], R["hgb"]
    cores = p["cores"]
    F = gbdt_speed_figures(R)
    fit_rows = [
        ["automl gbdt, `automl.threads = 1` (`refit_seconds`)", 1, secs(a1["refit_s"]),
         "%.4f" % a1["test_auc"], "–"],
        ["automl gbdt, default `automl.threads` (one per core)", cores, secs(a0["refit_s"]),
         "%.4f" % a0["test_auc"], "–"],
        ["XGBoost hist, `n_jobs=1`", 1, secs(x1["fit_s"]), "%.4f" % x1["test_auc"],
         "%s / %s" % (ratio(a1["refit_s"] / x1["fit_s"]), ratio(a0["refit_s"] / x1["fit_s"]))],
        ["XGBoost hist, `n_jobs=2`", 2, secs(x2["fit_s"]), "%.4f" % x2["test_auc"],
         "%s / %s" % (ratio(a1["refit_s"] / x2["fit_s"]), ratio(a0["refit_s"] / x2["fit_s"]))],
        ["scikit-learn HistGradientBoosting", h.get("threads"), secs(h["fit_s"]),
         "%.4f" % h["test_auc"],
         "%s / %s" % (ratio(a1["refit_s"] / h["fit_s"]), ratio(a0["refit_s"] / h["fit_s"]))],
    ]
    ratios = [
        ["one fit, automl / XGBoost, both on 2 threads", ratio(F.get("fit_vs_xgb_2"))],
        ["one fit, automl / XGBoost, both on 1 thread", ratio(F.get("fit_vs_xgb_1"))],
        ["second thread's speed-up of a fit: automl / XGBoost",
         "%s / %s" % (ratio(F.get("speedup_automl")), ratio(F.get("speedup_xgb")))],
        ["whole `automl_train` call / (COPY to numpy + XGBoost fit)", ratio(F.get("call_vs_fetch_fit"))],
        ["whole `automl_train` call / XGBoost fit alone", ratio(F.get("call_vs_fit"))],
        ["peak resident memory of the training backend (`VmHWM`) / float8 size of the training rows",
         ratio(F.get("hwm_vs_float8"))],
        ["peak private memory (`RssAnon`) / float8 size of the training rows",
         ratio(F.get("anon_vs_float8"))],
        ["rows per second scored: serial SQL / XGBoost `predict_proba` on 1 thread",
         ratio(F.get("scoring_vs_xgb_1"))],
        ["test ROC AUC, automl − XGBoost (2 threads)",
         signed(F.get("auc_diff"), lambda x: "%.4f" % x)],
    ]
    one = R["one_round"]
    val = (a0["catalog"].get("options") or {})
    how = ("%s-fold cross-validation" % val.get("folds") if val.get("validation") == "cross_validation"
           else "a holdout of %s of the rows" % pct(val.get("validation_fraction"))
           if val.get("validation") == "holdout" else "its validation")
    part_rows = [
        ["whole call (`train_seconds`)", secs(a0["train_s"])],
        ["  of which the refit on all rows (`refit_seconds`)", secs(a0["refit_s"])],
        ["  of which the search's fits (`options.search_seconds`)",
         secs(val.get("search_seconds"))],
        ["  the rest: scan, binning, checks, predictions, permutation importance (on the validated model), calibration, catalog",
         secs(a0["train_s"] - a0["refit_s"] - (val.get("search_seconds") or 0))],
        ["the same call with one round (`train_seconds`)", secs(one["train_s"])],
        ["  of which the one-round refit (mostly binning)", secs(one["refit_s"])],
    ]
    e = R["e2e"]
    e2e_rows = [
        ["`automl_train`, the whole call (default threads)", secs(a0["train_s"])],
        ["COPY the training table to the client, parsed by numpy", secs(e["fetch_s"])],
        ["XGBoost fit, 2 threads, on the fetched rows", secs(e["fit_s"])],
        ["fetch + fit", secs(e["fetch_s"] + e["fit_s"])],
    ]
    n = R["n_test"]
    sc = R["scoring"]
    score_rows = []
    for k, label in (("serial", "`automl_predict`, serial"),
                     ("parallel", "`automl_predict`, default settings (%d workers planned)"
                      % sc["parallel"]["workers"])):
        s = sc[k]
        score_rows.append([label, num(s["predict_ms"], 4), num(n / (s["predict_ms"] / 1000), 3),
                           num((s["predict_ms"] - s["baseline_ms"]) * 1e3 / n, 3)
                           + (" (wall)" if k == "parallel" else "")])
    for nj in ("1", "2"):
        s = R["xgb"][nj]["predict_s"]
        score_rows.append(["XGBoost `predict_proba`, `n_jobs=%s`" % nj, num(s * 1000, 4),
                           num(n / s, 3), "–"])
    score_rows.append(["HistGradientBoosting `predict_proba`", num(h["predict_s"] * 1000, 4),
                       num(n / h["predict_s"], 3), "–"])
    float8 = R["n_train"] * p["features"] * 8 / 1e6
    mem_rows = [
        ["`VmHWM` after the call (peak resident set; includes shared buffers the scan touched)",
         num(a0["after"]["VmHWM"] * 1.048576, 3)],
        ["peak `RssAnon` (private memory, sampled every 20 ms)", num(a0["peak"]["RssAnon"] * 1.048576, 3)],
        ["peak `RssShmem` (shared buffers touched)", num(a0["peak"]["RssShmem"] * 1.048576, 3)],
        ["training rows as float8", num(float8, 3)],
        ["training rows binned, one byte per value", num(float8 / 8, 3)],
    ]
    chart = chart_gbdt_speed(run, R, p)
    # fits during which the rest of the machine took a noticeable share of the CPU
    fits = [("automl, 1 thread", r["refit_s"], r["after"].get("other_cpu_s"), r["train_s"])
            for r in a1.get("runs", [a1])]
    fits += [("automl, default threads", r["refit_s"], r["after"].get("other_cpu_s"), r["train_s"])
             for r in a0.get("runs", [a0])]
    fits += [("XGBoost on %s thread%s" % (nj, "" if nj == "1" else "s"), w, o, w) for nj in ("1", "2")
             for w, o in R["xgb"][nj].get("runs", [])]
    fits += [("HGB", w, o, w) for w, o in h.get("runs", [])]
    disturbed = {}
    for lab, _, o, span in fits:
        if o is not None and span and o / span > 0.25:
            disturbed[lab] = max(disturbed.get(lab, 0.0), o / span)
    warn = ""
    if disturbed:
        warn = ("**The machine was busy during some fits**: the rest of the machine used more "
                "than a quarter of a core on average (CPU seconds of other processes per second, "
                "the largest) during: %s. Treat these figures as disturbed and rerun on an idle "
                "machine." % "; ".join("%s (%s)" % (k, num(v, 2)) for k, v in disturbed.items()))
    auc_gap = abs(a0["test_auc"] - x2["test_auc"])
    out = [
        "Data: %s training and %s test rows × %d features; the true probabilities reach a test "
        "ROC AUC of %.4f (the ceiling). Settings: automl `hyperparams => '%s'`; XGBoost `%s`; "
        "scikit-learn `%s`. Fastest of %d fit(s) per learner. Server: `shared_buffers` %s. "
        "Calibration the call chose (`calibration` default `auto`): %s."
        % (num(R["n_train"]), num(R["n_test"]), p["features"], R["bayes_auc"],
           json.dumps(p["hyperparams"]), ", ".join("%s=%r" % kv for kv in p["xgb_params"].items()),
           ", ".join("%s=%r" % kv for kv in p["hgb_params"].items()), p["fit_runs"],
           (R.get("settings") or {}).get("shared_buffers", "?"),
           a0["catalog"].get("calibration") or "?"),
        "",
        chart, "",
        "**Results.** One automl fit takes %s XGBoost's time on 2 threads and %s on 1 "
        "thread; its second thread speeds a fit up %s (XGBoost's: %s). The whole call takes %s "
        "the time of exporting the table and fitting XGBoost. The test ROC AUCs differ by %.4f. "
        "Serially, automl scores %s as many rows per second as XGBoost's in-memory predict on "
        "one thread."
        % (ratio(F.get("fit_vs_xgb_2")), ratio(F.get("fit_vs_xgb_1")),
           ratio(F.get("speedup_automl")), ratio(F.get("speedup_xgb")),
           ratio(F.get("call_vs_fetch_fit")), auc_gap, ratio(F.get("scoring_vs_xgb_1"))),
        "", warn, "", run.errors("gbdt_speed"), "", cap, "",
        "Ratios, automl to the peer (for times and memory below 1× favours automl; for "
        "speed-ups and rows per second, above 1× does):", "",
        md_table(["figure", "value"], ratios, right=(1,)),
        "", cap, "",
        "Fit time and test ROC AUC; the last column is automl's refit time (1 thread / default "
        "threads) divided by this learner's:", "",
        md_table(["learner", "threads", "fit s", "test ROC AUC", "automl ÷ this"], fit_rows,
                 right=(1, 2)),
        "", cap, "",
        "Where the whole call goes (default threads; automl validated with %s):" % how, "",
        md_table(["part", "seconds"], part_rows, right=(1,)),
        "", cap, "",
        "End to end:", "",
        md_table(["step", "seconds"], e2e_rows, right=(1,)),
        "", cap, "",
        "Scoring the %s test rows (SQL: best of %d after a warm-up; the extra per row is over "
        "`sum(f01+…+f28)` of the same rows):" % (num(n), p["runs"]), "",
        md_table(["scorer", "ms", "rows per second", "extra µs per row"], score_rows,
                 right=(1, 2, 3)),
        "", cap, "",
        "Memory of the training backend (default threads), MB (10⁶ bytes):", "",
        md_table(["what", "MB"], mem_rows, right=(1,)),
    ]
    return "\n".join(out)


def sec_gbdt_accuracy(run):
    d = run.get("gbdt_accuracy")
    if not d:
        return run.missing("gbdt_accuracy")
    R, p = d["results"], d["params"]
    rows, ok, hp = [], 0, None
    counted = 0
    for r in R:
        task = r["task"]
        if r.get("peers_failed"):
            rows.append([r["dataset"], "–", TASK_METRIC[task], "FAILED", "–", "–", "–", r["amlb"],
                         "–"])
            continue
        a = (r.get("automl") or {}).get("metric")
        x, h = r["xgb"]["metric"], r["hgb"]["metric"]
        best_peer = max(x, h) if HIGHER[task] else min(x, h)
        verdict = at_or_above(task, a, best_peer, tolerance=True)
        if a is not None:
            counted += 1
            ok += bool(verdict)
        info = r.get("automl_info") or {}
        hp = hp or (info.get("catalog") or {}).get("hyperparams")
        rows.append([r["dataset"], "%s / %s" % (num(r["n_train"]), num(r["n_test"])),
                     TASK_METRIC[task], score(a, task) if a is not None else "FAILED",
                     (info.get("catalog") or {}).get("calibration") or "–",
                     score(x, task), score(h, task), r["amlb"],
                     "yes" if verdict else ("**no**" if verdict is not None else "–")])
    out = [
        "Split seed %d; XGBoost on %d threads. automl's default hyper-parameters, from the "
        "catalog: `%s`." % (p["seed"], p["threads"], json.dumps(hp, sort_keys=True)),
        "",
        "**Results.** automl's default gbdt is at or above the better of the two peers on %d of "
        "%d datasets, with a tolerance of %s AUC or %s of a loss (the last column)."
        % (ok, counted, num(TOL_AUC, 2), pct(TOL_REL)),
        "", run.errors("gbdt_accuracy"), "", run.caption("gbdt_accuracy"), "",
        md_table(["dataset", "rows train / test", "metric", "automl", "automl calibration",
                  "XGBoost", "HGB", "AMLB best (anchor)", "automl ≥ better peer (tolerance)"],
                 rows),
    ]
    return "\n".join(out)


def search_figures(results):
    """Counts over datasets: automl's mean at or above the search's, and every seed."""
    n = above = every = 0
    worst_budget = None
    for r in results:
        sm = r.get("summary") or {}
        a, s = sm.get("automl"), sm.get("search")
        if a and s:
            n += 1
            above += bool(at_or_above(r["task"], a["mean"], s["mean"]))
            every += sm.get("seeds_at_or_above_search") == sm.get("seeds_paired") > 0
        for run in r.get("runs", []):
            au = run.get("automl")
            if au and au.get("budget"):
                q = au["wall_s"] / au["budget"]
                worst_budget = q if worst_budget is None else max(worst_budget, q)
    return {"datasets": n, "above": above, "every_seed": every, "worst_budget": worst_budget}


def sec_search(run):
    d = run.get("search_benchmark")
    if not d:
        return run.missing("search_benchmark")
    R, p = d["results"], d["params"]
    cap = run.caption("search_benchmark")
    seeds = p["seeds"]
    rows, trows = [], []
    for r in R:
        sm = r.get("summary")
        if not sm:
            rows.append([r["dataset"], TASK_METRIC[r["task"]], "FAILED"] + ["–"] * 6)
            continue
        a, s = sm.get("automl"), sm.get("search")
        v = at_or_above(r["task"], a["mean"] if a else None, s["mean"] if s else None)
        rows.append([r["dataset"], TASK_METRIC[r["task"]], mean_range(a, r["task"]),
                     mean_range(s, r["task"]), mean_range(sm.get("xgb"), r["task"]),
                     mean_range(sm.get("hgb"), r["task"]), r["amlb"]["best"],
                     ("yes" if v else "**no**") if v is not None else "–",
                     "%d of %d" % (sm["seeds_at_or_above_search"], sm["seeds_paired"])])
        algos = sorted({run["automl"]["algorithm"] for run in r["runs"] if run.get("automl")})
        trows.append([r["dataset"], "%s / %s" % (num(r["n_train"]), num(r["n_test"])),
                      secs(sm["automl_wall_s"]["max"]) if sm.get("automl_wall_s") else "–",
                      num(sm["automl_trials"]["mean"], 3) if sm.get("automl_trials") else "–",
                      num(sm["automl_trials_ok"]["mean"], 3) if sm.get("automl_trials_ok") else "–",
                      ", ".join(algos) or "–",
                      num(sm["search_configs"]["mean"], 3) if sm.get("search_configs") else "–"])
    F = search_figures(R)
    chart = chart_search(run, R, p)
    out = [
        "Budget %g s; seeds %s; split seed %d; XGBoost on %d threads%s."
        % (p["budget"], ", ".join(str(x) for x in seeds), p["split_seed"], p["threads"],
           "; automl also given `%s`" % p["automl_extra"] if p.get("automl_extra") else ""),
        "", chart, "",
        "**Results.** automl's mean test score is at or above the same-budget XGBoost random "
        "search's on %d of %d datasets, and on every seed on %d. The longest call took %s of "
        "its budget." % (F["above"], F["datasets"], F["every_seed"], ratio(F["worst_budget"])),
        "", run.errors("search_benchmark"), "", cap, "",
        md_table(["dataset", "metric", "automl", "XGB random search", "XGB default",
                  "HGB default", "AMLB best (anchor)", "automl ≥ search (means)",
                  "seeds automl ≥ search"], rows),
        "", cap, "",
        "Time and trials (automl: wall time of the call, the longest over the seeds; trials "
        "from `automl.trials`, mean over the seeds, all and those that finished with status "
        "`ok`; the search: configurations tried, mean):", "",
        md_table(["dataset", "rows train / test", "automl s (longest)", "trials", "trials ok",
                  "chosen algorithm(s)", "XGB search configurations"], trows,
                 right=(2, 3, 4, 6)),
    ]
    curve = [(r, c) for r in R for c in r.get("curve", [])]
    if curve:
        crow = []
        for r, c in curve:
            sm = c["summary"]
            a, s = sm.get("automl"), sm.get("search")
            v = at_or_above(r["task"], a["mean"] if a else None, s["mean"] if s else None)
            crow.append([r["dataset"], "%g%s" % (c["budget"], " (main run)" if c["reused"] else ""),
                         mean_range(a, r["task"]),
                         secs(sm["automl_wall_s"]["max"]) if sm.get("automl_wall_s") else "–",
                         mean_range(s, r["task"]),
                         ("yes" if v else "**no**") if v is not None else "–",
                         "%d of %d" % (sm["seeds_at_or_above_search"], sm["seeds_paired"])])
        out += ["", cap, "", "Score against the budget (every seed at every budget):", "",
                md_table(["dataset", "budget s", "automl", "automl s (longest)",
                          "XGB random search", "automl ≥ search (means)",
                          "seeds automl ≥ search"], crow)]
    return "\n".join(out)


def logging_figures(R):
    sc = [s for s in R["scoring"] if s["setting"] == "serial" and s["extra_ns_per_row"]]
    wr = [i for i in R["ingestion"] if i["by"] == "writer"]
    return {
        "worst_extra_ns": max((s["extra_ns_per_row"]["median"] for s in sc), default=None),
        "writer_cpu_us": [i["cpu_us_per_row"] for i in wr if i["cpu_us_per_row"] is not None],
        "writer_rows_s": [i["rows_per_s"] for i in wr],
    }


def sec_logging(run):
    d = run.get("logging_cost")
    if not d:
        return run.missing("logging_cost")
    R, p = d["results"], d["params"]
    cap = run.caption("logging_cost")
    shape = lambda m: "10 float8" if "_num_" in m else "8 float8 + 3 text"   # noqa: E731
    ingest = {}
    for i in R["ingestion"]:
        ingest.setdefault(shape(i["model"]), {})[i["by"]] = i
    rows = []
    for s in R["scoring"]:
        if s["setting"] != "serial" or not s["extra_ns_per_row"]:
            continue
        e, e01 = s["extra_ns_per_row"], s["extra_ns_per_row_01"]
        cpu = s.get("extra_cpu_ns_per_row")
        w = ingest.get(shape(s["model"]), {}).get("writer")
        wcpu = w["cpu_us_per_row"] if w else None
        total = ((cpu["median"] / 1000 if cpu else 0) + wcpu) if wcpu is not None and cpu else None
        rows.append([s["model"], num(s["unlogged_ms"]["median"], 4),
                     "%s (%s … %s)" % (num(e["median"], 3), num(e["min"], 3), num(e["max"], 3)),
                     pct(s["logged_ms"]["median"] / s["unlogged_ms"]["median"] - 1),
                     num(e01["median"], 3) if e01 else "–",
                     num(cpu["median"], 3) if cpu else "–",
                     num(wcpu, 3) if wcpu is not None else "–",
                     num(total, 3) if total is not None else "–",
                     num(s["spool_bytes_per_row"]["median"], 3) if s["spool_bytes_per_row"] else "–"])
    prow = []
    for s in R["scoring"]:
        if s["setting"] != "parallel" or not s["extra_ns_per_row"]:
            continue
        e = s["extra_ns_per_row"]
        w = s.get("workers") or {}
        prow.append([s["model"], "%s planned, %s launched" % (w.get("planned", 0), w.get("launched", 0)),
                     num(s["unlogged_ms"]["median"], 4),
                     "%s (%s … %s)" % (num(e["median"], 3), num(e["min"], 3), num(e["max"], 3))])
    irows = []
    for i in R["ingestion"]:
        irows.append([shape(i["model"]), "background writer" if i["by"] == "writer"
                      else "`automl_flush_predictions()`", num(i["rows"]), num(i["rows_per_s"], 3),
                      num(i["cpu_us_per_row"], 3), num(i["peak_rss_mb"], 3),
                      num(i["table_bytes_per_row"], 3)])
    F = logging_figures(R)
    wc, wr = F["writer_cpu_us"], F["writer_rows_s"]
    summary = ("**Results.** At sample rate one the scoring query pays at most %s ns per logged "
               "row (the largest median of the serial runs)" % num(F["worst_extra_ns"], 3))
    if wc:
        summary += ("; ingesting a logged row then costs the background writer %s–%s µs of CPU, "
                    "and one writer moves %s–%s rows per second"
                    % (num(min(wc), 3), num(max(wc), 3), num(min(wr), 3), num(max(wr), 3)))
    summary += "."
    out = [
        "Rows: %s per table; models trained on the first %s; %d repetitions per setting (gbdt: "
        "%d). Rows ingested while the scoring runs held the lock: %s (must be zero)."
        % (num(p["rows"]), num(p["train_rows"]), p["runs"], p["runs_gbdt"],
           num(p.get("ingested_while_scoring"))),
        "", summary, "", run.errors("logging_cost"), "", cap, "",
        "Per logged row, serial (`max_parallel_workers_per_gather = 0`), sample rate one unless "
        "stated: the query's extra wall time (median over the repetitions, smallest … largest), "
        "the scoring backend's extra CPU, and beside them the background writer's CPU to ingest "
        "a row of the same table shape:", "",
        md_table(["model", "unlogged ms", "extra ns/row", "extra", "extra ns/row at a tenth",
                  "scoring CPU ns/row", "writer CPU µs/row", "CPU µs per logged row, both sides",
                  "spool bytes/row"], rows, right=(1, 4, 5, 6, 7, 8)),
    ]
    if prow:
        out += ["", cap, "", "With parallel workers (wall time of the whole query; every worker "
                "writes its own spool file):", "",
                md_table(["model", "workers", "unlogged ms", "extra ns/row"], prow, right=(2,))]
    if irows:
        out += ["", cap, "", "Ingestion into `automl.predictions`:", "",
                md_table(["table shape", "ingested by", "rows", "rows/s", "CPU µs/row",
                          "peak RSS MB", "table bytes/row"], irows, right=(2, 3, 4, 5, 6))]
    return "\n".join(out)


def sec_forecast(run):
    d = run.get("forecast")
    if not d:
        return run.missing("forecast")
    R, p = d["results"], d["params"]
    cap = run.caption("forecast")
    S = R["series"]
    rows, orows = [], []
    beat_es = beat_naive = n_es = 0
    tot = c95 = c80 = 0
    for s in S:
        es = (s["peer"].get("statsmodels_es") or {})
        ours = s["chosen_mase"]
        if es.get("mase") is not None:
            n_es += 1
            beat_es += ours <= es["mase"]
        beat_naive += ours <= s["mase"]["seasonal_naive"]
        rows.append([s["series"], s["frequency"], s["n"], mase(s["mase"]["seasonal_naive"]),
                     "%s %s" % (s["chosen"], mase(ours)), mase(s["mase"]["ets"]),
                     mase(s["mase"]["gbdt"]), mase(es.get("mase")),
                     secs(s["automl_train_wall_s"]), secs(es.get("seconds"))])
        o = s["out_of_sample"]
        if o["points"]:
            tot += o["points"]
            c95 += o["covered95"]
            c80 += o["covered80"]
            orows.append([s["series"], ", ".join(c["chosen"] for c in o["cuts"]),
                          mase(o["mase"]), mase(es.get("mase")),
                          "%d/%d = %s" % (o["covered95"], o["points"], pct(o["covered95"] / o["points"])),
                          "%d/%d = %s" % (o["covered80"], o["points"], pct(o["covered80"] / o["points"]))])
    if tot:
        orows.append(["all", "", "", "", "%d/%d = %s" % (c95, tot, pct(c95 / tot)),
                      "%d/%d = %s" % (c80, tot, pct(c80 / tot))])
    chart = chart_forecast(run, S, p) if tot else ""
    out = [
        "Series: %s; %d training run(s) per series (times are medians); peer %s."
        % (", ".join(s["series"] for s in S), p["runs"], p["peer"]),
        "", chart, "",
        "**Results.** In the backtest the chosen candidate's MASE is at or below seasonal "
        "naive's on %d of %d series and at or below statsmodels' exponential smoothing on %d of "
        "%d.%s" % (beat_naive, len(S), beat_es, n_es,
                   (" Out of sample, the 95 %% intervals covered %s of the actual values and "
                    "the 80 %% intervals %s." % (pct(c95 / tot), pct(c80 / tot))) if tot else ""),
        "", run.errors("forecast"), "", cap, "",
        "Backtest MASE (lower is better), the same split on both sides:", "",
        md_table(["series", "frequency", "n", "seasonal naive", "ours: chosen", "ETS", "gbdt",
                  "statsmodels ES", "`automl_train` s", "statsmodels ES s"], rows,
                 right=(2, 3, 5, 6, 7, 8, 9)),
    ]
    if orows:
        out += ["", cap, "",
                "Out of sample, selection included (automl trained on the history before each "
                "origin; statsmodels ES on the same origins, for reference):", "",
                md_table(["series", "chosen at the origins", "MASE", "statsmodels ES MASE",
                          "95 % interval coverage", "80 % interval coverage"], orows,
                         right=(2, 3))]
    return "\n".join(out)


LOAD_CLASSES = (("steady", "steady: no life-cycle call"), ("deploy", "during a deploy or rollback"),
                ("train", "during `automl_train`"), ("retrain", "during `automl_retrain`"),
                ("purge", "during `automl_purge_predictions`"),
                ("first_after_deploy", "each client's first statement after a deploy or rollback (also counted above)"),
                ("all", "all statements"))


def load_figures(R):
    lat, ing = R["latency"], R["ingestion"]
    return {"ratio": R["p99_deploy_over_steady"], "client_errors": R["client_errors"],
            "exactly_once": ing["exactly_once"],
            "steady_p99": {k: lat[k]["steady"].get("p99_ms") for k in ("one", "batch")},
            "deploy_p99": {k: lat[k]["deploy"].get("p99_ms") for k in ("one", "batch")}}


def sec_load(run):
    d = run.get("load")
    if not d:
        return run.missing("load")
    R, p = d["results"], d["params"]
    cap = run.caption("load")
    F = load_figures(R)
    st, ing, mt, srv = R["statements"], R["ingestion"], R["maintenance"], R["server"]
    batch = "%s-row" % num(p["batch_rows"])
    label = {"one": "single-row", "batch": batch}
    met = [F["ratio"][k] is not None and F["ratio"][k] <= 2 for k in ("one", "batch")]
    out = [
        "Scoring for %s s: %d clients at %s single-row statements per second in all, %d clients "
        "at %s %s statements per second; data `%s` (%s rows); model %s; a pause of %s s after "
        "each life-cycle step; purge of the rows older than `%s`; a deploy's window: the call and "
        "the %s s after it; load average %s before the run, %s after it."
        % (num(p["duration_s"]), p["one_clients"], num(p["one_rate"]), p["batch_clients"],
           num(p["batch_rate"]), batch, p["data"], num(p["rows"]), p["model"], num(p["gap_s"]),
           p["purge_age"], num(p["deploy_window_s"]), p["load_before"], p["load_after"]),
        "",
        "**Results.** `p99` latency during deploys against the steady state: single-row %s ms "
        "against %s ms (%s), %s %s ms against %s ms (%s); the target, at most twice the steady "
        "state's, is %s. Client errors: %s. Rows scored: %s; logged %s + purged %s: %s."
        % (num(F["deploy_p99"]["one"], 3), num(F["steady_p99"]["one"], 3), ratio(F["ratio"]["one"]),
           batch, num(F["deploy_p99"]["batch"], 3), num(F["steady_p99"]["batch"], 3),
           ratio(F["ratio"]["batch"]),
           "met for both" if all(met) else "**not met** for %s" % " and ".join(
               label[k] for k, m in zip(("one", "batch"), met) if not m),
           num(F["client_errors"]), num(ing["expected_rows"]), num(ing["logged_rows"]),
           num(ing["purged_rows"]), "exactly once" if F["exactly_once"] else "**not exactly once**"),
        "", run.errors("load"), "", cap, "",
        "Latency in ms, from the statement's scheduled start (pgbench `-R`, schedule lag "
        "included) to its end, by what the statement overlapped (nearest-rank percentiles):", "",
    ]
    rows = []
    for k in ("one", "batch"):
        for c, text in LOAD_CLASSES:
            s = R["latency"][k].get(c) or {"n": 0}
            rows.append([label[k], text, num(s["n"]), num(s.get("p50_ms"), 3), num(s.get("p90_ms"), 3),
                         num(s.get("p99_ms"), 3), num(s.get("max_ms"), 3)])
    out.append(md_table(["statement", "class", "statements", "p50", "p90", "p99", "max"], rows,
                        right=(2, 3, 4, 5, 6)))
    vis = R["visibility"]
    crows = [
        ["statements, single-row / %s" % batch, "%s / %s" % (num(st["one"]["processed"]), num(st["batch"]["processed"]))],
        ["failed statements, aborted clients", "%s, %s" % (
            num(sum(st[k]["failed"] or 0 for k in st)), num(sum(st[k]["aborted_clients"] for k in st)))],
        ["rows scored = logged + purged", "%s = %s + %s" % (num(ing["expected_rows"]), num(ing["logged_rows"]),
                                                             num(ing["purged_rows"]))],
        ["distinct keys of the logged rows", num(ing["distinct_keys"])],
        ["life-cycle calls (failed)", ", ".join("%s %d (%d)" % (k, v["calls"], v["failed"]) for k, v in mt.items())],
        ["median / longest call, s", ", ".join("%s %s / %s" % (k, secs(v["median_s"]), secs(v["max_s"]))
                                                for k, v in mt.items())],
        ["deploys and rollbacks seen serving in the log", "%d of %d; the first prediction of the new version "
         "%s s (median), %s s (longest) after the call returned" % (
             vis["checked"] - vis["invisible"], vis["checked"],
             num(vis["first_prediction_after_s"]["median"], 2), num(vis["first_prediction_after_s"]["max"], 2))],
        ["versions, deployments at the end", "%s, %s (`automl_train` deployed itself %d times, "
         "`automl_retrain` %d)" % (num(srv["versions"]), num(srv["deployments"]),
                                   mt["train"].get("deployed_itself", 0), mt["retrain"].get("deployed_itself", 0))],
        ["transactions rolled back in the database", num(srv["rolled_back_transactions"])],
        ["server log: ERROR/FATAL lines, crashes", "%s, %s" % (num(srv["log_errors"]), num(srv["log_crash_lines"]))
         if srv["log_read"] else "not read"],
        ["server restarted", "yes" if srv["restarted"] else "no"],
    ]
    out += ["", cap, "", "Correctness and the life cycle:", "", md_table(["", ""], crows)]
    return "\n".join(out)


def sec_anchors(run):
    a = benchlib.anchors()
    out = []
    for key, src in a["sources"].items():
        used = [(k, v) for k, v in a["amlb"].items() if v["source"] == key]
        out.append("- **%s**, %s. It says: \"%s\" %s" % (src["file"], src["where"],
                                                      src["as_stated"], src["caveat"]))
        out.append("")
        out.append(md_table(["dataset", "metric", "AMLB best", "AMLB tuned random forest"],
                            [[k, v["metric"].replace("_", " "), v["best"], v["tuned_rf"]]
                             for k, v in used]))
    out.append("")
    out.append("The figures are kept, with their sources, in `bench/anchors.json`.")
    return "\n".join(out)


# --------------------------------------------------------------------------
# the run: header, machine, summary

def run_header(run):
    m = run.info.get("measured") or {}
    o = run.info.get("options") or {}
    lines = []
    if run.quick:
        lines.append("> **QUICK SMOKE RUN** (`bench/run.sh --quick`): reduced sizes, fewer "
                     "datasets, one seed. It proves that the harness works; its figures are "
                     "**not** comparable with a full run and must not be published.")
        lines.append("")
    lines.append("Run of %s at commit `%s` (%s)%s; %s benchmark%s, %s minutes in all."
                 % (m.get("date", "?"), m.get("commit_short", "?")[:10],
                    (m.get("commit_date") or "?")[:10],
                    " **with uncommitted changes**" if m.get("dirty_code") else "",
                    len(run.info.get("benchmarks", [])),
                    "" if len(run.info.get("benchmarks", [])) == 1 else "s",
                    "%.1f" % ((run.info.get("seconds") or 0) / 60)))
    later = sorted((name, (r.get("measured") or {}).get("commit_short", "?")[:10])
                   for name, r in run.res.items()
                   if (r.get("measured") or {}).get("commit_short", "?")[:10]
                   != m.get("commit_short", "?")[:10])
    if later:
        lines.append("")
        lines.append("Measured again at another commit and merged into this run's results "
                     "(each table's caption names its commit): %s."
                     % ", ".join("%s at `%s`" % (name.replace("_", " "), c) for name, c in later))
    if m.get("dirty_code"):
        lines.append("")
        lines.append("Uncommitted changes at the start of the run: %s."
                     % ", ".join("`%s`" % c for c in m.get("changed", [])
                                 if not c.startswith("docs/")))
    if run.info.get("commit_changed"):
        lines.append("")
        lines.append("**The checkout's commit changed during the run** (now `%s`): rerun."
                     % run.info.get("commit_at_end", "?")[:10])
    if o.get("skip_build"):
        lines.append("")
        lines.append("**`automl.so` was not built by this run** (`AUTOML_SKIP_BUILD=1`): the "
                     "figures may not be this commit's.")
    if o.get("extra"):
        lines.append("")
        lines.append("Arguments given to the benchmark: `%s`." % o["extra"])
    return "\n".join(lines)


def run_contents(run):
    out = ["Contents: [the run](#the-run) · [summary](#summary)"]
    for name, anchor in SECTION.items():
        out.append("[%s](#%s)" % (name.replace("_", " "), anchor))
    out.append("[anchors](#anchors-and-their-sources)")
    return " · ".join(out)


def run_machine(run):
    mc = run.info.get("machine") or {}
    sv = run.info.get("server") or {}
    pk = run.info.get("packages") or {}
    rows = [["CPU", "%s, %s cores (`nproc`), %s thread(s) per core%s"
             % (mc.get("cpu_model", "?"), mc.get("nproc", "?"), mc.get("threads_per_core", "?"),
                ", %s guest" % mc["hypervisor"] if mc.get("hypervisor") else "")],
            ["memory", "%s GiB" % mc.get("ram_gib", "?")],
            ["OS", "%s, kernel %s" % (mc.get("os", "?"), mc.get("kernel", "?"))],
            ["load average (1, 5, 15 min)", "%s at the start, %s at the end" % (
                " ".join((run.info.get("measured") or {}).get("load_average_start") or ["?"]),
                " ".join(mc.get("load_average") or ["?"]))],
            ["PostgreSQL", "%s, the throwaway cluster of `test/setup.sh`: `shared_buffers` %s, "
             "`work_mem` %s, `max_parallel_workers_per_gather` %s, `fsync` %s, `automl.threads` %s, "
             "`automl.train_memory` %s, `automl.max_train_memory` %s"
             % (sv.get("server_version", "?"), sv.get("shared_buffers", "?"),
                sv.get("work_mem", "?"), sv.get("max_parallel_workers_per_gather", "?"),
                sv.get("fsync", "?"), sv.get("automl.threads") or "default",
                sv.get("automl.train_memory") or "default (1 GB from commit 377e775, 0.2.0's memory budget, on; before it 4 GB of rows)",
                sv.get("automl.max_train_memory") or "none")]]
    for p, v in pk.items():
        rows.append(["`%s`" % p, v or "not installed"])
    so = (run.info.get("measured") or {}).get("automl_so") or {}
    o = run.info.get("options") or {}
    rows.append(["`automl.so`", ("**not built by this run** (`AUTOML_SKIP_BUILD=1`): it may "
                                 "not be the commit above's" if o.get("skip_build") else
                                 "built from the commit above by `bench/run.sh`")
                 + "; sha256 `%s…`" % so.get("sha256", "?")])
    trows = [[b["benchmark"], "`bench/run.sh %s`" % ALIAS.get(b["benchmark"], b["benchmark"]),
              "ok" if b["exit"] == 0 else "**exit %d**" % b["exit"], "%.1f" % (b["seconds"] / 60)]
             for b in run.info.get("benchmarks", [])]
    return "\n".join([md_table(["", ""], rows), "", "Benchmarks of this run:", "",
                      md_table(["benchmark", "alone", "status", "minutes"], trows, right=(3,))])


def summary_rows(run):
    """(key, figure, value, section) for the summary table."""
    rows = []
    d = run.get("compare_sklearn")
    if d:
        R = d["results"]
        rows.append(("linear_optimum", "linear learners within tolerance of the exact optimum",
                     "%d of %d datasets" % (sum(r["ok"] for r in R), len(R)), "compare_sklearn"))
    d = run.get("scoring_speed")
    if d:
        s, n = d["results"]["serial"], d["params"]["rows"]
        rows.append(("linear_score_ns", "extra time per row, linear model, serial",
                     "%s ns" % num((s["predict_ms"] - s["baseline_ms"]) * 1e6 / n, 3), "scoring_speed"))
    d = run.get("compare_categorical")
    if d:
        diffs = [abs(r["automl"]["auc"] - r["sklearn"]["auc"]) for r in d["results"]
                 if r["automl"].get("auc") is not None]
        rows.append(("categorical_auc", "largest test AUC difference to scikit-learn (text columns)",
                     num(max(diffs), 2) if diffs else "–", "compare_categorical"))
    d = run.get("gbdt_speed")
    if d:
        F = gbdt_speed_figures(d["results"])
        rows += [("fit_vs_xgb", "one tree-ensemble fit / XGBoost's, 2 threads", ratio(F.get("fit_vs_xgb_2")), "gbdt_speed"),
                 ("speedup", "second thread's speed-up of a fit, automl / XGBoost",
                  "%s / %s" % (ratio(F.get("speedup_automl")), ratio(F.get("speedup_xgb"))), "gbdt_speed"),
                 ("call_vs_export", "whole `automl_train` call / (export + XGBoost fit)",
                  ratio(F.get("call_vs_fetch_fit")), "gbdt_speed"),
                 ("memory", "peak private memory of training / float8 size of the rows",
                  ratio(F.get("anon_vs_float8")), "gbdt_speed"),
                 ("scoring_vs_xgb", "tree scoring through SQL, serial / XGBoost predict, 1 thread",
                  ratio(F.get("scoring_vs_xgb_1")), "gbdt_speed")]
    d = run.get("bagging")
    if d:
        better, n = bagging_counts(d["results"])
        rows.append(("bagging", "bagged fold models better than the refit (same trials), runs",
                     "%d of %d" % (better, n), "bagging"))
    d = run.get("gbdt_accuracy")
    if d:
        ok = n = 0
        for r in d["results"]:
            if r.get("peers_failed") or not r.get("automl"):
                continue
            x, h = r["xgb"]["metric"], r["hgb"]["metric"]
            best = max(x, h) if HIGHER[r["task"]] else min(x, h)
            n += 1
            ok += bool(at_or_above(r["task"], r["automl"]["metric"], best, tolerance=True))
        rows.append(("gbdt_defaults", "default gbdt at or above the better peer's defaults (tolerance)",
                     "%d of %d datasets" % (ok, n), "gbdt_accuracy"))
    d = run.get("search_benchmark")
    if d:
        F = search_figures(d["results"])
        rows.append(("search_vs_xgb@%g" % d["params"]["budget"], "search at %g s: mean at or above the XGBoost random search's (%d seed%s)"
                     % (d["params"]["budget"], len(d["params"]["seeds"]),
                        "" if len(d["params"]["seeds"]) == 1 else "s"),
                     "%d of %d datasets" % (F["above"], F["datasets"]), "search_benchmark"))
        rows.append(("search_budget", "longest search call / its budget", ratio(F["worst_budget"]),
                     "search_benchmark"))
    d = run.get("logging_cost")
    if d:
        F = logging_figures(d["results"])
        rows.append(("log_call", "prediction logging, extra per logged row in the query (largest median)",
                     "%s ns" % num(F["worst_extra_ns"], 3), "logging_cost"))
        if F["writer_cpu_us"]:
            rows.append(("log_ingest", "prediction logging, writer CPU per ingested row",
                         "%s–%s µs" % (num(min(F["writer_cpu_us"]), 3), num(max(F["writer_cpu_us"]), 3)),
                         "logging_cost"))
    d = run.get("forecast")
    if d:
        S = d["results"]["series"]
        es = [s for s in S if (s["peer"].get("statsmodels_es") or {}).get("mase") is not None]
        rows.append(("forecast_vs_es", "forecast MASE at or below statsmodels' exponential smoothing",
                     "%d of %d series" % (sum(s["chosen_mase"] <= s["peer"]["statsmodels_es"]["mase"]
                                              for s in es), len(es)), "forecast"))
        tot = sum(s["out_of_sample"]["points"] for s in S)
        if tot:
            rows.append(("forecast_cover", "95 % forecast intervals, out-of-sample coverage",
                         pct(sum(s["out_of_sample"]["covered95"] for s in S) / tot), "forecast"))
    d = run.get("load")
    if d:
        F = load_figures(d["results"])
        rows.append(("load_p99", "scoring `p99` during deploys / steady state, single-row and %s-row"
                     % num(d["params"]["batch_rows"]),
                     "%s, %s" % (ratio(F["ratio"]["one"]), ratio(F["ratio"]["batch"])), "load"))
        rows.append(("load_correct", "under load: client errors; rows logged exactly once",
                     "%s; %s" % (num(F["client_errors"]), "yes" if F["exactly_once"] else "**no**"), "load"))
    return rows


def summary(run):
    rows = summary_rows(run)
    if not rows:
        return "*No benchmark finished in this run.*"
    base = {}
    hdr = ["figure", "value", "measured at", "section"]
    if run.baseline is not None:
        base = {k: v for k, _, v, _ in summary_rows(run.baseline)}
        hdr = ["figure", "value", "measured at", "baseline (commit `%s`%s)"
               % (run.baseline.commit(), ", a quick run" if run.baseline.quick else ""), "section"]
    out = []
    for key, label, value, name in rows:
        r = [label, value, "`%s`" % run.commit(name)]
        if run.baseline is not None:
            r.append(base.get(key, "–"))
        r.append("[%s](#%s)" % (name.replace("_", " "), SECTION[name]))
        out.append(r)
    return md_table(hdr, out)


def howto(run):
    o = run.info.get("options") or {}
    cmd = "bench/run.sh"
    if o.get("quick"):
        cmd += " --quick"
    if o.get("long"):
        cmd += " --long"
    if o.get("curve"):
        cmd += " --curve"
    if o.get("seeds") and o.get("seeds") != ("0" if o.get("quick") else "0,1,2"):
        cmd += " --seeds %s" % o["seeds"]
    names = (o.get("benchmarks") or "").split()
    if names and set(names) != set(SCRIPT):
        cmd += " " + " ".join(ALIAS.get(b, b) for b in names)
    return "\n".join([
        "This file was produced by `%s` (its results directory: `%s`), then "
        "`bench/report.py` on those results, which fills `bench/benchmarks.md.in`; the charts "
        "are drawn with matplotlib into `img/` beside this file. The benchmarks, their options and run "
        "times are described in [bench/README.md](../bench/README.md)."
        % (cmd, os.path.relpath(run.dir, REPO)),
    ])


# --------------------------------------------------------------------------
# the template

def check_template(text):
    """The template's own prose must not carry figures: digits only in code and placeholders."""
    t = re.sub(r"```.*?```", "", text, flags=re.S)
    t = re.sub(r"`[^`]*`", "", t)
    t = re.sub(r"\{\{[^}]*\}\}", "", t)
    t = re.sub(r"\]\([^)]*\)", "]", t)      # link targets
    bad = [line for line in t.splitlines() if re.search(r"\d", line)]
    if bad:
        raise SystemExit("bench/benchmarks.md.in: figures in prose (put them in the results "
                         "or in code): %s" % bad[:3])


def render(run):
    text = open(TEMPLATE).read()
    check_template(text)
    blocks = {
        "run.header": run_header, "run.contents": run_contents, "run.machine": run_machine,
        "summary": summary, "run.howto": howto,
        "compare_sklearn": sec_compare_sklearn, "scoring_speed": sec_scoring_speed,
        "compare_categorical": sec_compare_categorical, "gbdt_speed": sec_gbdt_speed,
        "gbdt_accuracy": sec_gbdt_accuracy, "search_benchmark": sec_search, "bagging": sec_bagging,
        "logging_cost": sec_logging, "forecast": sec_forecast, "load": sec_load,
        "scale_out": sec_scale_out, "anchors": sec_anchors,
    }

    def fill(m):
        key = m.group(1)
        if key not in blocks:
            raise SystemExit("bench/benchmarks.md.in: unknown placeholder {{%s}}" % key)
        try:
            return blocks[key](run).strip("\n")
        except (KeyError, TypeError, ValueError, ZeroDivisionError, IndexError) as e:
            # a result file without a figure the section needs: say so in the document
            run.failed_sections.append("%s (%s: %s)" % (key, type(e).__name__, e))
            return ("**This section could not be generated from the results** (%s: %s); see "
                    "`%s`." % (type(e).__name__, e, run.results_path(key.split(".")[0])))

    out = re.sub(r"\{\{([a-z_.]+)\}\}", fill, text)
    # links into the repository, relative to where this copy is written
    out = out.replace("](../bench/README.md)", "](%s)" % os.path.relpath(
        os.path.join(REPO, "bench", "README.md"), run.out_dir))
    out = re.sub(r"\n{3,}", "\n\n", out)
    return ("<!-- Generated by bench/report.py from %s: do not edit; edit bench/benchmarks.md.in "
            "or rerun bench/run.sh. -->\n" % os.path.relpath(run.dir, REPO) + out)


def write(run, path):
    run.out_dir = os.path.dirname(os.path.abspath(path))
    run.charts = []
    run.failed_sections = []
    text = render(run)
    with open(path, "w") as f:
        f.write(text)
    print("written to %s (%d charts)" % (path, len(run.charts)), file=sys.stderr)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("results", help="a results directory of bench/run.sh")
    ap.add_argument("--docs", action="store_true",
                    help="also write docs/benchmarks.md and docs/img/*.svg")
    ap.add_argument("--out", help="also write the report to this file (charts in img/ beside it)")
    ap.add_argument("--baseline", help="an earlier results directory, shown beside the summary")
    args = ap.parse_args()
    if not os.path.isdir(args.results):
        ap.error("no directory %s" % args.results)
    run = Run(args.results)
    if not run.res:
        raise SystemExit("%s holds no benchmark results (*.json)" % args.results)
    run.baseline = Run(args.baseline) if args.baseline else None
    write(run, os.path.join(run.dir, "benchmarks.md"))
    if args.out:
        write(run, args.out)
    if args.docs:
        if run.quick:
            raise SystemExit("refusing to write docs/benchmarks.md from a --quick run: its "
                             "figures are not for publication")
        if run.failed_sections:
            # the results directory's copy says which section failed; the published one must not
            raise SystemExit("refusing to write docs/benchmarks.md: sections that could not be "
                             "generated: %s" % "; ".join(run.failed_sections))
        img = os.path.join(REPO, "docs", "img")
        for f in os.listdir(img) if os.path.isdir(img) else []:
            if f.endswith(".svg") and f.split(".")[0] in ("gbdt_speed", "search_quality", "forecast"):
                os.remove(os.path.join(img, f))
        write(run, DOCS_OUT)
    return 0


if __name__ == "__main__":
    sys.exit(main())
