#!/usr/bin/python3
"""Time-budgeted automl against XGBoost, scikit-learn and a random search over XGBoost.

For each dataset of the shared AMLB folder (../shared/bench/data: adult,
bank_marketing, credit_g, phoneme, kc1, australian, vehicle, cmc, diamonds,
boston) the rows are split once into a training and a test part (adult: its
own files; classification: a stratified 80/20 split; regression: a plain
80/20 split; seeded by --seed), the same split for every system and seed,
loaded into tables <prefix><name>_train and <prefix><name>_test, and, in the
same run, once per seed of --seeds (default: --seed alone):

  * automl: automl_train('<prefix><name>', '<prefix><name>_train', '<target>',
    task => ..., time_budget => --budget, seed => <seed>), timed (wall); the
    test table is scored in SQL with automl_predict (binary: probability of the
    model's second class; regression) or automl_predict_proba (multiclass);
  * XGBoost 1.7 at default settings (tree_method='hist', n_jobs=2,
    random_state=<seed>), text columns one-hot encoded, numeric missing values
    as NaN;
  * scikit-learn 1.2 HistGradientBoosting at default settings
    (random_state=<seed>), text columns ordinal-encoded and declared
    categorical_features;
  * a random search over XGBoost seeded by <seed>, in a FLAML-like space with
    the same time budget: each configuration early-stopped on an inner 20 %
    holdout of the training part, the best refitted on the whole training part
    with its early-stopped number of trees.

Metric on the same test rows: ROC AUC (binary; positive class = the second
class in sorted order), log loss (multiclass), RMSE (regression), next to the
AMLB reference figures of bench/anchors.json; per system the mean over the
seeds and the smallest and largest. With --budgets and --curve-datasets it also
runs automl and the random search at several budgets (every seed).

It talks to PostgreSQL by running psql (PGHOST, PGPORT, ...) and needs numpy,
scikit-learn and xgboost: run it with Debian's /usr/bin/python3.

    /usr/bin/python3 bench/search_benchmark.py [--datasets a,b] [--budget 60] [--seeds 0,1,2]
        [--budgets 10,30,60,300] [--curve-datasets adult,diamonds] [--skip-curve] [--json F]

The results are printed and written as markdown to
bench/results/search_benchmark.md (--out), and as JSON to --json. The exit status is 1 when a system failed
on a dataset, 0 otherwise.
"""

import argparse
import json
import math
import os
import re
import sys
import time

import numpy as np
import xgboost
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.impute import SimpleImputer
from sklearn.metrics import log_loss, mean_squared_error, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import LabelEncoder, OneHotEncoder, OrdinalEncoder

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare_sklearn import (DEFAULT_DATA, REPO, PsqlError, build_id, environment,  # noqa: E402
                             ident, lit, md_table, psql, write_report)
from compare_categorical import (load_table, numeric_and_text, psql_notices,  # noqa: E402
                                 split_dataset)
import benchlib  # noqa: E402

DEFAULT_OUT = os.path.join(REPO, "bench", "results", "search_benchmark.md")
_SRC = benchlib.anchors()["sources"]["shared_bench_readme"]
AMLB_SOURCE = "%s, %s (%s %s)" % (_SRC["file"], _SRC["where"], _SRC["as_stated"], _SRC["caveat"])

# name: file(s), target, task, literal spelling of a missing value; the AMLB figures
# are in bench/anchors.json
DATASETS = {
    "adult": {"train": "adult_train.csv", "test": "adult_test.csv", "target": "class",
              "task": "binary", "na": "NA"},
    "bank_marketing": {"file": "bank_marketing.csv", "target": "Class", "task": "binary"},
    "credit_g": {"file": "credit_g.csv", "target": "class", "task": "binary"},
    "phoneme": {"file": "phoneme.csv", "target": "Class", "task": "binary"},
    "kc1": {"file": "kc1.csv", "target": "Class", "task": "binary"},
    "australian": {"file": "australian.csv", "target": "A15_class", "task": "binary"},
    "vehicle": {"file": "vehicle.csv", "target": "Class", "task": "multiclass"},
    "cmc": {"file": "cmc.csv", "target": "y", "task": "multiclass"},
    "diamonds": {"file": "diamonds.csv", "target": "price", "task": "regression"},
    "boston": {"file": "boston.csv", "target": "medv", "task": "regression"},
}
ORDER = list(DATASETS)
METRIC = {"binary": "ROC AUC ↑", "multiclass": "log loss ↓", "regression": "RMSE ↓"}
HIGHER_IS_BETTER = {"binary": True, "multiclass": False, "regression": False}
XGB_EVAL_METRIC = {"binary": "auc", "multiclass": "mlogloss", "regression": "rmse"}
EARLY_STOPPING_ROUNDS = 20
REFIT_FACTOR_FIRST = 2.25   # a config may use at most remaining / 2.25: its refit (~1.25x) fits too


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def secs(x):
    return "-" if x is None else "%.1f" % x


def num(x):
    """A score for the report (a string, so that md_table prints it as is)."""
    if x is None:
        return "-"
    if isinstance(x, str):
        return x
    if isinstance(x, int):
        return str(x)
    if x != x:
        return "-"
    a = abs(x)
    if a >= 100:
        return "%.1f" % x
    if a >= 10:
        return "%.2f" % x
    return "%.4f" % x


def budget_sql(b):
    return repr(float(b))


# --------------------------------------------------------------------------
# data

def sorted_classes(labels):
    """Classes in sorted order: numbers by value, otherwise byte-wise (as automl sorts them)."""
    labs = sorted(set(labels))
    try:
        return sorted(labs, key=float)
    except ValueError:
        return labs


def load_split(name, args):
    return split_dataset(name, DATASETS[name], args.data, args.seed)



class Prepared:
    """The split as matrices for the Python systems, and the labels."""

    def __init__(self, split, task):
        self.task = task
        self.num_tr, self.cat_tr = numeric_and_text(split, split.train)
        self.num_te, self.cat_te = numeric_and_text(split, split.test)
        self.ytr = split.labels(split.train)
        self.yte = split.labels(split.test)
        self.classes = None if task == "regression" else sorted_classes(self.ytr)
        if task != "regression" and set(self.yte) - set(self.classes):
            raise ValueError("test labels %s are not in the training part"
                             % sorted(set(self.yte) - set(self.classes)))

    def onehot(self):
        """XGBoost's inputs: numeric passthrough (NaN kept), text one-hot encoded, dense."""
        n_num, n_cat = self.num_tr.shape[1], self.cat_tr.shape[1]
        if not n_cat:
            return self.num_tr, self.num_te
        enc = ColumnTransformer([
            ("num", "passthrough", list(range(n_num))),
            ("cat", Pipeline([("impute", SimpleImputer(strategy="constant",
                                                       fill_value="(missing)")),
                              ("onehot", OneHotEncoder(handle_unknown="ignore",
                                                       sparse_output=False))]),
             list(range(n_num, n_num + n_cat)))])
        Xtr = enc.fit_transform(np.hstack([self.num_tr.astype(object), self.cat_tr]))
        Xte = enc.transform(np.hstack([self.num_te.astype(object), self.cat_te]))
        return Xtr.astype(np.float64), Xte.astype(np.float64)

    def encoded_labels(self):
        """Training labels as 0..K-1 (LabelEncoder) and the permutation to self.classes."""
        le = LabelEncoder().fit(self.ytr)
        perm = [list(le.classes_).index(c) for c in self.classes]
        return le.transform(self.ytr), perm


def score(task, y, pred, classes):
    """binary: pred = P(classes[1]); multiclass: columns in `classes` order; regression: values."""
    if task == "regression":
        y = np.array([float(v) for v in y])
        return math.sqrt(mean_squared_error(y, pred))
    if task == "binary":
        return roc_auc_score((np.asarray(y) == classes[1]).astype(int), pred)
    P = np.clip(np.asarray(pred, dtype=float), 1e-15, 1.0)
    P = P / P.sum(axis=1, keepdims=True)
    return log_loss(list(y), P, labels=list(classes))


def better(task, a, b):
    """Is score a at least as good as score b?"""
    return a >= b if HIGHER_IS_BETTER[task] else a <= b


# --------------------------------------------------------------------------
# automl

def run_automl(split, task, model, train_table, test_table, budget, args, classes, seed):
    sql_task = "regression" if task == "regression" else "classification"
    argl = [lit(model), lit(train_table), lit(split.target), "task => %s" % lit(sql_task)]
    if not args.no_budget:
        argl.append("time_budget => %s" % budget_sql(budget))
    argl.append("seed => %d" % seed)
    if args.automl_extra:
        argl.append(args.automl_extra)
    call = "automl_train(%s)" % ", ".join(argl)
    # Seeds and budgets train versions of one name; each is scored by its own version, so
    # no deployment decision is needed, and none is timed: automatic deployment off
    # (deciding would refit the deployed version's configuration after the search).
    sql = ("DO $$ BEGIN IF EXISTS (SELECT 1 FROM automl.registry WHERE name = %s) THEN "
           "PERFORM automl_set_policy(%s, auto_deploy => false); END IF; END $$;\n"
           "SELECT version, algorithm FROM %s;\n" % (lit(model), lit(model), call))
    t0 = time.perf_counter()
    out, notices = psql_notices(sql)
    wall = time.perf_counter() - t0
    version, algorithm = out.strip().splitlines()[-1].split("\t")[:2]
    version = int(version)
    q = ("SELECT json_build_object('train_seconds', train_seconds, 'metric', metric, "
         "'score', score, 'hyperparams', hyperparams, 'classes', classes, "
         "'calibration', calibration->>'method', 'options', options)::text "
         "FROM automl.models WHERE name = %s AND version = %d;\n" % (lit(model), version))
    cat = json.loads(psql(q).strip())
    try:
        trials = int(psql("SELECT count(*) FROM automl.leaderboard WHERE model = %s "
                          "AND version = %d;\n" % (lit(model), version)).strip())
    except (PsqlError, ValueError):
        trials = None
    # trials by status (ok, stopped at the time budget, failed): "completed" = ok
    try:
        by_status = {}
        for line in psql("SELECT status, count(*) FROM automl.trials WHERE name = %s "
                         "AND version = %d GROUP BY status;\n" % (lit(model), version)).splitlines():
            if line:
                k, v = line.split("\t")
                by_status[k] = int(v)
    except (PsqlError, ValueError):
        by_status = None
    ref = lit("%s@%d" % (model, version))
    tgt = ident(split.target)
    # t.*, not t: kc1 has a column named "t", which a bare t would mean instead of the row
    fn = "automl_predict_proba" if task == "multiclass" else "automl_predict"
    res = psql("SELECT %s::text, %s(%s, t.*) FROM %s t;\n" % (tgt, fn, ref, ident(test_table)))
    y, pred = [], []
    for line in res.splitlines():
        if not line:
            continue
        a, b = line.split("\t")
        y.append(a)
        pred.append([float(v) for v in b.strip("{}").split(",")] if task == "multiclass"
                    else float(b))
    pred = np.array(pred)
    if task != "regression":
        mcls = [str(c) for c in (cat.get("classes") or [])]
        if sorted(mcls) != sorted(classes):
            raise RuntimeError("automl's classes %s are not the data's %s" % (mcls, classes))
        if task == "binary":
            # automl_predict is the probability of the model's second class: check it
            chk = psql("SELECT automl_predict(%s, t.*), automl_predict_proba(%s, t.*) "
                       "FROM %s t LIMIT 20;\n" % (ref, ref, ident(test_table)))
            for line in chk.splitlines():
                p, proba = line.split("\t")
                proba = [float(v) for v in proba.strip("{}").split(",")]
                if abs(float(p) - proba[1]) > 1e-12:
                    raise RuntimeError("automl_predict (%s) is not the second class's "
                                       "probability %s" % (p, proba))
            if mcls[1] != classes[1]:
                pred = 1.0 - pred
        else:
            pred = pred[:, [mcls.index(c) for c in classes]]
    if task != "regression" and set(y) - set(classes):
        raise RuntimeError("test labels %s are not among the classes %s"
                           % (sorted(set(y) - set(classes)), classes))
    return {"version": version, "algorithm": algorithm, "wall_s": wall, "trials": trials,
            "trials_by_status": by_status, "budget": None if args.no_budget else budget,
            "seed": seed, "score": score(task, y, pred, classes), "catalog": cat, "call": call,
            "notices": [re.sub(r"^psql:<stdin>:\d+: ", "", n.strip())
                        for n in notices.splitlines() if n.strip()]}


# --------------------------------------------------------------------------
# XGBoost and HistGradientBoosting at default settings

def run_xgb_default(prep, Xtr, Xte, threads, seed):
    task = prep.task
    t0 = time.perf_counter()
    if task == "regression":
        m = xgboost.XGBRegressor(tree_method="hist", n_jobs=threads, random_state=seed)
        m.fit(Xtr, prep.ytr.astype(float))
        pred = m.predict(Xte)
    else:
        y, perm = prep.encoded_labels()
        m = xgboost.XGBClassifier(tree_method="hist", n_jobs=threads, random_state=seed)
        m.fit(Xtr, y)
        P = m.predict_proba(Xte)[:, perm]
        pred = P[:, 1] if task == "binary" else P
    fit_s = time.perf_counter() - t0
    return {"score": score(task, prep.yte, pred, prep.classes), "fit_s": fit_s}


def run_hgb_default(prep, seed):
    task = prep.task
    n_num, n_cat = prep.num_tr.shape[1], prep.cat_tr.shape[1]
    t0 = time.perf_counter()
    if n_cat:
        oe = OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=np.nan)
        Htr = np.hstack([prep.num_tr, oe.fit_transform(prep.cat_tr).astype(np.float64)])
        Hte = np.hstack([prep.num_te, oe.transform(prep.cat_te).astype(np.float64)])
        catmask = [False] * n_num + [True] * n_cat
    else:
        Htr, Hte, catmask = prep.num_tr, prep.num_te, None
    if task == "regression":
        h = HistGradientBoostingRegressor(categorical_features=catmask, random_state=seed)
        h.fit(Htr, prep.ytr.astype(float))
        pred = h.predict(Hte)
    else:
        h = HistGradientBoostingClassifier(categorical_features=catmask, random_state=seed)
        h.fit(Htr, prep.ytr)
        P = h.predict_proba(Hte)[:, [list(h.classes_).index(c) for c in prep.classes]]
        pred = P[:, 1] if task == "binary" else P
    fit_s = time.perf_counter() - t0
    return {"score": score(task, prep.yte, pred, prep.classes), "fit_s": fit_s,
            "iterations": int(h.n_iter_)}


# --------------------------------------------------------------------------
# XGBoost random search with a time budget

class Deadline(xgboost.callback.TrainingCallback):
    """Stops boosting once the clock passes the deadline (the trees so far are kept)."""

    def __init__(self, deadline):
        super().__init__()
        self.deadline = deadline
        self.hit = False

    def after_iteration(self, model, epoch, evals_log):
        if time.perf_counter() >= self.deadline:
            self.hit = True
            return True
        return False


def log_uniform(rng, lo, hi):
    return float(math.exp(rng.uniform(math.log(lo), math.log(hi))))


def sample_config(rng):
    """A FLAML-like XGBoost configuration (leaf-wise growth, max_leaves instead of depth)."""
    return {
        "n_estimators": int(round(log_uniform(rng, 4, 2000))),
        "learning_rate": log_uniform(rng, 1 / 1024, 1.0),
        "max_leaves": int(round(log_uniform(rng, 4, 1024))),
        "min_child_weight": log_uniform(rng, 0.001, 128),
        "subsample": float(rng.uniform(0.6, 1.0)),
        "colsample_bytree": float(rng.uniform(0.5, 1.0)),
        "reg_alpha": log_uniform(rng, 1 / 1024, 1024),
        "reg_lambda": log_uniform(rng, 1 / 1024, 1024),
    }


def xgb_model(task, cfg, threads, **extra):
    cls = xgboost.XGBRegressor if task == "regression" else xgboost.XGBClassifier
    return cls(tree_method="hist", grow_policy="lossguide", max_depth=0, n_jobs=threads,
               random_state=0, **cfg, **extra)


def predict(task, m, X, n_trees, perm=None):
    """Predictions of the first n_trees rounds; perm reorders the class columns."""
    if task == "regression":
        return m.predict(X, iteration_range=(0, n_trees))
    P = m.predict_proba(X, iteration_range=(0, n_trees))
    if perm is not None:
        P = P[:, perm]
    return P[:, 1] if task == "binary" else P


def run_xgb_search(prep, budget, threads, seed):
    """Random search within `budget` seconds of wall time, encoding and refit included.

    Before each configuration: stop if elapsed + the best's estimated refit time reaches
    the budget. A configuration may run until now + min(remaining - refit estimate of the
    best, remaining / 2.25) (so that its own refit, about 1.25 times its fit, fits too);
    past that it is cut (a Deadline callback) and scored with the trees it has.
    """
    task = prep.task
    start = time.perf_counter()
    end = start + budget
    Xtr, Xte = prep.onehot()
    if task == "regression":
        y = prep.ytr.astype(float)
        perm = None
    else:
        y, perm = prep.encoded_labels()
    inner_classes = None if task == "regression" else list(range(len(prep.classes)))
    Xa, Xb, ya, yb = train_test_split(Xtr, y, test_size=0.2, random_state=seed,
                                      stratify=None if task == "regression" else y)
    ratio = len(y) / len(ya)
    rng = np.random.default_rng(seed)
    best = None
    configs = cut = 0
    while True:
        now = time.perf_counter()
        remaining = end - now
        reserve = best["refit_est"] if best else 0.0
        if remaining - reserve <= 0 or remaining / REFIT_FACTOR_FIRST <= 0.05:
            break
        cfg = sample_config(rng)
        cb = Deadline(now + min(remaining - reserve, remaining / REFIT_FACTOR_FIRST))
        m = xgb_model(task, cfg, threads, eval_metric=XGB_EVAL_METRIC[task],
                      early_stopping_rounds=EARLY_STOPPING_ROUNDS, callbacks=[cb])
        t0 = time.perf_counter()
        m.fit(Xa, ya, eval_set=[(Xb, yb)], verbose=False)
        fit_s = time.perf_counter() - t0
        configs += 1
        cut += cb.hit
        built = m.get_booster().num_boosted_rounds()
        try:
            n_trees = int(m.best_iteration) + 1
        except AttributeError:
            n_trees = built
        n_trees = max(1, min(n_trees, built))
        hold = score(task, yb, predict(task, m, Xb, n_trees), inner_classes)
        if not math.isfinite(hold):
            continue
        if best is None or (hold > best["holdout"] if HIGHER_IS_BETTER[task]
                            else hold < best["holdout"]):
            best = {"config": cfg, "holdout": hold, "n_trees": n_trees,
                    "refit_est": fit_s * ratio * n_trees / max(built, 1)}
    if best is None:
        raise RuntimeError("the budget of %gs left no time for a single configuration" % budget)
    search_s = time.perf_counter() - start
    cfg = dict(best["config"], n_estimators=best["n_trees"])
    m = xgb_model(task, cfg, threads)
    t0 = time.perf_counter()
    m.fit(Xtr, y)
    refit_s = time.perf_counter() - t0
    pred = predict(task, m, Xte, best["n_trees"], perm)
    return {"score": score(task, prep.yte, pred, prep.classes), "configs": configs, "cut": cut,
            "wall_s": time.perf_counter() - start, "search_s": search_s, "refit_s": refit_s,
            "refit_est": best["refit_est"], "holdout": best["holdout"], "config": cfg}


# --------------------------------------------------------------------------

def guarded(res, key, fn, errors, label):
    """Runs fn() into res[key]; a failure is recorded and reported, not raised."""
    try:
        res[key] = fn()
        return True
    except (PsqlError, OSError, RuntimeError, ValueError, KeyError, TypeError, IndexError,
            xgboost.core.XGBoostError) as e:
        msg = "%s: %s: %s" % (label, type(e).__name__, str(e).replace("\n", " "))
        errors.append((res["dataset"], msg))
        res.setdefault("failed", []).append(label)
        log("   %s failed: %s" % (label, str(e).replace("\n", " ")))
        return False


def spread(values):
    """mean, min, max, population std and count of the numbers among values (None left out)."""
    v = [float(x) for x in values if x is not None]
    if not v:
        return None
    m = sum(v) / len(v)
    return {"mean": m, "min": min(v), "max": max(v),
            "std": math.sqrt(sum((x - m) ** 2 for x in v) / len(v)), "n": len(v)}


def summarise(runs, task):
    """Per system: the spread of the test scores over the seeds; automl against the search."""
    out = {}
    for key in ("automl", "xgb", "hgb", "search"):
        out[key] = spread(r[key]["score"] for r in runs if r.get(key))
    out["automl_wall_s"] = spread(r["automl"]["wall_s"] for r in runs if r.get("automl"))
    out["automl_trials"] = spread(r["automl"]["trials"] for r in runs if r.get("automl"))
    out["automl_trials_ok"] = spread((r["automl"].get("trials_by_status") or {}).get("ok", 0)
                                     for r in runs if r.get("automl")
                                     and r["automl"].get("trials_by_status") is not None)
    out["search_configs"] = spread(r["search"]["configs"] for r in runs if r.get("search"))
    pairs = [(r["automl"]["score"], r["search"]["score"]) for r in runs
             if r.get("automl") and r.get("search")]
    out["seeds_paired"] = len(pairs)
    out["seeds_at_or_above_search"] = sum(better(task, a, s) for a, s in pairs)
    a, s = out["automl"], out["search"]
    out["mean_at_or_above_search"] = (better(task, a["mean"], s["mean"])
                                      if a and s and len(pairs) == min(a["n"], s["n"]) else None)
    return out


def run_dataset(name, args, errors, curve_budgets):
    spec = DATASETS[name]
    task = spec["task"]
    model = args.prefix + name
    train_table, test_table = model + "_train", model + "_test"
    res = {"dataset": name, "task": task, "runs": [], "curve": [],
           "amlb": {"best": benchlib.amlb(name), "tuned_rf": benchlib.amlb(name, "tuned_rf")}}
    split = load_split(name, args)
    prep = Prepared(split, task)
    res.update(n_train=len(split.train), n_test=len(split.test), n_numeric=len(split.numeric),
               n_text=len(split.categorical), n_missing=split.n_missing(),
               classes=prep.classes)
    log("   %d / %d rows, %d numeric + %d text columns, %d missing values%s"
        % (len(split.train), len(split.test), len(split.numeric), len(split.categorical),
           split.n_missing(), ", classes %s" % prep.classes if prep.classes else ""))
    try:
        load_table(split, train_table, split.train)
        load_table(split, test_table, split.test)
        loaded = True
    except (PsqlError, OSError, RuntimeError) as e:
        errors.append((name, "loading: %s" % str(e).replace("\n", " ")))
        res.setdefault("failed", []).append("loading")
        log("   loading failed: %s" % e)
        loaded = False

    def automl(b, seed):
        return run_automl(split, task, model, train_table, test_table, b, args, prep.classes,
                          seed)

    Xtr, Xte = prep.onehot()
    for seed in args.seed_list:
        run = {"dataset": name, "seed": seed}
        tag = " (seed %d)" % seed
        if loaded and guarded(run, "automl", lambda: automl(args.budget, seed), errors,
                              "automl" + tag):
            a = run["automl"]
            log("   seed %d: automl %s: %.6g in %.1f s (%s@%d, %s, trials %s)"
                % (seed, METRIC[task], a["score"], a["wall_s"], model, a["version"],
                   a["algorithm"], a["trials"]))
        if guarded(run, "xgb", lambda: run_xgb_default(prep, Xtr, Xte, args.threads, seed),
                   errors, "XGBoost default" + tag):
            log("   seed %d: XGBoost default: %.6g (%.1f s)"
                % (seed, run["xgb"]["score"], run["xgb"]["fit_s"]))
        if guarded(run, "hgb", lambda: run_hgb_default(prep, seed), errors,
                   "HGB default" + tag):
            log("   seed %d: HGB default: %.6g (%.1f s)"
                % (seed, run["hgb"]["score"], run["hgb"]["fit_s"]))
        if guarded(run, "search", lambda: run_xgb_search(prep, args.budget, args.threads, seed),
                   errors, "XGBoost search" + tag):
            s = run["search"]
            log("   seed %d: XGBoost random search (%gs): %.6g, %d configs, %.1f s"
                % (seed, args.budget, s["score"], s["configs"], s["wall_s"]))
        res["runs"].append(run)
        if run.get("failed"):
            res.setdefault("failed", []).extend(run["failed"])
    res["summary"] = summarise(res["runs"], task)

    # the budget curve: automl and the search at other budgets, every seed
    for b in curve_budgets:
        pts = []
        for seed in args.seed_list:
            pt = {"budget": b, "dataset": name, "seed": seed}
            main = next(r for r in res["runs"] if r["seed"] == seed)
            if b == args.budget:    # the main run is this point: reuse it
                pt["automl"], pt["search"], pt["reused"] = main.get("automl"), main.get("search"), True
            else:
                tag = " (budget %g, seed %d)" % (b, seed)
                if loaded and guarded(pt, "automl", lambda: automl(b, seed), errors,
                                      "automl" + tag):
                    log("   curve %gs seed %d: automl %.6g in %.1f s, trials %s"
                        % (b, seed, pt["automl"]["score"], pt["automl"]["wall_s"],
                           pt["automl"]["trials"]))
                if guarded(pt, "search", lambda: run_xgb_search(prep, b, args.threads, seed),
                           errors, "XGBoost search" + tag):
                    log("   curve %gs seed %d: XGBoost search %.6g, %d configs, %.1f s"
                        % (b, seed, pt["search"]["score"], pt["search"]["configs"],
                           pt["search"]["wall_s"]))
                if pt.get("failed"):
                    res.setdefault("failed", []).extend(pt["failed"])
            pts.append(pt)
        res["curve"].append({"budget": b, "points": pts, "reused": b == args.budget,
                             "summary": summarise(pts, task)})
    if not args.keep and loaded:
        try:
            psql("DROP TABLE IF EXISTS %s, %s;\n" % (ident(train_table), ident(test_table)))
        except PsqlError:
            pass
    return res


# --------------------------------------------------------------------------
# report

def sc(d, key="score"):
    return d.get(key) if d else None


def verdict(task, a, s):
    """yes/NO and by how much automl is better (+) or worse (-) than the search."""
    if a is None or s is None:
        return "-"
    d = a - s if HIGHER_IS_BETTER[task] else s - a
    return "%s (%s%s)" % ("yes" if better(task, a, s) else "NO", "+" if d >= 0 else "",
                          num(d))


def ms(sp):
    """mean (min–max) of a spread; the value alone for one seed; FAILED for none."""
    if sp is None:
        return "FAILED"
    if sp["n"] == 1 or sp["min"] == sp["max"]:
        return num(sp["mean"]) + ("" if sp["n"] == 1 else " (all %d)" % sp["n"])
    return "%s (%s–%s)" % (num(sp["mean"]), num(sp["min"]), num(sp["max"]))


def report(results, args, build_start):
    so, commit = build_id()
    env = environment() + [("XGBoost", xgboost.__version__), ("automl.so installed", so),
                           ("checkout at run time", commit)]
    if build_start[0] != so:
        env.append(("WARNING", "automl.so changed during the run (was %s)" % build_start[0]))
    b = "%g s" % args.budget
    nseeds = len(args.seed_list)
    hdr = ["dataset", "metric", "automl", "automl s (max)", "trials: all / ok (mean)",
           "XGB default", "HGB default", "XGB random search (%s)" % b, "AMLB best",
           "AMLB tuned RF", "automl ≥ XGB search (means)", "seeds automl ≥ search"]
    rows = []
    for r in results:
        sm = r.get("summary") or {}
        a, s = sm.get("automl"), sm.get("search")
        rows.append([r["dataset"], METRIC[r["task"]], ms(a),
                     secs(sm["automl_wall_s"]["max"]) if sm.get("automl_wall_s") else "-",
                     "%s / %s" % (num(sm["automl_trials"]["mean"]) if sm.get("automl_trials") else "-",
                                  num(sm["automl_trials_ok"]["mean"]) if sm.get("automl_trials_ok") else "-"),
                     ms(sm.get("xgb")), ms(sm.get("hgb")), ms(s),
                     benchlib.amlb(r["dataset"]), benchlib.amlb(r["dataset"], "tuned_rf"),
                     verdict(r["task"], a["mean"] if a else None, s["mean"] if s else None),
                     "%d of %d" % (sm.get("seeds_at_or_above_search", 0), sm.get("seeds_paired", 0))])
    det_hdr = ["dataset", "seed", "rows train / test", "columns numeric + text",
               "automl model", "automl", "automl s", "automl algorithm", "trials (by status)",
               "automl validation (catalog)", "automl train_seconds", "XGB default (fit s)",
               "HGB default (fit s, iterations)", "XGB search", "XGB search configs (cut)",
               "XGB search s (refit s)", "XGB search best config"]
    det = []
    for r in results:
        for run in r.get("runs", []):
            a, s, x, h = run.get("automl"), run.get("search"), run.get("xgb"), run.get("hgb")
            c = a["catalog"] if a else {}
            det.append([r["dataset"], run["seed"], "%d / %d" % (r["n_train"], r["n_test"]),
                        "%d + %d" % (r["n_numeric"], r["n_text"]),
                        "%s%s@%d" % (args.prefix, r["dataset"], a["version"]) if a else "FAILED",
                        num(sc(a)), secs(sc(a, "wall_s")), sc(a, "algorithm") or "-",
                        "%s %s" % (a["trials"], json.dumps(a.get("trials_by_status"), sort_keys=True))
                        if a else "-",
                        "%s=%s" % (c.get("metric"), num(c.get("score"))) if a else "-",
                        secs(c.get("train_seconds")) if a else "-",
                        "%s (%s)" % (num(sc(x)), secs(sc(x, "fit_s"))) if x else "FAILED",
                        "%s (%s, %d)" % (num(sc(h)), secs(h["fit_s"]), h["iterations"]) if h else "FAILED",
                        num(sc(s)) if s else "FAILED",
                        "%d (%d)" % (s["configs"], s["cut"]) if s else "-",
                        "%.1f (%.1f)" % (s["wall_s"], s["refit_s"]) if s else "-",
                        "`%s`" % json.dumps({k: (round(v, 4) if isinstance(v, float) else v)
                                             for k, v in s["config"].items()}) if s else "-"])
    call = next((run["automl"]["call"] for r in results for run in r.get("runs", [])
                 if run.get("automl")), None)
    lines = [
        "# automl with a time budget against XGBoost, HistGradientBoosting and an XGBoost "
        "random search", "",
        "Generated by `bench/search_benchmark.py` on %s." % time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "", md_table(["component", "version"], env), "",
        "Data: `%s`. Splits: adult its own train and test files (the test labels' trailing dot "
        "removed, `NA` as missing); other classification sets a stratified 80/20 split, "
        "regression sets a plain 80/20 split, `train_test_split(random_state=%d)`: one split, "
        "the same for every seed and every system (every system fits on the same training rows "
        "and is scored on the same test rows). Seeds %s: automl's `seed`, the random search's "
        "generator and inner split, and the defaults' `random_state`. Metric: ROC AUC (binary; "
        "positive class = the second class in sorted order), log loss (multiclass), RMSE "
        "(regression). Scores are the mean over the seeds with the smallest and largest in "
        "brackets." % (args.data, args.seed, ", ".join(str(x) for x in args.seed_list)), "",
        "- automl: `automl_train(name, '<name>_train', target, task => ..., %sseed => <seed>%s)`%s, "
        "wall time of the call through psql; test rows scored in SQL with `automl_predict` "
        "(binary: probability of the model's second class; regression) or "
        "`automl_predict_proba` (multiclass). Trials: rows of `automl.trials` for that "
        "version, all and those with status `ok`."
        % ("" if args.no_budget else "time_budget => %g, " % args.budget,
           (", " + args.automl_extra) if args.automl_extra else "",
           " (**time_budget left out: --no-budget**)" if args.no_budget else ""),
        "- XGB default: `XGBClassifier` / `XGBRegressor(tree_method='hist', n_jobs=%d, "
        "random_state=<seed>)`; text columns one-hot encoded (missing as a category, unknown "
        "levels ignored), numeric missing values NaN; labels `LabelEncoder` codes." % args.threads,
        "- HGB default: `HistGradientBoostingClassifier` / `Regressor(random_state=<seed>)`, text "
        "columns `OrdinalEncoder` codes (missing and unseen levels NaN) in "
        "`categorical_features`; OpenMP threads: %s." % (os.environ.get("OMP_NUM_THREADS")
                                                       or "all (%d)" % os.cpu_count()),
        "- XGB random search: seeded (`default_rng(<seed>)`) random configurations of "
        "`tree_method='hist', grow_policy='lossguide', max_depth=0, n_jobs=%d` with "
        "n_estimators 4–2000 (log), learning_rate 1/1024–1 (log), max_leaves 4–1024 (log), "
        "min_child_weight 0.001–128 (log), subsample 0.6–1, colsample_bytree 0.5–1, reg_alpha "
        "and reg_lambda 1/1024–1024 (log); each fitted on 80 %% of the training part with early "
        "stopping (%d rounds) on the other 20 %% and scored there with the task metric. No new "
        "configuration starts once elapsed + the best's estimated refit time reaches the "
        "budget; a configuration running past its share is cut (`cut`) and scored with its "
        "trees so far. The best is refitted on the whole training part with its early-stopped "
        "number of trees. Its time covers encoding, search and refit."
        % (args.threads, EARLY_STOPPING_ROUNDS),
        "- AMLB best / tuned RF: from %s Another split, a ceiling, not a peer." % AMLB_SOURCE, "",
        "## Test metric (budget %s, %d seed%s)" % (b, nseeds, "" if nseeds == 1 else "s"), "",
        md_table(hdr, rows), "",
        "## Every run", "",
        md_table(det_hdr, det), "",
    ]
    curve = [(r, c) for r in results for c in r.get("curve", [])]
    if curve:
        ch = ["dataset", "budget s", "automl", "automl s (max)", "trials (mean)",
              "XGB random search", "XGB search configs (mean)", "automl ≥ XGB search (means)",
              "seeds automl ≥ search"]
        crow = []
        for r, c in curve:
            sm = c["summary"]
            a, s = sm.get("automl"), sm.get("search")
            crow.append([r["dataset"], "%g%s" % (c["budget"], " (main run)" if c["reused"] else ""),
                         ms(a), secs(sm["automl_wall_s"]["max"]) if sm.get("automl_wall_s") else "-",
                         num(sm["automl_trials"]["mean"]) if sm.get("automl_trials") else "-",
                         ms(s), num(sm["search_configs"]["mean"]) if sm.get("search_configs") else "-",
                         verdict(r["task"], a["mean"] if a else None, s["mean"] if s else None),
                         "%d of %d" % (sm["seeds_at_or_above_search"], sm["seeds_paired"])])
        lines += ["## Score against the budget", "", md_table(ch, crow), ""]
    notes = [(r["dataset"], run["seed"], n) for r in results for run in r.get("runs", [])
             if run.get("automl") for n in run["automl"]["notices"]]
    if notes:
        lines += ["## automl NOTICEs", ""] + ["- %s (seed %d): `%s`" % n for n in notes] + [""]
    if call:
        lines += ["Example call: `SELECT version, algorithm FROM %s;`" % call, ""]
    return lines


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=DEFAULT_DATA, help="data folder (default: %(default)s)")
    ap.add_argument("--datasets", default=",".join(ORDER),
                    help="comma-separated subset of %(default)s")
    ap.add_argument("--budget", type=float, default=60,
                    help="time budget in seconds of the main table (default: %(default)g)")
    ap.add_argument("--budgets", default="10,30,60,300",
                    help="budgets of the curve (default: %(default)s)")
    ap.add_argument("--curve-datasets", default="adult,diamonds",
                    help="datasets of the curve (default: %(default)s)")
    ap.add_argument("--skip-curve", action="store_true", help="no budget curve")
    ap.add_argument("--seed", type=int, default=0,
                    help="seed of the split; also the one seed of the systems when --seeds is "
                         "not given (default: %(default)s)")
    ap.add_argument("--seeds", default="",
                    help="comma-separated seeds of the systems (automl's seed, the random "
                         "search's, the defaults' random_state); each dataset runs once per "
                         "seed on the same split (default: --seed)")
    ap.add_argument("--threads", type=int, default=2,
                    help="XGBoost n_jobs (default: %(default)s)")
    ap.add_argument("--automl-extra", default="",
                    help="raw SQL appended to automl_train's arguments, e.g. "
                         "\"algorithms => ARRAY['gbdt']\"")
    ap.add_argument("--no-budget", action="store_true",
                    help="leave time_budget out of the automl_train call")
    ap.add_argument("--prefix", default="search_",
                    help="prefix of the tables and model names (default: %(default)s)")
    ap.add_argument("--keep", action="store_true", help="keep the data tables")
    ap.add_argument("--out", default=DEFAULT_OUT, help="markdown output (default: %(default)s)")
    ap.add_argument("--json", default="", help="machine-readable results (for bench/report.py)")
    args = ap.parse_args()
    measured = benchlib.Measured()

    names = [d.strip() for d in args.datasets.split(",") if d.strip()]
    curve_names = [] if args.skip_curve else [d.strip() for d in args.curve_datasets.split(",")
                                               if d.strip()]
    unknown = [d for d in names + curve_names if d not in DATASETS]
    if unknown:
        ap.error("unknown dataset(s) %s; known: %s" % (", ".join(unknown), ", ".join(ORDER)))
    try:
        budgets = [float(b) for b in args.budgets.split(",") if b.strip()]
        args.seed_list = ([int(x) for x in args.seeds.split(",") if x.strip()]
                          if args.seeds else [args.seed])
    except ValueError:
        ap.error("--budgets takes numbers and --seeds integers, separated by commas")
    if len(set(args.seed_list)) != len(args.seed_list):
        ap.error("--seeds repeats a seed")
    if args.budget <= 0 or any(b <= 0 for b in budgets):
        ap.error("budgets must be positive")
    left_out = [d for d in curve_names if d not in names]
    if left_out:                # the curve runs on the curve datasets among --datasets
        log("note: no budget curve for %s (not in --datasets)" % ", ".join(left_out))

    try:
        if psql("SELECT count(*) FROM pg_proc WHERE proname = 'automl_train';\n").strip() == "0":
            psql("CREATE EXTENSION automl;\n")
    except PsqlError as e:
        raise SystemExit("cannot use the automl extension: %s" % e)
    build_start = build_id()

    results, errors = [], []
    t_all = time.perf_counter()
    for i, name in enumerate(names):
        log("== %s (%d/%d, %.0f s elapsed)" % (name, i + 1, len(names),
                                               time.perf_counter() - t_all))
        res = {"dataset": name, "task": DATASETS[name]["task"]}
        try:
            res = run_dataset(name, args, errors, budgets if name in curve_names else [])
        except (OSError, RuntimeError, ValueError, KeyError, TypeError, IndexError) as e:
            errors.append((name, "%s: %s" % (type(e).__name__, str(e).replace("\n", " "))))
            res["failed"] = ["data"]
            log("   failed: %s" % e)
        results.append(res)
    log("done in %.0f s" % (time.perf_counter() - t_all))
    write_report(report(results, args, build_start), errors, args.out)
    benchlib.write_json(args.json, "search_benchmark", measured,
                        {"datasets": names, "budget": args.budget, "no_budget": args.no_budget,
                         "curve_datasets": [d for d in curve_names if d in names],
                         "curve_budgets": budgets if curve_names else [],
                         "split_seed": args.seed, "seeds": args.seed_list,
                         "threads": args.threads, "automl_extra": args.automl_extra,
                         "data": args.data, "xgboost": xgboost.__version__,
                         "omp_threads": os.environ.get("OMP_NUM_THREADS"),
                         "early_stopping_rounds": EARLY_STOPPING_ROUNDS,
                         "amlb_source": AMLB_SOURCE, "environment": dict(environment())},
                        results, errors)
    return 1 if errors or not results else 0


if __name__ == "__main__":
    sys.exit(main())
