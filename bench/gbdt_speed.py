#!/usr/bin/python3
"""Training and scoring speed of automl's gbdt learner against XGBoost and scikit-learn.

A deterministic synthetic binary dataset (numpy default_rng(2026); by default
1,000,000 rows x 28 standard-normal float features, some of them correlated;
label ~ Bernoulli(sigmoid(a non-linear function with interactions))) is split
80/20 (seeded, stratified). The training part is loaded into the unlogged table
speed_gbdt_train, the test part into speed_gbdt_test. Then, in the same run:

  * automl_train('speed_gbdt', 'speed_gbdt_train', 'label', algorithms =>
    ARRAY['gbdt'], ...) with fixed hyper-parameters (100 rounds, rate 0.1, 31
    leaves, 255 bins, no early stopping): refit_seconds (the single fit on all
    rows), train_seconds (the whole call), the peak memory of the backend, and
    the test ROC AUC from automl_predict;
  * XGBoost (hist, lossguide, the same settings) with 1 and 2 threads and
    scikit-learn's HistGradientBoostingClassifier: fit time and test ROC AUC;
  * end to end: COPY speed_gbdt_train TO STDOUT into numpy plus the XGBoost fit;
  * scoring: sum(automl_predict(...)) over the test table (serial and parallel)
    against predict_proba of XGBoost.

It talks to PostgreSQL by running psql (PGHOST, PGPORT, PGUSER, ...), and needs
numpy, scikit-learn and xgboost: run it with Debian's /usr/bin/python3
(python3-sklearn, python3-xgboost). The backend's memory is read from
/proc/<pid>/status, so the server must run on this machine and be readable
(run as root or as the server's user).

    /usr/bin/python3 bench/gbdt_speed.py [--rows 1000000] [--runs 3] [--reuse] [--keep]

The results are printed and written as markdown to bench/results/gbdt_speed.md.
"""

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np
import xgboost
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import compare_sklearn  # noqa: E402
from compare_sklearn import REPO, PsqlError, build_id, environment, lit, md_table, psql  # noqa: E402
import benchlib  # noqa: E402

DEFAULT_OUT = os.path.join(REPO, "bench", "results", "gbdt_speed.md")
N_FEATURES = 28
FEATURES = ["f%02d" % (j + 1) for j in range(N_FEATURES)]
MODEL = "speed_gbdt"
TRAIN, TEST = "speed_gbdt_train", "speed_gbdt_test"
HYPERPARAMS = {"n_estimators": 100, "learning_rate": 0.1, "max_leaves": 31, "max_bins": 255,
               "early_stopping": 0, "min_samples_leaf": 20, "min_child_weight": 0.001,
               "l2_regularization": 0}
XGB_PARAMS = dict(tree_method="hist", n_estimators=100, learning_rate=0.1, max_leaves=31,
                  grow_policy="lossguide", max_depth=0, max_bin=255, min_child_weight=0.001,
                  reg_lambda=0)
HGB_PARAMS = dict(max_iter=100, learning_rate=0.1, max_leaf_nodes=31, max_bins=255,
                  early_stopping=False, l2_regularization=0, min_samples_leaf=20)


# --------------------------------------------------------------------------
# data

def make_data(n, seed=2026):
    """n rows x 28 features and a 0/1 label; the same arrays for the same n and seed.

    Features are standard normal; f11..f16 are 0.8 f01..f06 + 0.6 noise (correlation
    0.8) and f21 mixes f01 and f02. The log-odds are a non-linear function of 13 of
    the features with interactions; the rest are noise. Returns X, y and the true
    probabilities (their AUC is the best any model can reach).
    """
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, N_FEATURES))
    for j in range(6):
        X[:, 10 + j] = 0.8 * X[:, j] + 0.6 * X[:, 10 + j]
    X[:, 20] = 0.5 * X[:, 0] + 0.5 * X[:, 1] + np.sqrt(0.5) * X[:, 20]
    z = (1.0 * X[:, 0] - 0.8 * X[:, 1] + np.sin(2.0 * X[:, 2]) + 0.9 * X[:, 3] * X[:, 4]
         + 0.6 * np.abs(X[:, 5]) - 0.5 * X[:, 6] ** 2 + 0.8 * (X[:, 7] > 0) * X[:, 8]
         + 0.5 * np.tanh(X[:, 9] * X[:, 12]) + 0.4 * X[:, 16] * (X[:, 17] > 0.5)
         - 0.3 * X[:, 18] + 0.5)
    p = 1.0 / (1.0 + np.exp(-1.2 * z))
    y = (rng.random(n) < p).astype(np.int32)
    return X, y, p


def load_table(table, X, y):
    """An unlogged table (f01..f28 float8, label integer), filled by \\copy from a CSV."""
    cols = ", ".join("%s float8" % f for f in FEATURES) + ", label integer"
    t0 = time.perf_counter()
    with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False) as f:
        tmp = f.name
    try:
        # %.17g round-trips a double: the server and the peers see the same values
        np.savetxt(tmp, np.column_stack([X, y]), delimiter=",",
                   fmt=["%.17g"] * N_FEATURES + ["%d"])
        t_csv = time.perf_counter() - t0
        t1 = time.perf_counter()
        psql("DROP TABLE IF EXISTS %s;\nCREATE UNLOGGED TABLE %s (%s);\n"
             "\\copy %s FROM %s WITH (FORMAT csv)\nVACUUM ANALYZE %s;\n"
             % (table, table, cols, table, lit(tmp), table))
        t_copy = time.perf_counter() - t1
    finally:
        os.unlink(tmp)
    n = int(psql("SELECT count(*) FROM %s;\n" % table).strip())
    if n != len(y):
        raise RuntimeError("%s holds %d rows, %d were loaded" % (table, n, len(y)))
    return t_csv, t_copy


def cpu_busy():
    """Seconds of CPU time the whole machine has spent busy (all cores), from /proc/stat."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    # user nice system idle iowait irq softirq steal ...
    return (v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / os.sysconf("SC_CLK_TCK")


def own_cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def proc_cpu(pid):
    with open("/proc/%d/stat" % pid) as f:
        v = f.read().rsplit(")", 1)[1].split()
    return (int(v[11]) + int(v[12])) / os.sysconf("SC_CLK_TCK")


def table_rows(table):
    try:
        return int(psql("SELECT count(*) FROM %s;\n" % table).strip())
    except PsqlError:
        return -1


# --------------------------------------------------------------------------
# automl: training in a session whose backend we watch

_plain_fmt = compare_sklearn.fmt


def fmt(x):
    """Numbers for the report: 4 decimals below 1, fewer above, thousands separated."""
    if isinstance(x, float):
        if x != x:
            return "-"
        a = abs(x)
        if a >= 1000:
            return "{:,.0f}".format(x)
        if a >= 10:
            return "%.1f" % x
        if a >= 1:
            return "%.2f" % x
        return "%.4f" % x
    if isinstance(x, int) and not isinstance(x, bool):
        return "{:,}".format(x) if abs(x) >= 10000 else str(x)
    return _plain_fmt(x)


compare_sklearn.fmt = fmt          # md_table formats its cells with the module's fmt


def proc_status(pid):
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmHWM", "VmRSS", "RssAnon", "RssShmem", "RssFile"):
                out[k] = int(v.split()[0]) / 1024.0      # kB -> MB
    return out


def train_automl(hp, threads, model=None):
    """Run automl_train in one psql session; watch its backend's memory while it runs.

    threads: the session's automl.threads (0: one per core)."""
    model = model or MODEL
    p = subprocess.Popen(["psql", "-X", "-A", "-t", "-q", "-F", "\t", "-v", "ON_ERROR_STOP=1"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, bufsize=1)
    p.stdin.write("SET automl.threads = %d;\nSELECT pg_backend_pid();\n" % threads)
    p.stdin.flush()
    pid = int(p.stdout.readline().strip())
    before = proc_status(pid)
    peak = {"RssAnon": 0.0, "RssShmem": 0.0, "VmRSS": 0.0}
    done = threading.Event()

    def poll():
        while not done.is_set():
            try:
                s = proc_status(pid)
            except (OSError, ValueError):
                break
            for k in peak:
                peak[k] = max(peak[k], s.get(k, 0.0))
            time.sleep(0.02)

    th = threading.Thread(target=poll, daemon=True)
    th.start()
    sql = ("SELECT version FROM automl_train(%s, %s, 'label', algorithms => ARRAY['gbdt'], "
           "task => 'classification', hyperparams => %s);\n"
           % (lit(model), lit(TRAIN), lit(json.dumps(hp))))
    busy0, cpu0 = cpu_busy(), proc_cpu(pid)
    t0 = time.perf_counter()
    p.stdin.write(sql)
    p.stdin.flush()
    line = p.stdout.readline()
    wall = time.perf_counter() - t0
    done.set()
    th.join()
    if not line.strip():
        p.stdin.close()
        raise PsqlError("automl_train failed: " + p.stderr.read().strip())
    after = proc_status(pid)
    # CPU seconds the rest of the machine used meanwhile (our own polling is tiny)
    after["other_cpu_s"] = (cpu_busy() - busy0) - (proc_cpu(pid) - cpu0)
    p.stdin.close()
    p.wait()
    version = int(line.strip())
    return version, wall, pid, before, after, peak


def catalog_row(version, model=MODEL):
    q = ("SELECT json_build_object('train_seconds', train_seconds, 'options', options, "
         "'metrics', metrics, 'hyperparams', hyperparams, 'calibration', calibration->>'method', 'rounds', summary->'rounds', "
         "'trees', summary->'trees', 'bytes', octet_length(model))::text "
         "FROM automl.models WHERE name = %s AND version = %d;\n" % (lit(model), version))
    try:
        return json.loads(psql(q).strip())
    except PsqlError:       # no model bytes column under that name: leave it out
        q = q.replace(", 'bytes', octet_length(model)", "")
        return json.loads(psql(q).strip())


def automl_test_scores(version):
    out = psql("SELECT label, automl_predict('%s@%d', t) FROM %s t;\n" % (MODEL, version, TEST))
    a = np.array([[float(v) for v in line.split("\t")] for line in out.splitlines() if line])
    return a[:, 0].astype(int), a[:, 1]


def time_scoring(version, runs):
    """Best of `runs` (after one warm-up) of sum(automl_predict) and of a plain-SQL baseline."""
    ref = "%s@%d" % (MODEL, version)
    pred_q = "SELECT sum(automl_predict(%s, t)) FROM %s t;" % (lit(ref), TEST)
    base_q = "SELECT sum(%s) FROM %s t;" % ("+".join(FEATURES), TEST)
    res = {}
    for setting, set_sql in (("serial", "SET max_parallel_workers_per_gather = 0;"),
                             ("parallel", "RESET max_parallel_workers_per_gather;")):
        script = [set_sql, "\\timing on", pred_q, base_q]      # warm-up
        for _ in range(runs):
            script += [pred_q, base_q]
        out = psql("\n".join(script) + "\n")
        ms = [float(m) for m in re.findall(r"^Time: ([0-9.]+) ms", out, re.M)]
        if len(ms) != 2 * (runs + 1):
            raise RuntimeError("could not read the timings: %r" % out[-500:])
        pred = min(ms[2::2])
        base = min(ms[3::2])
        plan = psql("%s\nEXPLAIN %s\n" % (set_sql, pred_q))
        m = re.search(r"Workers Planned: (\d+)", plan)
        res[setting] = {"predict_ms": pred, "baseline_ms": base,
                        "workers": int(m.group(1)) if m else 0}
    return res


# --------------------------------------------------------------------------
# peers

def timed_fit(fn):
    """Wall seconds of fn(), and CPU seconds other processes used meanwhile."""
    busy0, own0 = cpu_busy(), own_cpu()
    t0 = time.perf_counter()
    fn()
    wall = time.perf_counter() - t0
    return wall, (cpu_busy() - busy0) - (own_cpu() - own0)


def best_of(fn, runs):
    best = None
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        dt = time.perf_counter() - t0
        best = dt if best is None else min(best, dt)
    return best


def fetch_train_numpy():
    """COPY speed_gbdt_train TO STDOUT through psql into numpy; returns X, y."""
    cols = ", ".join(FEATURES + ["label"])
    p = subprocess.Popen(["psql", "-X", "-q", "-c",
                          "COPY %s (%s) TO STDOUT WITH (FORMAT csv)" % (TRAIN, cols)],
                         stdout=subprocess.PIPE)
    data = p.stdout.read()
    if p.wait() != 0:
        raise PsqlError("COPY TO STDOUT failed")
    # numpy's C parser for a flat separated list; newlines become separators
    flat = np.fromstring(data.replace(b"\n", b","), dtype=np.float64, sep=",")
    A = flat.reshape(-1, N_FEATURES + 1)
    return A[:, :N_FEATURES], A[:, N_FEATURES].astype(np.int32)


def openmp_threads():
    try:
        from sklearn.utils._openmp_helpers import _openmp_effective_n_threads
        return _openmp_effective_n_threads()
    except ImportError:
        return None


# --------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=1_000_000,
                    help="rows generated, train + test (default: %(default)s)")
    ap.add_argument("--runs", type=int, default=3,
                    help="timed runs of each scoring query and predict (best of; default 3)")
    ap.add_argument("--fit-runs", type=int, default=1,
                    help="fits of each learner (automl: training calls); the fastest is "
                         "reported, all are listed (default 1)")
    ap.add_argument("--reuse", action="store_true",
                    help="keep existing tables of the right size instead of reloading them")
    ap.add_argument("--keep", action="store_true", help="keep the tables at the end")
    ap.add_argument("--out", default=DEFAULT_OUT, help="markdown output (default: %(default)s)")
    ap.add_argument("--json", default="", help="machine-readable results (for bench/report.py)")
    args = ap.parse_args()
    measured = benchlib.Measured()

    try:
        if psql("SELECT count(*) FROM pg_proc WHERE proname = 'automl_train';\n").strip() == "0":
            psql("CREATE EXTENSION automl;\n")
    except PsqlError as e:
        raise SystemExit("cannot use the automl extension: %s" % e)

    R = {}
    log = lambda *a: print(*a, file=sys.stderr, flush=True)   # noqa: E731

    t0 = time.perf_counter()
    X, y, p_true = make_data(args.rows)
    idx = np.arange(args.rows)
    tr, te = train_test_split(idx, test_size=0.2, stratify=y, random_state=2026)
    Xtr, ytr, Xte, yte = X[tr], y[tr], X[te], y[te]
    R["gen_s"] = time.perf_counter() - t0
    R["n_train"], R["n_test"] = len(tr), len(te)
    R["pos_rate"] = float(y.mean())
    R["bayes_auc"] = float(roc_auc_score(yte, p_true[te]))
    log("generated %d rows in %.1f s; positive rate %.3f; AUC of the true probabilities "
        "on the test rows %.4f" % (args.rows, R["gen_s"], R["pos_rate"], R["bayes_auc"]))

    if args.reuse and table_rows(TRAIN) == len(tr) and table_rows(TEST) == len(te):
        R["load"] = None
        log("reusing %s and %s" % (TRAIN, TEST))
    else:
        log("loading %s ..." % TRAIN)
        a = load_table(TRAIN, Xtr, ytr)
        log("loading %s ..." % TEST)
        b = load_table(TEST, Xte, yte)
        R["load"] = {"train_csv_s": a[0], "train_copy_s": a[1],
                     "test_csv_s": b[0], "test_copy_s": b[1]}
        log("  loaded: CSV %.1f s + COPY %.1f s (train), CSV %.1f s + COPY %.1f s (test)"
            % (a[0], a[1], b[0], b[1]))
    R["table_mb"] = float(psql("SELECT pg_table_size('%s') / 1048576.0;\n" % TRAIN))

    # ---- automl, with automl.threads = 1 and 0 (one per core)
    R["build_start"] = build_id()
    R["automl"] = {}
    for threads in (1, 0):
        runs = []
        for i in range(args.fit_runs):
            log("automl_train, automl.threads = %d ..." % threads)
            version, wall, pid, before, after, peak = train_automl(HYPERPARAMS, threads)
            cat = catalog_row(version)
            runs.append({"version": version, "wall_s": wall, "pid": pid, "before": before,
                         "after": after, "peak": peak, "catalog": cat,
                         "train_s": float(cat["train_seconds"]),
                         "refit_s": float(cat["options"]["refit_seconds"])})
            log("  version %d: train_seconds %.2f, refit_seconds %.2f, VmHWM %.0f MB "
                "(other processes: %.1f CPU s)" % (version, runs[-1]["train_s"],
                                                   runs[-1]["refit_s"], after["VmHWM"],
                                                   after["other_cpu_s"]))
        # the run with the fastest refit is reported (its memory figures too); all listed
        best = dict(min(runs, key=lambda r: r["refit_s"]))
        best["runs"] = runs
        R["automl"][threads] = best
    # the fixed part of the call: the same training with one round
    log("automl_train with n_estimators = 1 (fixed cost) ...")
    hp1 = dict(HYPERPARAMS, n_estimators=1)
    v1 = train_automl(hp1, 0, model=MODEL + "_1round")[0]
    c1 = catalog_row(v1, MODEL + "_1round")
    R["one_round"] = {"train_s": float(c1["train_seconds"]),
                      "refit_s": float(c1["options"]["refit_seconds"])}
    psql("SELECT automl_delete(%s, 'gbdt_speed.py: probe');\n" % lit(MODEL + "_1round"))
    log("  train_seconds %.2f, refit_seconds %.2f" % (R["one_round"]["train_s"],
                                                       R["one_round"]["refit_s"]))
    R["automl"]["default"] = R["automl"][0]
    version = R["automl"][0]["version"]
    t0 = time.perf_counter()
    lab, score = automl_test_scores(version)
    R["automl"][0]["predict_fetch_s"] = time.perf_counter() - t0
    R["automl"][0]["test_auc"] = float(roc_auc_score(lab, score))
    lab, score = automl_test_scores(R["automl"][1]["version"])
    R["automl"][1]["test_auc"] = float(roc_auc_score(lab, score))
    log("  test AUC %.5f (automl.threads = 1: %.5f)" % (R["automl"][0]["test_auc"],
                                                        R["automl"][1]["test_auc"]))
    log("scoring timings ...")
    R["scoring"] = time_scoring(version, args.runs)

    # ---- XGBoost
    R["xgb"] = {}
    for nj in (1, 2):
        log("XGBoost n_jobs=%d ..." % nj)
        runs = []
        for _ in range(args.fit_runs):
            m = xgboost.XGBClassifier(n_jobs=nj, **XGB_PARAMS)
            runs.append(timed_fit(lambda: m.fit(Xtr, ytr)))
            log("  fit %.2f s (other processes: %.1f CPU s)" % runs[-1])
        auc = float(roc_auc_score(yte, m.predict_proba(Xte)[:, 1]))
        R["xgb"][nj] = {"fit_s": min(r[0] for r in runs), "runs": runs, "test_auc": auc}
        log("  test AUC %.5f" % auc)
    for nj in (1, 2):
        m.set_params(n_jobs=nj)
        R["xgb"][nj]["predict_s"] = best_of(lambda: m.predict_proba(Xte), args.runs)

    # ---- scikit-learn
    log("HistGradientBoostingClassifier ...")
    runs = []
    for _ in range(args.fit_runs):
        h = HistGradientBoostingClassifier(**HGB_PARAMS)
        runs.append(timed_fit(lambda: h.fit(Xtr, ytr)))
        log("  fit %.2f s (other processes: %.1f CPU s)" % runs[-1])
    R["hgb"] = {"fit_s": min(r[0] for r in runs), "runs": runs,
                "test_auc": float(roc_auc_score(yte, h.predict_proba(Xte)[:, 1])),
                "threads": openmp_threads(), "n_iter": int(h.n_iter_)}
    R["hgb"]["predict_s"] = best_of(lambda: h.predict_proba(Xte), args.runs)
    log("  test AUC %.5f" % R["hgb"]["test_auc"])

    # ---- end to end: fetch from the database + XGBoost fit (2 threads)
    log("end to end: COPY TO STDOUT + XGBoost fit ...")
    t0 = time.perf_counter()
    Xf, yf = fetch_train_numpy()
    fetch_s = time.perf_counter() - t0
    # the fetched rows are the loaded ones (in table order; compare as sets of rows)
    same = (Xf.shape == Xtr.shape and np.array_equal(np.sort(Xf[:, 0]), np.sort(Xtr[:, 0]))
            and int(yf.sum()) == int(ytr.sum()))
    m = xgboost.XGBClassifier(n_jobs=2, **XGB_PARAMS)
    fit_s, other = timed_fit(lambda: m.fit(Xf, yf))
    R["e2e"] = {"fetch_s": fetch_s, "fit_s": fit_s, "fit_other_cpu_s": other,
                "same_rows": bool(same)}
    log("  fetch %.2f s + fit %.2f s" % (fetch_s, fit_s))

    R["build_end"] = build_id()
    R["settings"] = {k: psql("SHOW %s;\n" % k).strip()
                     for k in ("shared_buffers", "work_mem", "max_parallel_workers_per_gather",
                               "max_worker_processes")}
    report(R, args)
    benchlib.write_json(args.json, "gbdt_speed", measured,
                        {"rows": args.rows, "fit_runs": args.fit_runs, "runs": args.runs,
                         "features": N_FEATURES, "hyperparams": HYPERPARAMS,
                         "xgb_params": XGB_PARAMS, "hgb_params": HGB_PARAMS,
                         "cores": os.cpu_count(), "xgboost": xgboost.__version__,
                         "omp_threads": os.environ.get("OMP_NUM_THREADS"),
                         "environment": dict(environment())},
                        R)


def validation_text(cat):
    """How the call validated, from the catalog's options (holdout or k-fold)."""
    o = cat.get("options") or {}
    if o.get("validation") == "cross_validation":
        return "%s-fold cross-validation fits" % o.get("folds", "k")
    if o.get("validation") == "holdout":
        return "a validation fit on %.0f %% of the rows" % (100 * (1 - float(
            o.get("validation_fraction", 0.2))))
    return "the validation fit(s)"


def report(R, args):
    a1, a2 = R["automl"][1], R["automl"][0]        # automl.threads = 1, default
    n_cores = os.cpu_count()
    x1, x2 = R["xgb"][1], R["xgb"][2]
    n_tr, n_te = R["n_train"], R["n_test"]
    raw_mb = n_tr * N_FEATURES * 8 / 1e6
    bin_mb = n_tr * N_FEATURES / 1e6
    so_start, commit = R["build_start"]
    so_end = R["build_end"][0]
    env = environment() + [("XGBoost", xgboost.__version__),
                           ("OMP_NUM_THREADS", os.environ.get("OMP_NUM_THREADS", "(unset)")),
                           ("automl.so installed", so_start),
                           ("checkout at run time", commit)]
    if so_end != so_start:
        env.append(("WARNING", "automl.so changed during the run: now %s" % so_end))

    def ratio(x):
        return "%.2f / %.2f" % (a1["refit_s"] / x, a2["refit_s"] / x)

    fit_rows = [
        ["automl gbdt, `automl.threads = 1`: refit on all rows (`refit_seconds`)", 1,
         a1["refit_s"], a1["test_auc"], "-"],
        ["automl gbdt, default `automl.threads` (one per core): refit on all rows", n_cores,
         a2["refit_s"], a2["test_auc"], "-"],
        ["XGBoost hist, n_jobs=1", 1, x1["fit_s"], x1["test_auc"], ratio(x1["fit_s"])],
        ["XGBoost hist, n_jobs=2", 2, x2["fit_s"], x2["test_auc"], ratio(x2["fit_s"])],
        ["scikit-learn HistGradientBoosting", R["hgb"]["threads"], R["hgb"]["fit_s"],
         R["hgb"]["test_auc"], ratio(R["hgb"]["fit_s"])],
    ]
    run_rows = []
    for label, a in (("automl, threads 1", a1), ("automl, threads default", a2)):
        for i, r in enumerate(a["runs"]):
            run_rows.append(["%s (version %d): refit / whole call" % (label, r["version"]),
                             i + 1, "%.2f / %.2f" % (r["refit_s"], r["train_s"]),
                             r["after"]["other_cpu_s"]])
    for key, name in ((1, "XGBoost n_jobs=1"), (2, "XGBoost n_jobs=2")):
        for i, (w, o) in enumerate(R["xgb"][key]["runs"]):
            run_rows.append([name, i + 1, "%.2f" % w, o])
    for i, (w, o) in enumerate(R["hgb"]["runs"]):
        run_rows.append(["HistGradientBoosting", i + 1, "%.2f" % w, o])

    one = R["one_round"]
    part_rows = [
        ["whole call, 100 rounds (`train_seconds`)", a2["train_s"]],
        ["  of which the refit on all rows (`refit_seconds`)", a2["refit_s"]],
        ["  the rest: scan, binning, checks, %s, permutation importance (on the validated model), calibration"
         % validation_text(a2["catalog"]), a2["train_s"] - a2["refit_s"]],
        ["whole call, 1 round (`train_seconds`)", one["train_s"]],
        ["  of which the refit, 1 round (binning and one tree)", one["refit_s"]],
        ["  the rest with 1 round: the same with 1-round fits",
         one["train_s"] - one["refit_s"]],
    ]

    e2e = R["e2e"]
    e2e_rows = [
        ["automl_train, whole call (`train_seconds`, default threads): scan + %s + refit "
         "on all rows + permutation importance (on the validated model) + calibration"
         % validation_text(a2["catalog"]), a2["train_s"]],
        ["automl_train, whole call, `automl.threads = 1`", a1["train_s"]],
        ["automl_train, wall clock seen by the client (default threads)", a2["wall_s"]],
        ["COPY %s TO STDOUT via psql, parsed by numpy" % TRAIN, e2e["fetch_s"]],
        ["XGBoost fit (n_jobs=2) on the fetched rows", e2e["fit_s"]],
        ["fetch + XGBoost fit (one fit, no holdout)", e2e["fetch_s"] + e2e["fit_s"]],
        ["(CPU s used by other processes during that XGBoost fit)", e2e["fit_other_cpu_s"]],
    ]
    sc = R["scoring"]
    score_rows = []
    for k, label in (("serial", "automl_predict, `max_parallel_workers_per_gather = 0`"),
                     ("parallel", "automl_predict, default settings (%d workers planned)"
                      % sc["parallel"]["workers"])):
        s = sc[k]
        score_rows.append([label, s["predict_ms"], s["baseline_ms"],
                           n_te / (s["predict_ms"] / 1000.0),
                           (s["predict_ms"] - s["baseline_ms"]) * 1e6 / n_te])
    for nj in (1, 2):
        s = R["xgb"][nj]["predict_s"]
        score_rows.append(["XGBoost predict_proba, n_jobs=%d (numpy array in memory)" % nj,
                           s * 1000, None, n_te / s, None])
    s = R["hgb"]["predict_s"]
    score_rows.append(["HistGradientBoosting predict_proba, %s threads" % R["hgb"]["threads"],
                       s * 1000, None, n_te / s, None])

    mem_rows = []
    for label, a in (("`automl.threads = 1`", a1), ("default threads", a2)):
        mem_rows += [
            ["%s: VmHWM after automl_train (peak RSS, includes shared buffers touched)" % label,
             a["after"]["VmHWM"]],
            ["%s: peak RssAnon while training (private memory, sampled every 20 ms)" % label,
             a["peak"]["RssAnon"]],
            ["%s: peak RssShmem while training (shared buffers touched, sampled)" % label,
             a["peak"]["RssShmem"]],
        ]
    mem_rows += [
        ["VmRSS of the backend before the call", a2["before"]["VmRSS"]],
        ["RssAnon after the call", a2["after"]["RssAnon"]],
        ["binned training data, 1 byte per value (%s × %d)" % ("{:,}".format(n_tr), N_FEATURES),
         bin_mb],
        ["raw training data, float8 (%s × %d × 8 bytes)" % ("{:,}".format(n_tr), N_FEATURES),
         raw_mb],
        ["table %s (`pg_table_size`)" % TRAIN, R["table_mb"] * 1.048576],
    ]

    cat = a2["catalog"]
    load = R["load"]
    lines = [
        "# automl gbdt: training and scoring speed against XGBoost and scikit-learn", "",
        "Generated by `bench/gbdt_speed.py` on %s." % time.strftime("%Y-%m-%d %H:%M:%S %Z"), "",
        md_table(["component", "version"], env), "",
        "## Data", "",
        "Synthetic binary data from `numpy.random.default_rng(2026)`: %s rows × %d standard "
        "normal float8 features (f11–f16 correlated 0.8 with f01–f06, f21 mixes f01 and f02); "
        "label ~ Bernoulli(sigmoid(1.2 · z)), z a non-linear function of 13 features with "
        "interactions. Split 80/20 stratified (`train_test_split(random_state=2026)`): %s "
        "training rows in the unlogged table `%s`, %s test rows in `%s`. Positive rate %.3f; "
        "the true probabilities reach a test ROC AUC of %.4f (the ceiling)."
        % ("{:,}".format(n_tr + n_te), N_FEATURES, "{:,}".format(n_tr), TRAIN,
           "{:,}".format(n_te), TEST, R["pos_rate"], R["bayes_auc"]), "",
        ("Loading: writing the CSV %.1f s + `\\copy` and `VACUUM ANALYZE` %.1f s (training "
         "table), %.1f s + %.1f s (test table)." % (load["train_csv_s"], load["train_copy_s"],
                                                     load["test_csv_s"], load["test_copy_s"])
         if load else "Tables reused from an earlier run (`--reuse`)."), "",
        "## Fit time and test ROC AUC", "",
        "Same settings everywhere: 100 rounds, learning rate 0.1, at most 31 leaves (best-first "
        "growth), 255 bins, no early stopping, no L2 penalty, min child hessian 0.001.", "",
        "- automl: `automl_train('%s', '%s', 'label', algorithms => ARRAY['gbdt'], task => "
        "'classification', hyperparams => '%s')`, in a session with `SET automl.threads = 1` "
        "and in one with the default (0: one thread per core, %d here)."
        % (MODEL, TRAIN, json.dumps(HYPERPARAMS), n_cores),
        "- XGBoost: `XGBClassifier(%s)`." % ", ".join("%s=%r" % kv for kv in XGB_PARAMS.items()),
        "- scikit-learn: `HistGradientBoostingClassifier(%s)`, %s OpenMP threads "
        "(OMP_NUM_THREADS %s)." % (", ".join("%s=%r" % kv for kv in HGB_PARAMS.items()),
                                   R["hgb"]["threads"],
                                   os.environ.get("OMP_NUM_THREADS", "unset")), "",
        "Fastest of %d fit(s) each; test ROC AUC on the %s test rows (automl: "
        "`automl_predict` in SQL). The last column is automl's refit time divided by the "
        "peer's fit time, for automl with 1 thread / with the default threads."
        % (args.fit_runs, "{:,}".format(n_te)), "",
        md_table(["learner", "threads", "fit s", "test ROC AUC",
                  "automl refit s / this (1 thread / default)"], fit_rows), "",
        "automl catalog (default threads, version %d): `train_seconds` %.2f, `refit_seconds` "
        "%.2f, rounds %s, trees %s, validation ROC AUC %.5f (%s), "
        "`train_memory_mb` %s." % (a2["version"], a2["train_s"], a2["refit_s"], cat.get("rounds"),
                                   cat.get("trees"),
                                   float(cat["metrics"].get("roc_auc", float("nan"))),
                                   validation_text(cat), cat["options"].get("train_memory_mb")), "",
        "Every fit. The machine is shared: \"other CPU s\" is the CPU time the rest of the "
        "machine (other processes, other databases) used during the fit, from /proc/stat, "
        "minus the fit's own; with 2 cores, a figure near the fit's wall time means one core "
        "was taken away.", "",
        md_table(["learner", "run", "fit s", "other CPU s"], run_rows), "",
        "Where automl's whole call goes (default threads; the 1-round call is the same "
        "training with `n_estimators` 1, i.e. the cost that does not depend on the rounds):", "",
        md_table(["part", "seconds"], part_rows), "",
        "## End to end", "",
        "automl's whole call against fetching the same table out of PostgreSQL and fitting "
        "XGBoost (2 threads). automl's call fits twice (%s and the refit on all rows, when the "
        "time budget leaves room for it) and calibrates; the XGBoost path does "
        "one fit and no validation. Fetched rows identical to the generated ones: %s."
        % (validation_text(a2["catalog"]), "yes" if e2e["same_rows"] else "NO"), "",
        md_table(["step", "seconds"], e2e_rows), "",
        "## Scoring", "",
        "`SELECT sum(automl_predict('%s@%d', t)) FROM %s t` over the %s test rows, psql "
        "`\\timing`, one warm-up then the best of %d; the baseline is `SELECT sum(f01+…+f28)` "
        "over the same rows. XGBoost and scikit-learn: `predict_proba` on the same rows as "
        "an in-memory numpy array, best of %d."
        % (MODEL, a2["version"], TEST, "{:,}".format(n_te), args.runs, args.runs), "",
        md_table(["scorer", "ms", "SQL baseline ms", "rows per second",
                  "extra ns per row over baseline"], score_rows), "",
        "## Memory of the training backend", "",
        "Read from `/proc/<pid>/status` of the backend that ran `automl_train` (pid from "
        "`pg_backend_pid()` in the same session). MB = 2^20 bytes for /proc figures, "
        "10^6 bytes for the data sizes.", "",
        md_table(["what", "MB"], mem_rows), "",
    ]
    compare_sklearn.write_report(lines, [], args.out)
    if not args.keep:
        psql("DROP TABLE IF EXISTS %s, %s;\n" % (TRAIN, TEST))

if __name__ == "__main__":
    main()
