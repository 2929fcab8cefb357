#!/usr/bin/python3
"""Compare automl's linear learners with scikit-learn on the same data.

For each dataset the script loads the data into a table, trains
automl_train(..., algorithms => ARRAY['linear'], hyperparams => '{}', calibration =>
'none') (one fit, no search, no calibrator on top), reads the fitted model back
from automl.models.summary, fits the scikit-learn reference (StandardScaler,
then Ridge(alpha=1.0) or LogisticRegression(C=1.0)) on the same rows, and
compares coefficients, intercepts, predictions on every row and the
training-set metrics of both.

It talks to PostgreSQL by running psql (PGHOST, PGPORT, PGUSER, PGDATABASE...
as usual) and needs only the standard library, numpy and scikit-learn.
Run it with Debian's interpreter, which has python3-sklearn:

    /usr/bin/python3 bench/compare_sklearn.py [--data DIR] [--datasets a,b]

The results are printed and written as markdown to
bench/results/compare_sklearn.md. The exit status is 1 when a difference
exceeds --tol (relative to the size of the reference values; differences are
judged against the exact optimum of the shared objective), 0 otherwise.
"""

import argparse
import csv
import gzip
import hashlib
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time

import numpy as np
import sklearn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import (accuracy_score, log_loss, mean_squared_error,
                             r2_score, roc_auc_score)
from sklearn.preprocessing import StandardScaler

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SKLEARN_DATA = os.path.join(os.path.dirname(sklearn.__file__), "datasets", "data")
DEFAULT_DATA = os.path.normpath(os.path.join(REPO, "..", "shared", "bench", "data"))
DEFAULT_OUT = os.path.join(REPO, "bench", "results", "compare_sklearn.md")
DATASETS = ["breast_cancer", "diabetes", "iris", "phoneme"]
REFERENCE = ("StandardScaler, then Ridge(alpha=1.0) or LogisticRegression(C=1.0, "
             "tol=1e-10, max_iter=10000) with lbfgs, multinomial for more than 2 classes")


# --------------------------------------------------------------------------
# psql

class PsqlError(RuntimeError):
    pass


def psql(sql):
    """Run an SQL script through psql; return its unaligned, tuples-only output."""
    cmd = ["psql", "-X", "-A", "-t", "-q", "-F", "\t",
           "-v", "ON_ERROR_STOP=1", "-f", "-"]
    r = subprocess.run(cmd, input=sql, capture_output=True, text=True)
    if r.returncode != 0:
        raise PsqlError(r.stderr.strip() or "psql exited with %d" % r.returncode)
    return r.stdout


def lit(s):
    """An SQL string literal."""
    return "'" + str(s).replace("'", "''") + "'"


def ident(s):
    return '"' + str(s).replace('"', '""') + '"'


# --------------------------------------------------------------------------
# data

class Dataset:
    def __init__(self, name, task, features, X, y):
        self.name = name
        self.task = task            # 'regression' or 'classification'
        self.features = features    # column names, in X's column order
        self.X = X                  # float64 (n, p)
        self.y = y                  # float64 (regression) or str labels


def load_breast_cancer():
    path = os.path.join(SKLEARN_DATA, "breast_cancer.csv")
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    n, p = int(rows[0][0]), int(rows[0][1])
    data = rows[1:1 + n]
    X = np.array([[float(v) for v in r[:p]] for r in data])
    y = np.array([str(int(float(r[p]))) for r in data])
    feats = ["x%02d" % (j + 1) for j in range(p)]
    return Dataset("breast_cancer", "classification", feats, X, y)


def load_diabetes():
    with gzip.open(os.path.join(SKLEARN_DATA, "diabetes_data_raw.csv.gz"), "rt") as f:
        X = np.array([[float(v) for v in line.split()] for line in f if line.strip()])
    with gzip.open(os.path.join(SKLEARN_DATA, "diabetes_target.csv.gz"), "rt") as f:
        y = np.array([float(v) for line in f for v in line.split()])
    feats = ["age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6"]
    assert X.shape == (len(y), len(feats)), X.shape
    return Dataset("diabetes", "regression", feats, X, y)


def load_iris():
    with open(os.path.join(SKLEARN_DATA, "iris.csv"), newline="") as f:
        rows = list(csv.reader(f))
    n, p = int(rows[0][0]), int(rows[0][1])
    data = rows[1:1 + n]
    X = np.array([[float(v) for v in r[:p]] for r in data])
    y = np.array([str(int(float(r[p]))) for r in data])
    feats = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
    return Dataset("iris", "classification", feats, X, y)


def load_phoneme(data_dir):
    path = os.path.join(data_dir, "phoneme.csv")
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    header, data = rows[0], [r for r in rows[1:] if r]
    t = header.index("Class")
    fidx = [j for j in range(len(header)) if j != t]
    X = np.array([[float(r[j]) for j in fidx] for r in data])
    y = np.array([r[t].strip() for r in data])
    feats = [header[j].lower() for j in fidx]
    return Dataset("phoneme", "classification", feats, X, y)


def load(name, data_dir):
    if name == "breast_cancer":
        return load_breast_cancer()
    if name == "diabetes":
        return load_diabetes()
    if name == "iris":
        return load_iris()
    if name == "phoneme":
        return load_phoneme(data_dir)
    raise SystemExit("unknown dataset %r (known: %s)" % (name, ", ".join(DATASETS)))


def load_table(ds, table, target):
    """Create the table and COPY the data into it from a temporary CSV file."""
    cols = ["id integer PRIMARY KEY"]
    cols += ["%s float8" % ident(c) for c in ds.features]
    cols.append("%s %s" % (ident(target),
                           "float8" if ds.task == "regression" else "text"))
    with tempfile.NamedTemporaryFile("w", suffix=".csv", newline="",
                                     delete=False) as f:
        w = csv.writer(f)
        for i in range(ds.X.shape[0]):
            # repr() round-trips a double exactly, so both sides see the same data
            yv = repr(float(ds.y[i])) if ds.task == "regression" else ds.y[i]
            w.writerow([i + 1] + [repr(float(v)) for v in ds.X[i]] + [yv])
        tmp = f.name
    try:
        psql("DROP TABLE IF EXISTS %s;\nCREATE TABLE %s (%s);\n"
             "\\copy %s FROM %s WITH (FORMAT csv)\nANALYZE %s;\n"
             % (ident(table), ident(table), ", ".join(cols), ident(table),
                lit(tmp), ident(table)))
    finally:
        os.unlink(tmp)


# --------------------------------------------------------------------------
# automl side

def get(d, *names, default=None):
    """The first of several possible keys of a json object (field names may move)."""
    for n in names:
        if isinstance(d, dict) and n in d:
            return d[n]
    return default


def train_automl(ds, model, table, target):
    sql = ("SELECT name, version, task, algorithm, metric, score, deployed "
           "FROM automl_train(%s, %s, target => %s, algorithms => ARRAY['linear'], hyperparams => '{}', "
           "exclude => ARRAY['id'], task => %s%s);\n"
           % (lit(model), lit(table), lit(target), lit(ds.task),
              # the learner itself: a calibrator (the default 'auto' may choose one) would
              # change the served probabilities, which are compared with the reference's
              ", calibration => 'none'" if ds.task == "classification" else ""))
    t0 = time.perf_counter()
    out = psql(sql).strip().splitlines()
    secs = time.perf_counter() - t0
    row = out[-1].split("\t")
    version = int(row[1])
    info = {"version": version, "task": row[2], "algorithm": row[3],
            "metric": row[4], "score": row[5], "seconds": secs}
    q = ("SELECT json_build_object('summary', summary, 'classes', classes, "
         "'features', features, 'hyperparams', hyperparams, 'metrics', metrics, "
         "'train_seconds', train_seconds)::text "
         "FROM automl.models WHERE name = %s AND version = %d;\n" % (lit(model), version))
    meta = json.loads(psql(q).strip())
    info.update(meta)
    return info


def fetch_predictions(ds, ref, table, n_classes):
    """automl's predictions on every row, in id order."""
    t = ident(table)
    if ds.task == "regression" or n_classes == 2:
        out = psql("SELECT automl_predict(%s, t) FROM %s t ORDER BY id;\n" % (lit(ref), t))
        pred = np.array([float(v) for v in out.split()])
    else:
        out = psql("SELECT automl_predict_proba(%s, t) FROM %s t ORDER BY id;\n" % (lit(ref), t))
        pred = np.array([[float(x) for x in line.strip("{}").split(",")]
                         for line in out.split()])
    labels = None
    if ds.task == "classification":
        out = psql("SELECT automl_predict_label(%s, t) FROM %s t ORDER BY id;\n" % (lit(ref), t))
        labels = np.array(out.splitlines())
    return pred, labels


# --------------------------------------------------------------------------
# comparison

def maxabs(a, b):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape:
        raise ValueError("shape mismatch %s vs %s" % (a.shape, b.shape))
    return float(np.max(np.abs(a - b))) if a.size else 0.0


def rel(diff, ref):
    return diff / max(1.0, float(np.max(np.abs(ref))) if np.size(ref) else 1.0)


def softmax(z):
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def objective(Z, y, W, b, kind, reg):
    """The penalised objective both sides minimise, and its gradient.

    kind 'ridge':    ||y - ZW' - b||^2 + alpha ||W||^2            (reg = alpha)
    kind 'logistic': sum of log losses + ||W||^2 / (2C)          (reg = C)
    y is the target (ridge), 0/1 (binary, one output) or one-hot (K outputs).
    Returns (value, gradient as one vector: W row by row, then b).
    """
    L = Z @ W.T + b
    if kind == "ridge":
        r = L[:, 0] - y
        f = r @ r + reg * np.sum(W * W)
        gW = 2.0 * (r @ Z)[None, :] + 2.0 * reg * W
        gb = np.array([2.0 * r.sum()])
    elif W.shape[0] == 1:
        z = L[:, 0]
        f = np.sum(np.logaddexp(0.0, z) - y * z) + np.sum(W * W) / (2.0 * reg)
        d = sigmoid(z) - y
        gW = (d @ Z)[None, :] + W / reg
        gb = np.array([d.sum()])
    else:
        m = L.max(axis=1, keepdims=True)
        lse = (m + np.log(np.exp(L - m).sum(axis=1, keepdims=True)))[:, 0]
        f = np.sum(lse - np.sum(y * L, axis=1)) + np.sum(W * W) / (2.0 * reg)
        D = softmax(L) - y
        gW = D.T @ Z + W / reg
        gb = D.sum(axis=0)
    return float(f), np.concatenate([gW.ravel(), gb])


def hessian(Z, W, b, kind, reg):
    n, p = Z.shape
    K = W.shape[0]
    Z1 = np.hstack([Z, np.ones((n, 1))])
    pen = np.concatenate([np.full(p, 1.0), [0.0]])
    if kind == "ridge":
        H = 2.0 * Z1.T @ Z1 + np.diag(2.0 * reg * pen)
    elif K == 1:
        s = sigmoid(Z @ W[0] + b[0])
        H = (Z1 * (s * (1 - s))[:, None]).T @ Z1 + np.diag(pen / reg)
    else:
        P = softmax(Z @ W.T + b)
        H = np.zeros((K * (p + 1), K * (p + 1)))
        for k in range(K):
            for l in range(K):
                w = P[:, k] * ((k == l) - P[:, l])
                H[k * (p + 1):(k + 1) * (p + 1), l * (p + 1):(l + 1) * (p + 1)] = (Z1 * w[:, None]).T @ Z1
        H += np.diag(np.tile(pen / reg, K))
    return H


def exact_optimum(Z, y, W0, b0, kind, reg, iters=100):
    """Newton's method, started at the reference solution, run to machine precision.

    scikit-learn's lbfgs stops on a relative decrease of the objective (ftol), often
    with a gradient of 1e-4; this gives the optimum itself to compare both against.
    """
    K, p = W0.shape

    def pack(W, b):     # per output: p weights then the intercept
        return np.hstack([W, b[:, None]]).ravel()

    def unpack(v):
        M = v.reshape(K, p + 1)
        return M[:, :p].copy(), M[:, p].copy()

    def grad_in_pack_order(g):
        return pack(g[:K * p].reshape(K, p), g[K * p:])

    v = pack(W0, b0)
    f, g = objective(Z, y, *unpack(v), kind, reg)
    for _ in range(iters):
        gp = grad_in_pack_order(g)
        # lstsq: the multinomial Hessian is singular along "all intercepts + c"
        step = np.linalg.lstsq(hessian(Z, *unpack(v), kind, reg), gp, rcond=None)[0]
        t = 1.0
        while True:
            f2, g2 = objective(Z, y, *unpack(v - t * step), kind, reg)
            if f2 <= f or t < 1e-10:
                break
            t /= 2
        if f2 > f:
            break
        v, done = v - t * step, np.max(np.abs(t * step)) <= 1e-15 * max(1.0, np.max(np.abs(v)))
        f, g = f2, g2
        if done:
            break
    W, b = unpack(v)
    return W, b, f


def metrics_of(ds, pred, labels, classes):
    """Training-set metrics: pred is the value, P(positive) or the proba matrix."""
    if ds.task == "regression":
        return {"rmse": math.sqrt(mean_squared_error(ds.y, pred)),
                "r2": r2_score(ds.y, pred)}
    m = {"accuracy": accuracy_score(ds.y, labels)}
    if len(classes) == 2:
        yb = (ds.y == classes[1]).astype(int)
        m["roc_auc"] = roc_auc_score(yb, pred)
        m["log_loss"] = log_loss(yb, np.column_stack([1 - pred, pred]), labels=[0, 1])
    else:
        m["roc_auc"] = roc_auc_score(ds.y, pred, multi_class="ovr",
                                     average="macro", labels=list(classes))
        m["log_loss"] = log_loss(ds.y, pred, labels=list(classes))
    return m


def run_one(name, args):
    ds = load(name, args.data)
    table = args.prefix + name
    model = args.prefix + name
    target = "target"
    n, p = ds.X.shape
    load_table(ds, table, target)

    info = train_automl(ds, model, table, target)
    summary = info["summary"]
    hp = info.get("hyperparams") or {}

    # --- scikit-learn reference, on the same rows
    scaler = StandardScaler()
    Z = scaler.fit_transform(ds.X)
    t0 = time.perf_counter()
    if ds.task == "regression":
        alpha = float(get(hp, "alpha", default=1.0))
        ref = Ridge(alpha=alpha).fit(Z, ds.y)
        sk_classes = None
        sk_coef = ref.coef_.reshape(1, -1)
        sk_int = np.atleast_1d(ref.intercept_)
        sk_pred = ref.predict(Z)
        sk_labels = None
        hp_used = "Ridge(alpha=%g)" % alpha
    else:
        C = float(get(hp, "C", default=1.0))
        sk_classes = sorted(set(ds.y.tolist()))
        multi = "multinomial" if len(sk_classes) > 2 else "auto"
        ref = LogisticRegression(C=C, tol=1e-10, max_iter=10000, multi_class=multi)
        ref.fit(Z, ds.y)
        assert list(ref.classes_) == sk_classes
        sk_coef = ref.coef_
        sk_int = ref.intercept_.copy()
        proba = ref.predict_proba(Z)
        sk_pred = proba[:, 1] if len(sk_classes) == 2 else proba
        sk_labels = ref.predict(Z)
        hp_used = "LogisticRegression(C=%g, %s)" % (C, "multinomial" if multi == "multinomial" else "binary")
    sk_secs = time.perf_counter() - t0

    # --- automl's model, from its summary, aligned to our column order
    feats = get(summary, "features", default=info.get("features")) or info.get("features")
    order = [feats.index(c) for c in ds.features]
    coef = np.atleast_2d(np.array(get(summary, "coef", "coefficients", "weights"), dtype=float))
    coef = coef[:, order]
    intercept = np.atleast_1d(np.array(get(summary, "intercept", "intercepts", "bias"), dtype=float))
    mean = np.array(get(summary, "mean", "means", "center"), dtype=float)[order]
    scale = np.array(get(summary, "scale", "scales", "std"), dtype=float)[order]

    classes = None
    if ds.task == "classification":
        classes = list(info.get("classes") or get(summary, "classes") or [])
        if sorted(classes) != sk_classes:
            raise RuntimeError("classes differ: automl %s, sklearn %s" % (classes, sk_classes))
        if len(classes) == 2:
            if classes[1] != sk_classes[1]:     # other positive class: flip the sign
                coef, intercept = -coef, -intercept
        else:
            perm = [classes.index(c) for c in sk_classes]
            coef, intercept = coef[perm], intercept[perm]

    pred_ref = "%s@%d" % (model, info["version"])
    pred, labels = fetch_predictions(ds, pred_ref, table, len(sk_classes or []))
    if ds.task == "classification":
        if len(classes) == 2 and classes[1] != sk_classes[1]:
            pred = 1.0 - pred
        elif len(classes) > 2:
            pred = pred[:, [classes.index(c) for c in sk_classes]]

    # predictions recomputed from the summary: checks that serving uses the stored model
    Zs = (ds.X - mean) / scale
    lin = Zs @ coef.T + intercept
    if ds.task == "regression":
        from_summary = lin[:, 0]
    elif len(sk_classes) == 2:
        from_summary = sigmoid(lin[:, 0])
    else:
        from_summary = softmax(lin)

    # the exact optimum of the shared objective, and how far each solution is from it
    if ds.task == "regression":
        kind, reg, yy = "ridge", alpha, ds.y
    else:
        kind, reg = "logistic", C
        if len(sk_classes) == 2:
            yy = (ds.y == sk_classes[1]).astype(float)
        else:
            yy = np.stack([(ds.y == c) for c in sk_classes], axis=1).astype(float)
    W_opt, b_opt, f_opt = exact_optimum(Z, yy, sk_coef, sk_int, kind, reg)
    # objective and gradient of automl's model, in the reference's standardization
    # (the two standardizations are compared separately, as Δ mean and Δ scale)
    f_ours, g_ours = objective(Z, yy, coef, intercept, kind, reg)
    f_sk, g_sk = objective(Z, yy, sk_coef, sk_int, kind, reg)
    if kind == "ridge":
        opt_pred = (Z @ W_opt.T + b_opt)[:, 0]
    elif len(sk_classes) == 2:
        opt_pred = sigmoid(Z @ W_opt[0] + b_opt[0])
    else:
        opt_pred = softmax(Z @ W_opt.T + b_opt)
    if kind == "logistic" and len(sk_classes) > 2:
        b_opt = b_opt - b_opt.mean()

    # multinomial intercepts are defined up to a common constant: centre both
    int_ours, int_sk = intercept, sk_int
    if ds.task == "classification" and len(sk_classes) > 2:
        int_ours = intercept - intercept.mean()
        int_sk = sk_int - sk_int.mean()

    d_mean = maxabs(mean, scaler.mean_)
    d_scale = maxabs(scale, scaler.scale_)
    d_coef = maxabs(coef, sk_coef)
    d_int = maxabs(int_ours, int_sk)
    d_pred = maxabs(pred, sk_pred)
    d_serve = maxabs(pred, from_summary)

    m_ours = metrics_of(ds, pred, labels, sk_classes)
    m_sk = metrics_of(ds, sk_pred, sk_labels, sk_classes)

    # the verdict is against the exact optimum: lbfgs's own error is not automl's
    o_coef, o_int, o_pred = maxabs(coef, W_opt), maxabs(int_ours, b_opt), maxabs(pred, opt_pred)
    rel_worst = max(rel(d_mean, scaler.mean_), rel(d_scale, scaler.scale_),
                    rel(o_coef, W_opt), rel(o_int, b_opt),
                    rel(o_pred, opt_pred), rel(d_serve, opt_pred))
    return {
        "dataset": name, "task": ds.task if ds.task == "regression" else
        ("binary" if len(sk_classes) == 2 else "multiclass (%d)" % len(sk_classes)),
        "n": n, "p": p, "version": info["version"], "hyperparams": hp,
        "reference": hp_used,
        "d_mean": d_mean, "d_scale": d_scale, "d_coef": d_coef, "d_int": d_int,
        "d_pred": d_pred, "d_serve": d_serve, "rel_worst": rel_worst,
        "o_coef": o_coef, "o_int": o_int, "o_pred": o_pred,
        "sk_o_coef": maxabs(sk_coef, W_opt), "sk_o_pred": maxabs(sk_pred, opt_pred),
        "f_opt": f_opt, "f_ours": f_ours, "f_sk": f_sk,
        "g_ours": float(np.max(np.abs(g_ours))), "g_sk": float(np.max(np.abs(g_sk))),
        "ok": rel_worst <= args.tol,
        "m_ours": m_ours, "m_sk": m_sk,
        "automl_seconds": info["seconds"],
        "automl_train_seconds": info.get("train_seconds"),
        "sklearn_seconds": sk_secs,
        "holdout": "%s=%s" % (info["metric"], info["score"]),
    }


# --------------------------------------------------------------------------
# report

def fmt(x):
    if x is None:
        return "-"
    if isinstance(x, float):
        if x == 0:
            return "0"
        if abs(x) < 1e-3 or abs(x) >= 1e5:
            return "%.2e" % x
        return "%.6f" % x
    return str(x)


def build_id():
    """The installed automl.so (path, mtime, sha256 prefix) and the checkout's commit."""
    try:
        libdir = subprocess.run(["pg_config", "--pkglibdir"], capture_output=True,
                                text=True).stdout.strip()
        path = os.path.join(libdir, "automl.so")
        with open(path, "rb") as f:
            digest = hashlib.sha256(f.read()).hexdigest()[:12]
        so = "%s, %s, sha256 %s" % (path, time.strftime(
            "%Y-%m-%d %H:%M:%S", time.gmtime(os.path.getmtime(path))), digest)
    except OSError as e:
        so = "? (%s)" % e
    r = subprocess.run(["git", "-C", REPO, "log", "-1", "--format=%h %cd %s",
                        "--date=format:%Y-%m-%d %H:%M"], capture_output=True, text=True)
    dirty = subprocess.run(["git", "-C", REPO, "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True).stdout.strip()
    return so, (r.stdout.strip() or "?") + (" (modified)" if dirty else "")


def md_table(header, rows):
    out = ["| " + " | ".join(header) + " |",
           "|" + "|".join("---" for _ in header) + "|"]
    for r in rows:
        out.append("| " + " | ".join(fmt(v) for v in r) + " |")
    return "\n".join(out)


def environment():
    env = []
    try:
        env.append(("PostgreSQL", psql("SHOW server_version;\n").strip()))
        env.append(("automl", psql("SELECT extversion FROM pg_extension "
                                   "WHERE extname = 'automl';\n").strip() or "?"))
    except PsqlError:
        pass
    env.append(("scikit-learn", sklearn.__version__))
    env.append(("numpy", np.__version__))
    env.append(("Python", platform.python_version()))
    env.append(("CPUs (nproc)", str(os.cpu_count())))
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    env.append(("CPU", cpu))
    return env


def report(results, errors, args):
    diff_hdr = ["dataset", "task", "rows", "features", "Δ mean", "Δ scale",
                "Δ coef", "Δ intercept", "Δ pred", "pred vs summary"]
    diff_rows = [[r["dataset"], r["task"], r["n"], r["p"], r["d_mean"], r["d_scale"],
                  r["d_coef"], r["d_int"], r["d_pred"], r["d_serve"]] for r in results]
    opt_hdr = ["dataset", "objective at optimum", "excess: automl", "excess: scikit-learn",
               "max gradient: automl", "max gradient: scikit-learn",
               "Δ coef: automl", "Δ coef: scikit-learn", "Δ pred: automl",
               "Δ pred: scikit-learn", "worst rel. (automl)", "within tol"]
    opt_rows = [[r["dataset"], r["f_opt"], r["f_ours"] - r["f_opt"], r["f_sk"] - r["f_opt"],
                 r["g_ours"], r["g_sk"], r["o_coef"], r["sk_o_coef"], r["o_pred"],
                 r["sk_o_pred"], r["rel_worst"], "yes" if r["ok"] else "NO"]
                for r in results]
    met_hdr = ["dataset", "metric (training set)", "automl", "scikit-learn", "abs. difference"]
    met_rows = []
    for r in results:
        for k in r["m_sk"]:
            met_rows.append([r["dataset"], k, r["m_ours"][k], r["m_sk"][k],
                             abs(r["m_ours"][k] - r["m_sk"][k])])
    time_hdr = ["dataset", "automl model", "hyperparams (catalog)", "scikit-learn reference",
                "holdout score (catalog)", "automl_train wall s (incl. psql)", "train_seconds (catalog)",
                "scikit-learn fit s"]
    time_rows = [[r["dataset"], "%s%s@%d" % (args.prefix, r["dataset"], r["version"]),
                  json.dumps(r["hyperparams"], sort_keys=True), r["reference"], r["holdout"],
                  r["automl_seconds"], r["automl_train_seconds"], r["sklearn_seconds"]]
                 for r in results]

    lines = ["# automl vs scikit-learn: linear models", "",
             "Generated by `bench/compare_sklearn.py` on %s." % time.strftime("%Y-%m-%d %H:%M:%S %Z"),
             "", md_table(["component", "version"], environment()), "",
             "Both sides fit on all rows. Every Δ is a maximum absolute difference. Δ mean and Δ scale compare the standardization "
             "(mean, population std); Δ coef and Δ intercept compare the coefficients in "
             "the standardized feature space (multinomial intercepts are centred first: "
             "they are defined up to a common constant). Δ pred compares `automl_predict` "
             "(regression value, binary P(positive class)) or `automl_predict_proba` "
             "(multiclass) with scikit-learn on every row; pred vs summary compares "
             "automl's predictions with those recomputed in Python from the catalog "
             "summary.", "",
             "## Differences from scikit-learn", "",
             "Reference: %s." % REFERENCE, "", md_table(diff_hdr, diff_rows), "",
             "## Distance to the exact optimum", "",
             "lbfgs stops on a small relative decrease of the objective, often with a "
             "gradient near 1e-4, so its own error can dominate the differences above. "
             "Here both solutions are measured against the exact optimum of the shared "
             "objective (Newton's method from scikit-learn's solution, run to machine "
             "precision): excess objective, largest gradient component, and Δ of the "
             "coefficients and predictions. `worst rel.` is automl's largest difference "
             "from the optimum (or from scikit-learn's standardization, or between its "
             "predictions and its own summary) divided by max(1, largest magnitude of the "
             "reference values); within tol means at most %g." % args.tol, "",
             md_table(opt_hdr, opt_rows), "",
             "## Training-set metrics", "", md_table(met_hdr, met_rows), "",
             "## Models and times", "", md_table(time_hdr, time_rows), ""]
    write_report(lines, errors, args.out)


def write_report(lines, errors, out):
    """Prints the report (lines, then errors as (dataset, message)) and writes it to out."""
    if errors:
        lines = lines + ["## Errors", ""] + ["- %s: %s" % e for e in errors] + [""]
    text = "\n".join(lines)
    print(text)
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    with open(out, "w") as f:
        f.write(text)
    print("written to %s" % out, file=sys.stderr)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=DEFAULT_DATA,
                    help="folder holding phoneme.csv (default: %(default)s)")
    ap.add_argument("--datasets", default=",".join(DATASETS),
                    help="comma-separated subset of %(default)s")
    ap.add_argument("--out", default=DEFAULT_OUT, help="markdown output (default: %(default)s)")
    ap.add_argument("--prefix", default="bench_",
                    help="prefix of the tables and model names (default: %(default)s)")
    ap.add_argument("--tol", type=float, default=1e-4,
                    help="largest accepted relative difference (default: %(default)g)")
    ap.add_argument("--keep", action="store_true", help="keep the data tables")
    ap.add_argument("--json", default="", help="machine-readable results (for bench/report.py)")
    args = ap.parse_args()
    measured = benchlib.Measured()

    try:
        if psql("SELECT count(*) FROM pg_proc WHERE proname = 'automl_train';\n").strip() == "0":
            psql("CREATE EXTENSION automl;\n")
    except PsqlError as e:
        raise SystemExit("cannot use the automl extension: %s" % e)

    names = [d.strip() for d in args.datasets.split(",") if d.strip()]
    unknown = [d for d in names if d not in DATASETS]
    if unknown:
        ap.error("unknown dataset(s) %s; known: %s" % (", ".join(unknown), ", ".join(DATASETS)))

    results, errors = [], []
    for name in names:
        print("== %s" % name, file=sys.stderr)
        try:
            results.append(run_one(name, args))
        except (PsqlError, OSError, RuntimeError, ValueError, KeyError, TypeError,
                IndexError) as e:
            errors.append((name, str(e).replace("\n", " ")))
            print("   failed: %s" % e, file=sys.stderr)
        finally:
            if not args.keep:
                try:
                    psql("DROP TABLE IF EXISTS %s;\n" % ident(args.prefix + name))
                except PsqlError:
                    pass
    report(results, errors, args)
    benchlib.write_json(args.json, "compare_sklearn", measured,
                        {"datasets": names, "tol": args.tol, "reference": REFERENCE,
                         "environment": dict(environment())},
                        results, errors)
    return 0 if results and not errors and all(r["ok"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
