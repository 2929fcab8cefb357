#!/usr/bin/python3
"""Test-set accuracy of automl's gbdt learner at default settings against XGBoost and scikit-learn.

For each dataset of the shared AMLB folder (../shared/bench/data: adult,
bank_marketing, credit_g, phoneme, kc1, australian, vehicle, cmc, diamonds,
boston) the rows are split into a training and a test part (adult: its own
files; classification: a seeded, stratified 80/20 split; regression: a seeded
80/20 split), loaded into tables <prefix><name>_train and <prefix><name>_test,
and

  * automl: automl_train('<prefix><name>', '<prefix><name>_train', '<target>',
    algorithms => ARRAY['gbdt'], hyperparams => '{}', task => ...) with default hyper-parameters;
    the test table is scored with automl_predict (binary, regression) or
    automl_predict_proba (multiclass);
  * XGBoost 1.7: XGBClassifier / XGBRegressor(tree_method='hist'), otherwise
    defaults; text columns one-hot encoded (missing as its own category),
    numeric missing values left as NaN;
  * scikit-learn 1.2: HistGradientBoostingClassifier / Regressor, defaults, text
    columns ordinal-encoded and declared categorical_features.

Metric, on the same test rows: ROC AUC (binary), log loss (multiclass), RMSE
(regression). It talks to PostgreSQL by running psql (PGHOST, PGPORT, ...) and
needs numpy, scikit-learn and xgboost: run it with Debian's /usr/bin/python3.

    /usr/bin/python3 bench/gbdt_accuracy.py [--data DIR] [--datasets a,b] [--seed 42]

The results are printed and written as markdown to bench/results/gbdt_accuracy.md.
The exit status is 1 when a dataset failed, 0 otherwise.
"""

import argparse
import json
import math
import os
import sys
import time

import numpy as np
import xgboost
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.impute import SimpleImputer
from sklearn.metrics import accuracy_score, log_loss, mean_squared_error, roc_auc_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare_sklearn import (DEFAULT_DATA, REPO, PsqlError, build_id, environment,  # noqa: E402
                             ident, lit, md_table, psql, write_report)
from compare_categorical import load_table, numeric_and_text, psql_notices, split_dataset  # noqa: E402
import benchlib  # noqa: E402

DEFAULT_OUT = os.path.join(REPO, "bench", "results", "gbdt_accuracy.md")

# name: file(s), target, task, literal spelling of a missing value (AMLB figures: bench/anchors.json)
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


def fmt(x):
    if x is None:
        return "-"
    if isinstance(x, float):
        if x != x:
            return "-"
        a = abs(x)
        if a >= 1000:
            return "{:,.0f}".format(x)
        if a >= 100:
            return "%.1f" % x
        if a >= 10:
            return "%.2f" % x
        return "%.4f" % x
    if isinstance(x, int) and not isinstance(x, bool):
        return "{:,}".format(x)
    return str(x)


def table(header, rows):
    return md_table(header, [[fmt(v) for v in r] for r in rows])


# --------------------------------------------------------------------------
# data

def load_split(name, args):
    return split_dataset(name, DATASETS[name], args.data, args.seed)



# --------------------------------------------------------------------------
# automl

def run_automl(split, task, model, train_table, test_table):
    sql_task = "regression" if task == "regression" else "classification"
    sql = ("SELECT version FROM automl_train(%s, %s, %s, algorithms => ARRAY['gbdt'], hyperparams => '{}', "
           "task => %s);\n" % (lit(model), lit(train_table), lit(split.target), lit(sql_task)))
    t0 = time.perf_counter()
    out, notices = psql_notices(sql)
    wall = time.perf_counter() - t0
    version = int(out.strip().splitlines()[-1])
    q = ("SELECT json_build_object('train_seconds', train_seconds, 'options', options, "
         "'metrics', metrics, 'hyperparams', hyperparams, 'calibration', calibration->>'method', 'classes', classes, "
         "'features', features, 'rounds', summary->'rounds', 'trees', summary->'trees')::text "
         "FROM automl.models WHERE name = %s AND version = %d;\n" % (lit(model), version))
    cat = json.loads(psql(q).strip())
    ref = lit("%s@%d" % (model, version))
    tgt = ident(split.target)
    # t.*, not t: kc1 has a column named "t", which a bare t would mean instead of the row

    if task == "multiclass":
        out = psql("SELECT %s::text, automl_predict_proba(%s, t.*) FROM %s t;\n"
                   % (tgt, ref, ident(test_table)))
        y, P = [], []
        for line in out.splitlines():
            if not line:
                continue
            a, b = line.split("\t")
            y.append(a)
            P.append([float(v) for v in b.strip("{}").split(",")])
        pred = np.array(P)
    else:
        out = psql("SELECT %s::text, automl_predict(%s, t.*) FROM %s t;\n"
                   % (tgt, ref, ident(test_table)))
        y, p = [], []
        for line in out.splitlines():
            if not line:
                continue
            a, b = line.split("\t")
            y.append(a)
            p.append(float(b))
        pred = np.array(p)
    return {"version": version, "wall_s": wall, "catalog": cat, "y": np.array(y, dtype=object),
            "pred": pred, "notices": [n for n in notices.splitlines() if n.strip()]}


def class_name(c):
    """A class from automl.models.classes, spelled as the CSV spells it."""
    if isinstance(c, bool):
        return "true" if c else "false"
    if isinstance(c, float) and c.is_integer():
        return str(int(c))
    return str(c)


def score(task, y, pred, classes):
    """The dataset's metric (and accuracy for classification) of pred against labels y.

    binary: pred = P(classes[1]); multiclass: pred columns in `classes` order.
    """
    if task == "regression":
        y = np.array([float(v) for v in y])
        return {"metric": math.sqrt(mean_squared_error(y, pred))}
    if task == "binary":
        yb = (np.asarray(y) == classes[1]).astype(int)
        return {"metric": roc_auc_score(yb, pred),
                "accuracy": accuracy_score(yb, (pred >= 0.5).astype(int)),
                "log_loss": log_loss(yb, np.clip(pred, 1e-15, 1 - 1e-15), labels=[0, 1])}
    lab = np.array(classes, dtype=object)[np.argmax(pred, axis=1)]
    return {"metric": log_loss(list(y), pred, labels=list(classes)),
            "accuracy": accuracy_score(list(y), list(lab))}


# --------------------------------------------------------------------------
# peers

def run_peers(split, task, classes, threads):
    num_tr, cat_tr = numeric_and_text(split, split.train)
    num_te, cat_te = numeric_and_text(split, split.test)
    ytr = split.labels(split.train)
    yte = split.labels(split.test)
    n_num, n_cat = num_tr.shape[1], cat_tr.shape[1]
    out = {}

    # XGBoost: one-hot text columns (missing as its own category); numeric NaN stays missing
    if n_cat:
        enc = ColumnTransformer([
            ("num", "passthrough", list(range(n_num))),
            ("cat", Pipeline([("impute", SimpleImputer(strategy="constant",
                                                       fill_value="(missing)")),
                              ("onehot", OneHotEncoder(handle_unknown="ignore",
                                                       sparse_output=False))]),
             list(range(n_num, n_num + n_cat)))])
        Xtr = enc.fit_transform(np.hstack([num_tr.astype(object), cat_tr]))
        Xte = enc.transform(np.hstack([num_te.astype(object), cat_te]))
        Xtr, Xte = Xtr.astype(np.float64), Xte.astype(np.float64)
    else:
        Xtr, Xte = num_tr, num_te
    out["xgb_inputs"] = Xtr.shape[1]
    if task == "regression":
        m = xgboost.XGBRegressor(tree_method="hist", n_jobs=threads)
        t0 = time.perf_counter()
        m.fit(Xtr, ytr.astype(float))
        out["xgb_fit_s"] = time.perf_counter() - t0
        out["xgb"] = score(task, yte, m.predict(Xte), None)
    else:
        codes = {c: i for i, c in enumerate(classes)}     # automl's class order
        m = xgboost.XGBClassifier(tree_method="hist", n_jobs=threads)
        t0 = time.perf_counter()
        m.fit(Xtr, np.array([codes[c] for c in ytr]))
        out["xgb_fit_s"] = time.perf_counter() - t0
        P = m.predict_proba(Xte)
        out["xgb"] = score(task, yte, P[:, 1] if task == "binary" else P, classes)

    # HistGradientBoosting: text columns ordinal-encoded and declared categorical
    if n_cat:
        oe = OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=np.nan)
        Htr = np.hstack([num_tr, oe.fit_transform(cat_tr).astype(np.float64)])
        Hte = np.hstack([num_te, oe.transform(cat_te).astype(np.float64)])
        catmask = [False] * n_num + [True] * n_cat
    else:
        Htr, Hte, catmask = num_tr, num_te, None
    if task == "regression":
        h = HistGradientBoostingRegressor(categorical_features=catmask, random_state=0)
        t0 = time.perf_counter()
        h.fit(Htr, ytr.astype(float))
        out["hgb_fit_s"] = time.perf_counter() - t0
        out["hgb"] = score(task, yte, h.predict(Hte), None)
    else:
        h = HistGradientBoostingClassifier(categorical_features=catmask, random_state=0)
        t0 = time.perf_counter()
        h.fit(Htr, ytr)
        out["hgb_fit_s"] = time.perf_counter() - t0
        P = h.predict_proba(Hte)
        P = P[:, [list(h.classes_).index(c) for c in classes]]
        out["hgb"] = score(task, yte, P[:, 1] if task == "binary" else P, classes)
    out["hgb_iter"] = int(h.n_iter_)
    out["xgb_rounds"] = int(m.get_booster().num_boosted_rounds())
    return out


def run_one(name, args):
    spec = DATASETS[name]
    task = spec["task"]
    split = load_split(name, args)
    train_table = "%s%s_train" % (args.prefix, name)
    test_table = "%s%s_test" % (args.prefix, name)
    model = args.prefix + name
    load_table(split, train_table, split.train)
    load_table(split, test_table, split.test)
    res = {"dataset": name, "task": task, "n_train": len(split.train),
           "n_test": len(split.test), "n_numeric": len(split.numeric),
           "n_text": len(split.categorical), "amlb": benchlib.amlb(name), "error": None}
    try:
        a = run_automl(split, task, model, train_table, test_table)
        classes = None
        if task != "regression":
            classes = [class_name(c) for c in a["catalog"]["classes"]]
            if sorted(classes) != sorted(set(split.labels(split.train))):
                raise RuntimeError("automl's classes %s are not the data's %s"
                                   % (classes, sorted(set(split.labels(split.train)))))
        res["automl"] = score(task, a["y"], a["pred"], classes)
        res["automl_info"] = a
    except (PsqlError, RuntimeError, ValueError, KeyError) as e:
        res["error"] = str(e).replace("\n", " ")
        classes = sorted(set(split.labels(split.train))) if task != "regression" else None
        if task != "regression" and all(c.lstrip("-").isdigit() for c in classes):
            classes = sorted(classes, key=int)
    res.update(run_peers(split, task, classes, args.threads))
    res["classes"] = classes
    return res


# --------------------------------------------------------------------------

def amlb_source():
    src = benchlib.anchors()["sources"]["shared_bench_readme"]
    return "%s, %s (%s %s)" % (src["file"], src["where"], src["as_stated"], src["caveat"])


def report(results, args):
    so, commit = build_id()
    env = environment() + [("XGBoost", xgboost.__version__), ("automl.so installed", so),
                           ("checkout at run time", commit)]
    if args.build_start[0] != so:
        env.append(("WARNING", "automl.so changed during the run (was %s)" % args.build_start[0]))
    main_rows, detail_rows, time_rows, notes = [], [], [], []
    for r in results:
        a = r.get("automl")
        if r.get("peers_failed"):
            main_rows.append([r["dataset"], METRIC[r["task"]], "FAILED", "-", "-", r["amlb"]])
            continue
        main_rows.append([r["dataset"], METRIC[r["task"]],
                          a["metric"] if a else "FAILED", r["xgb"]["metric"],
                          r["hgb"]["metric"], r["amlb"]])
        if r["task"] != "regression":
            for k in ("accuracy", "log_loss"):
                if k in r["xgb"]:
                    detail_rows.append([r["dataset"], k.replace("_", " "),
                                        a[k] if a else None, r["xgb"][k], r["hgb"][k]])
        info = r.get("automl_info")
        if info:
            cat = info["catalog"]
            hold = cat["metrics"]
            hname = {"binary": "roc_auc", "multiclass": "log_loss", "regression": "rmse"}[r["task"]]
            time_rows.append([r["dataset"], "%d / %d" % (r["n_train"], r["n_test"]),
                              "%d + %d" % (r["n_numeric"], r["n_text"]),
                              "%s@%d" % (args.prefix + r["dataset"], info["version"]),
                              cat.get("rounds"), hold.get(hname),
                              float(cat["train_seconds"]),
                              float(cat["options"].get("refit_seconds", float("nan"))),
                              r["xgb_fit_s"], r["xgb_rounds"], r["hgb_fit_s"], r["hgb_iter"]])
            for n in info["notices"]:
                notes.append("- %s: `%s`" % (r["dataset"], n.strip()))
        else:
            time_rows.append([r["dataset"], "%d / %d" % (r["n_train"], r["n_test"]),
                              "%d + %d" % (r["n_numeric"], r["n_text"]), "-", None, None,
                              None, None, r["xgb_fit_s"], r["xgb_rounds"], r["hgb_fit_s"],
                              r["hgb_iter"]])
    hp = next((r["automl_info"]["catalog"]["hyperparams"] for r in results
               if r.get("automl_info")), {})
    lines = [
        "# automl gbdt at default settings: test accuracy against XGBoost and scikit-learn", "",
        "Generated by `bench/gbdt_accuracy.py` on %s." % time.strftime("%Y-%m-%d %H:%M:%S %Z"), "",
        table(["component", "version"], env), "",
        "Data: `%s`. Splits: adult its own train and test files (the test labels' trailing "
        "dot removed); other classification sets a stratified 80/20 split, regression sets "
        "an 80/20 split, `train_test_split(random_state=%d)`. Every learner is fitted on the "
        "same training rows and scored on the same test rows." % (args.data, args.seed), "",
        "- automl: `automl_train(name, '<name>_train', target, algorithms => ARRAY['gbdt'], hyperparams => '{}', "
        "task => ...)`, default hyper-parameters (`%s`); test rows scored in SQL with "
        "`automl_predict` (binary: probability of the second class; regression) or "
        "`automl_predict_proba` (multiclass). Histograms are built by `automl.threads` threads "
        "(default: one per core)." % json.dumps(hp, sort_keys=True),
        "- XGBoost: `XGBClassifier` / `XGBRegressor(tree_method='hist', n_jobs=%d)`, otherwise "
        "defaults (100 rounds, depth 6, eta 0.3, no early stopping); text columns one-hot "
        "encoded (missing as a category `(missing)`, unknown levels ignored), numeric missing "
        "values left as NaN." % args.threads,
        "- scikit-learn: `HistGradientBoostingClassifier` / `Regressor()` defaults (100 "
        "iterations at most, 31 leaves, rate 0.1, early stopping on 10 %% of the rows above "
        "10,000 rows, `random_state=0` so that its split is fixed), text columns `OrdinalEncoder` codes declared in "
        "`categorical_features`; %s OpenMP threads." % (os.environ.get("OMP_NUM_THREADS")
                                                      or "all (%d)" % os.cpu_count()),
        "- AMLB best: from %s — a ceiling on another split, not a peer." % amlb_source(), "",
        "## Test metric", "",
        table(["dataset", "metric", "automl", "XGBoost", "HGB", "AMLB best"], main_rows), "",
        "## Other classification metrics (same test rows)", "",
        "Accuracy at the most probable class (binary: probability ≥ 0.5).", "",
        table(["dataset", "metric", "automl", "XGBoost", "HGB"], detail_rows), "",
        "## Models and fit times", "",
        "automl: `train_seconds` (the whole call: scan, the validation fits (k-fold "
        "cross-validation on small tables, one holdout on large ones), the refit on all rows, "
        "the permutation importance (on the validated model) and calibration) and `refit_seconds` (the "
        "single fit on all rows, comparable with a peer's fit); rounds after early stopping "
        "(`summary.rounds`); validation score from the catalog's `metrics`. XGBoost: %d "
        "threads; HGB: iterations after its early stopping." % args.threads, "",
        table(["dataset", "rows train / test", "columns numeric + text", "model", "automl rounds",
               "automl validation score", "automl train_seconds", "automl refit_seconds", "XGBoost fit s",
               "XGBoost rounds", "HGB fit s", "HGB iterations"], time_rows), "",
    ]
    if notes:
        lines += ["## automl NOTICEs", ""] + notes + [""]
    write_report(lines, [(r["dataset"], r["error"]) for r in results if r["error"]], args.out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=DEFAULT_DATA, help="data folder (default: %(default)s)")
    ap.add_argument("--datasets", default=",".join(ORDER),
                    help="comma-separated subset of %(default)s")
    ap.add_argument("--seed", type=int, default=42, help="split seed (default: 42)")
    ap.add_argument("--threads", type=int, default=2, help="XGBoost n_jobs (default: 2)")
    ap.add_argument("--prefix", default="gbdt_",
                    help="prefix of the tables and model names (default: %(default)s)")
    ap.add_argument("--keep", action="store_true", help="keep the data tables")
    ap.add_argument("--out", default=DEFAULT_OUT, help="markdown output (default: %(default)s)")
    ap.add_argument("--json", default="", help="machine-readable results (for bench/report.py)")
    args = ap.parse_args()
    measured = benchlib.Measured()

    try:
        if psql("SELECT count(*) FROM pg_proc WHERE proname = 'automl_train';\n").strip() == "0":
            psql("CREATE EXTENSION automl;\n")
    except PsqlError as e:
        raise SystemExit("cannot use the automl extension: %s" % e)
    args.build_start = build_id()
    names = [d.strip() for d in args.datasets.split(",") if d.strip()]
    unknown = [d for d in names if d not in DATASETS]
    if unknown:
        ap.error("unknown dataset(s) %s; known: %s" % (", ".join(unknown), ", ".join(ORDER)))

    results, failed = [], []
    for name in names:
        print("== %s" % name, file=sys.stderr, flush=True)
        try:
            r = run_one(name, args)
            results.append(r)
            if r["error"]:
                failed.append(name)
                print("   automl failed: %s" % r["error"], file=sys.stderr)
            else:
                print("   automl %.4f  XGBoost %.4f  HGB %.4f"
                      % (r["automl"]["metric"], r["xgb"]["metric"], r["hgb"]["metric"]),
                      file=sys.stderr)
        except (PsqlError, OSError, RuntimeError, ValueError, KeyError, TypeError,
                IndexError) as e:
            failed.append(name)
            results.append({"dataset": name, "task": DATASETS[name]["task"],
                            "error": "%s: %s" % (type(e).__name__, str(e).replace("\n", " ")),
                            "amlb": benchlib.amlb(name), "peers_failed": True})
            print("   failed: %s" % e, file=sys.stderr)
        finally:
            if not args.keep:
                try:
                    psql("DROP TABLE IF EXISTS %s, %s;\n"
                         % (ident("%s%s_train" % (args.prefix, name)),
                            ident("%s%s_test" % (args.prefix, name))))
                except PsqlError:
                    pass
    report(results, args)
    for r in results:           # the test rows' labels and predictions are not figures
        info = r.get("automl_info") or {}
        info.pop("y", None)
        info.pop("pred", None)
        (info.get("catalog") or {}).pop("features", None)
    benchlib.write_json(args.json, "gbdt_accuracy", measured,
                        {"datasets": names, "seed": args.seed, "threads": args.threads,
                         "data": args.data, "xgboost": xgboost.__version__,
                         "omp_threads": os.environ.get("OMP_NUM_THREADS"),
                         "environment": dict(environment())},
                        results, [(r["dataset"], r["error"]) for r in results if r["error"]])
    return 1 if failed or not results else 0


if __name__ == "__main__":
    sys.exit(main())
