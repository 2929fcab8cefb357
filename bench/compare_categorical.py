#!/usr/bin/python3
"""Holdout ROC AUC of automl's linear learner against scikit-learn on data with text columns.

For each dataset (adult, bank_marketing, credit_g: binary targets, text
(categorical) and numeric columns, missing values in adult) the script splits
the rows into a training and a test part (adult: its own train and test
files; the others: a seeded, stratified 80/20 split), loads them into tables
<name>_train and <name>_test, trains

    automl_train('<name>', '<name>_train', '<target>', algorithms => ARRAY['linear'], hyperparams => '{}')

scores the test table with automl_predict, and fits the scikit-learn reference
on the same training rows: a ColumnTransformer (numeric: SimpleImputer(mean)
+ StandardScaler; text: SimpleImputer(constant '(missing)') +
OneHotEncoder(handle_unknown='ignore')), then LogisticRegression(C=1.0,
max_iter=5000). Both are scored by ROC AUC on the test rows.

It talks to PostgreSQL by running psql (PGHOST, PGPORT, PGUSER, PGDATABASE...
as usual) and needs only the standard library, numpy and scikit-learn.
Run it with Debian's interpreter, which has python3-sklearn:

    /usr/bin/python3 bench/compare_categorical.py [--data DIR | --small] [--datasets a,b]

The results are printed and written as markdown to
bench/results/compare_categorical.md. The exit status is 1 when a dataset
failed or when automl left some of the columns out of its model (as releases
without categorical features do with text columns), 0 otherwise.
"""

import argparse
import csv
import json
import os
import re
import subprocess
import sys
import tempfile
import time

import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare_sklearn import (DEFAULT_DATA, REPO, PsqlError, environment,  # noqa: E402
                             fmt, ident, lit, md_table, psql, write_report)
import benchlib  # noqa: E402

DEFAULT_OUT = os.path.join(REPO, "bench", "results", "compare_categorical.md")
SMALL_DATA = os.path.join(REPO, "test", "data")

# name: files (full set, --small set), target, the literal spelling a missing value has
DATASETS = {
    "adult": {
        "train": ("adult_train.csv", "adult_sample.csv"),
        "test": ("adult_test.csv", "adult_test_sample.csv"),
        "target": "class", "na": "NA",
    },
    "bank_marketing": {
        "file": ("bank_marketing.csv", "bank_sample.csv"),
        "target": "Class", "na": None,
    },
    "credit_g": {
        "file": ("credit_g.csv", "credit_g.csv"),
        "target": "class", "na": None,
    },
}
ORDER = ["adult", "bank_marketing", "credit_g"]
REFERENCE = ("ColumnTransformer(numeric: SimpleImputer(mean) + StandardScaler; text: "
             "SimpleImputer(constant '(missing)') + OneHotEncoder(handle_unknown='ignore')), "
             "then LogisticRegression(C=1.0, max_iter=5000)")


def psql_notices(sql):
    """Like psql(), but also return what the server said on stderr (NOTICEs)."""
    cmd = ["psql", "-X", "-A", "-t", "-q", "-F", "\t",
           "-v", "ON_ERROR_STOP=1", "-f", "-"]
    r = subprocess.run(cmd, input=sql, capture_output=True, text=True)
    if r.returncode != 0:
        raise PsqlError(r.stderr.strip() or "psql exited with %d" % r.returncode)
    return r.stdout, r.stderr


# --------------------------------------------------------------------------
# data

def read_csv(path):
    with open(path, newline="", encoding="utf-8-sig") as f:   # -sig: tolerate a BOM
        rows = [r for r in csv.reader(f) if r]
    header, data = rows[0], rows[1:]
    bad = [i for i, r in enumerate(data) if len(r) != len(header)]
    if bad:
        raise ValueError("%s: row %d has %d fields, the header %d"
                         % (path, bad[0] + 2, len(data[bad[0]]), len(header)))
    return header, data


def is_number(s):
    try:
        float(s)
        return True
    except ValueError:
        return False


class Split:
    """Training and test rows as lists of strings (None = missing), with column kinds."""

    def __init__(self, name, header, train, test, target, na):
        self.name = name
        self.header = header
        self.target = target
        self.t = header.index(target)

        def clean(rows):
            return [[None if (na is not None and v == na) else v for v in r] for r in rows]
        self.train, self.test = clean(train), clean(test)
        # a column is numeric when every present value parses as a number; integer when
        # every one is an integer that fits int4
        self.kinds = []
        for j in range(len(header)):
            vals = [r[j] for r in self.train + self.test if r[j] is not None]
            if vals and all(is_number(v) for v in vals):
                ints = all(float(v).is_integer() and abs(float(v)) < 2 ** 31 and
                           "." not in v and "e" not in v.lower() for v in vals)
                self.kinds.append("integer" if ints else "float8")
            else:
                self.kinds.append("text")
        self.features = [j for j in range(len(header)) if j != self.t]
        self.numeric = [j for j in self.features if self.kinds[j] != "text"]
        self.categorical = [j for j in self.features if self.kinds[j] == "text"]

    def labels(self, part):
        return np.array([r[self.t] for r in part], dtype=object)

    def n_missing(self):
        return sum(v is None for part in (self.train, self.test) for r in part for v in r)


def read_train_test(name, train_path, test_path, target):
    """A dataset given as training and test files (adult), labels spelled alike."""
    header, train = read_csv(train_path)
    h2, test = read_csv(test_path)
    if h2 != header:
        raise ValueError("%s: the test file's header differs from the training file's" % name)
    t = header.index(target)
    for r in test:              # adult's test labels end in a dot: "<=50K."
        if r[t].endswith("."):
            r[t] = r[t][:-1]
    return header, train, test


def split_dataset(name, spec, data_dir, seed):
    """One split of a dataset spec (target, task, and file or train + test files, na):
    its own test file when it has one, else a seeded 80/20 split, stratified for
    classification. Every system of a benchmark scores the same rows."""
    target = spec["target"]
    if "train" in spec:
        header, train, test = read_train_test(name, os.path.join(data_dir, spec["train"]),
                                              os.path.join(data_dir, spec["test"]), target)
    else:
        header, rows = read_csv(os.path.join(data_dir, spec["file"]))   # tolerates a BOM
        t = header.index(target)
        strat = [r[t] for r in rows] if spec["task"] != "regression" else None
        train, test = train_test_split(rows, test_size=0.2, stratify=strat, random_state=seed)
    return Split(name, header, train, test, target, spec.get("na"))


def numeric_and_text(split, rows):
    """Numeric columns as float (NaN = missing), text columns as objects (NaN = missing)."""
    num = np.array([[float(r[j]) if r[j] is not None else np.nan for j in split.numeric]
                    for r in rows], dtype=np.float64).reshape(len(rows), len(split.numeric))
    cat = np.array([[r[j] if r[j] is not None else np.nan for j in split.categorical]
                    for r in rows], dtype=object).reshape(len(rows), len(split.categorical))
    return num, cat


def load_split(name, args):
    spec = DATASETS[name]
    k = 1 if args.small else 0
    d = SMALL_DATA if args.small else args.data
    target = spec["target"]
    if "train" in spec:
        header, train, test = read_train_test(name, os.path.join(d, spec["train"][k]),
                                              os.path.join(d, spec["test"][k]), target)
    else:
        header, rows = read_csv(os.path.join(d, spec["file"][k]))
        t = header.index(target)
        y = [r[t] for r in rows]
        train, test = train_test_split(rows, test_size=0.2, stratify=y,
                                       random_state=args.seed)
    return Split(name, header, train, test, target, spec["na"])


def csv_field(v, kind):
    if v is None:
        return ""                   # unquoted empty: NULL for COPY ... (FORMAT csv)
    if kind == "text":
        return '"' + v.replace('"', '""') + '"'   # quoted: an empty string stays ''
    return v                        # the number as written in the file, parsed by the server


def load_table(split, table, rows):
    cols = ", ".join("%s %s" % (ident(c), k) for c, k in zip(split.header, split.kinds))
    with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False,
                                     encoding="utf-8") as f:
        for r in rows:
            f.write(",".join(csv_field(v, k) for v, k in zip(r, split.kinds)) + "\n")
        tmp = f.name
    try:
        psql("DROP TABLE IF EXISTS %s;\nCREATE TABLE %s (%s);\n"
             "\\copy %s FROM %s WITH (FORMAT csv)\nANALYZE %s;\n"
             % (ident(table), ident(table), cols, ident(table), lit(tmp), ident(table)))
    finally:
        os.unlink(tmp)
    n = int(psql("SELECT count(*) FROM %s;\n" % ident(table)).strip())
    if n != len(rows):
        raise RuntimeError("%s holds %d rows, %d were loaded" % (table, n, len(rows)))


# --------------------------------------------------------------------------
# automl side

def run_automl(split, model, train_table, test_table):
    out = {"error": None}
    sql = ("SELECT version, task, algorithm, metric, score "
           "FROM automl_train(%s, %s, %s, algorithms => ARRAY['linear'], hyperparams => '{}', "
           "task => 'classification');\n"
           % (lit(model), lit(train_table), lit(split.target)))
    t0 = time.perf_counter()
    try:
        stdout, stderr = psql_notices(sql)
    except PsqlError as e:
        out["error"] = "automl_train failed: %s" % str(e).replace("\n", " ")
        return out
    out["wall_seconds"] = time.perf_counter() - t0
    out["notices"] = [re.sub(r"^psql:<stdin>:\d+: ", "", line.strip())
                      for line in stderr.splitlines() if line.strip()]
    row = stdout.strip().splitlines()[-1].split("\t")
    out.update(version=int(row[0]), task=row[1], algorithm=row[2], metric=row[3],
               score=row[4])
    # the catalog row without its byte columns (its other columns may grow between releases)
    skip = psql("SELECT coalesce(string_agg(quote_literal(attname), ','), '') FROM pg_attribute "
                "WHERE attrelid = 'automl.models'::regclass AND attnum > 0 AND NOT attisdropped "
                "AND atttypid = 'bytea'::regtype;\n").strip()
    q = ("SELECT (to_jsonb(m) - ARRAY[%s]::text[])::text FROM automl.models m "
         "WHERE name = %s AND version = %d;\n" % (skip, lit(model), out["version"]))
    meta = json.loads(psql(q).strip())
    out.update(meta)
    classes = [str(c) for c in (meta.get("classes") or [])]
    if len(classes) != 2:
        out["error"] = "expected two classes in automl.models.classes, got %r" % (classes,)
        return out
    out["classes"] = classes
    out["positive"] = classes[1]

    # features the model uses: names, or objects with a name (the catalog's shape may move)
    feats = meta.get("features") or []
    names = [str(f.get("name") if isinstance(f, dict) else f) for f in feats]
    kinds = meta.get("feature_kinds")
    if isinstance(kinds, list) and len(kinds) == len(names):
        out["kinds"] = dict(zip(names, [str(k) for k in kinds]))

    def used_by_model(col):     # by name, or as the source of encoded inputs ("col=level")
        return any(n == col or (n.startswith(col) and n[len(col):len(col) + 1] in ("=", "[", ":"))
                   for n in names)
    out["used"] = [split.header[j] for j in split.features if used_by_model(split.header[j])]
    used = set(out["used"])
    out["skipped"] = [split.header[j] for j in split.features if split.header[j] not in used]

    # score the test rows with the version just trained (a later version of a name is
    # not deployed, so the plain name could serve an older one)
    ref = "%s@%d" % (model, out["version"])
    t0 = time.perf_counter()
    try:
        res = psql("SELECT %s::text, automl_predict(%s, t) FROM %s t;\n"
                   % (ident(split.target), lit(ref), ident(test_table)))
        # which class does automl_predict give? check against automl_predict_proba
        chk = psql("SELECT automl_predict(%s, t), automl_predict_proba(%s, t) FROM %s t LIMIT 20;\n"
                   % (lit(ref), lit(ref), ident(test_table)))
    except PsqlError as e:
        out["error"] = "scoring failed: %s" % str(e).replace("\n", " ")
        return out
    out["predict_seconds"] = time.perf_counter() - t0
    for line in chk.splitlines():
        p, proba = line.split("\t")
        proba = [float(x) for x in proba.strip("{}").split(",")]
        if abs(float(p) - proba[1]) > 1e-12:
            out["error"] = ("automl_predict (%s) is not the second class's probability %s"
                            % (p, proba))
            return out
    y, p = [], []
    for line in res.splitlines():
        lab, v = line.split("\t")
        y.append(lab)
        p.append(float(v))
    y = np.array(y, dtype=object)
    if set(y) - set(classes):
        out["error"] = "test labels %s are not among the model's classes %s" % (
            sorted(set(y) - set(classes)), classes)
        return out
    out["n_test"] = len(y)
    out["auc"] = roc_auc_score((y == out["positive"]).astype(int), np.array(p))
    return out


# --------------------------------------------------------------------------
# scikit-learn side

def matrices(split, part, cols):
    num = [j for j in cols if split.kinds[j] != "text"]
    cat = [j for j in cols if split.kinds[j] == "text"]
    Xn = np.array([[np.nan if r[j] is None else float(r[j]) for j in num] for r in part],
                  dtype=float).reshape(len(part), len(num))
    Xc = np.array([[np.nan if r[j] is None else r[j] for j in cat] for r in part],
                  dtype=object).reshape(len(part), len(cat))
    return np.hstack([Xn.astype(object), Xc]), len(num), len(cat)


def run_sklearn(split, positive, cols=None):
    cols = split.features if cols is None else cols
    Xtr, p_num, p_cat = matrices(split, split.train, cols)
    Xte, _, _ = matrices(split, split.test, cols)
    transformers = []
    if p_num:
        transformers.append(("num", Pipeline([("impute", SimpleImputer(strategy="mean")),
                                              ("scale", StandardScaler())]),
                             list(range(p_num))))
    if p_cat:
        transformers.append(("cat", Pipeline([("impute", SimpleImputer(strategy="constant",
                                                                       fill_value="(missing)")),
                                              ("onehot", OneHotEncoder(handle_unknown="ignore"))]),
                             list(range(p_num, p_num + p_cat))))
    model = Pipeline([("prep", ColumnTransformer(transformers)),
                      ("lr", LogisticRegression(C=1.0, max_iter=5000))])
    ytr, yte = split.labels(split.train), split.labels(split.test)
    t0 = time.perf_counter()
    model.fit(Xtr, ytr)
    secs = time.perf_counter() - t0
    k = list(model.classes_).index(positive)
    proba = model.predict_proba(Xte)[:, k]
    auc = roc_auc_score((yte == positive).astype(int), proba)
    return {"auc": auc, "seconds": secs, "n_inputs": int(model[-1].coef_.shape[1])}


# --------------------------------------------------------------------------

def run_one(name, args):
    split = load_split(name, args)
    model = args.prefix + name
    tr, te = model + "_train", model + "_test"
    r = {"dataset": name, "n_train": len(split.train), "n_test": len(split.test),
         "n_num": len(split.numeric), "n_cat": len(split.categorical),
         "n_missing": split.n_missing(), "amlb": benchlib.amlb(name),
         "target": split.target}
    load_table(split, tr, split.train)
    load_table(split, te, split.test)
    a = run_automl(split, model, tr, te)
    r["automl"] = a
    positive = a.get("positive") or sorted(set(split.labels(split.train)))[1]
    r["positive"] = positive
    r["sklearn"] = run_sklearn(split, positive)
    # the same reference on the columns automl used, when it left some out
    if a.get("skipped"):
        used = [j for j in split.features if split.header[j] in set(a["used"])]
        r["sklearn_used"] = run_sklearn(split, positive, used) if used else None
    return r


def kind_counts(a):
    if "kinds" not in a:
        return "%d" % len(a.get("used", [])) if "used" in a else "-"
    c = {}
    for k in a["kinds"].values():
        c[k] = c.get(k, 0) + 1
    return ", ".join("%s: %d" % kv for kv in sorted(c.items()))


def report(results, errors, args):
    hdr = ["dataset", "rows train / test", "automl test AUC", "scikit-learn test AUC",
           "difference", "automl train_seconds", "scikit-learn fit s", "AMLB best AUC"]
    rows = []
    for r in results:
        a, s = r["automl"], r["sklearn"]
        auc = a.get("auc")
        note = ""
        if a.get("error"):
            note = " (failed)"
        elif a.get("skipped"):
            note = " (%d of %d columns skipped)" % (len(a["skipped"]), r["n_num"] + r["n_cat"])
        rows.append([r["dataset"], "%d / %d" % (r["n_train"], r["n_test"]),
                     (fmt(auc) if auc is not None else "-") + note, s["auc"],
                     (auc - s["auc"]) if auc is not None else None,
                     a.get("train_seconds"), s["seconds"], r["amlb"]])
    det_hdr = ["dataset", "target (positive class)", "numeric / text columns", "missing values",
               "automl model", "hyperparams (catalog)", "holdout score (catalog)",
               "automl features (kind: count)", "automl_train wall s (incl. psql)",
               "scoring wall s (incl. psql)", "scikit-learn model inputs"]
    det = []
    for r in results:
        a = r["automl"]
        det.append([r["dataset"], "%s (%s)" % (r["target"], r["positive"]),
                    "%d / %d" % (r["n_num"], r["n_cat"]), r["n_missing"],
                    ("%s%s@%d" % (args.prefix, r["dataset"], a["version"])) if "version" in a else "-",
                    json.dumps(a.get("hyperparams"), sort_keys=True) if "version" in a else "-",
                    ("%s=%s" % (a["metric"], a["score"])) if "version" in a else "-",
                    kind_counts(a), a.get("wall_seconds"), a.get("predict_seconds"),
                    r["sklearn"]["n_inputs"]])
    source = ("the committed samples in `test/data` (`--small`)" if args.small
              else "`%s`" % os.path.relpath(args.data, REPO))
    lines = ["# automl vs scikit-learn: categorical data, holdout ROC AUC", "",
             "Generated by `bench/compare_categorical.py` on %s, data from %s, split seed %d."
             % (time.strftime("%Y-%m-%d %H:%M:%S %Z"), source, args.seed), "",
             md_table(["component", "version"], environment()), "",
             "automl: `automl_train(name, '<name>_train', target, algorithms => ARRAY['linear'], hyperparams => '{}', "
             "task => 'classification')`, scored with `automl_predict` on `<name>_test`. "
             "Reference: %s, fitted on the same training rows. ROC AUC on the test rows; "
             "difference = automl − scikit-learn. adult: its own train and test files (the "
             "test labels' trailing dot removed); the others: a stratified 80/20 split. "
             "AMLB best: 10-fold mean from the AutoML Benchmark (1 h, 8 cores) as quoted by "
             "../shared/bench/README.md (see bench/anchors.json), not the same split."
             % REFERENCE, "",
             md_table(hdr, rows), "", "## Details", "", md_table(det_hdr, det), ""]
    partial = [r for r in results if r["automl"].get("skipped")]
    if partial:
        lines += ["## Columns automl left out", "",
                  "This build of automl did not use every column (releases without categorical "
                  "features skip text columns with a NOTICE), so the comparison above is not like "
                  "for like. The same scikit-learn reference restricted to the columns automl used:", ""]
        lines.append(md_table(["dataset", "skipped columns", "scikit-learn AUC on automl's columns",
                               "automl AUC", "difference"],
                              [[r["dataset"], ", ".join(r["automl"]["skipped"]),
                                r["sklearn_used"]["auc"] if r.get("sklearn_used") else None,
                                r["automl"].get("auc"),
                                (r["automl"]["auc"] - r["sklearn_used"]["auc"])
                                if r.get("sklearn_used") and r["automl"].get("auc") is not None
                                else None] for r in partial]))
        lines.append("")
    notes = [(r["dataset"], n) for r in results for n in r["automl"].get("notices", [])]
    if notes:
        lines += ["## Server notices during automl_train", ""]
        lines += ["- %s: %s" % (d, n) for d, n in notes] + [""]
    checks = [(r["dataset"], k, r["automl"][k]) for r in results
              for k in ("warnings", "checks", "data_checks") if r["automl"].get(k)]
    if checks:
        lines += ["## Data checks recorded in the catalog", ""]
        lines += ["- %s (`%s`): `%s`" % (d, k, json.dumps(v)) for d, k, v in checks] + [""]
    errs = errors + [(r["dataset"], r["automl"]["error"]) for r in results
                     if r["automl"].get("error")]
    write_report(lines, errs, args.out)
    return errs, partial


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=DEFAULT_DATA,
                    help="folder holding adult_train.csv, adult_test.csv, bank_marketing.csv "
                         "and credit_g.csv (default: %(default)s)")
    ap.add_argument("--small", action="store_true",
                    help="use the committed samples in test/data instead of --data")
    ap.add_argument("--datasets", default=",".join(ORDER),
                    help="comma-separated subset of %(default)s")
    ap.add_argument("--seed", type=int, default=42,
                    help="seed of the stratified 80/20 split (default: %(default)s)")
    ap.add_argument("--out", default=DEFAULT_OUT, help="markdown output (default: %(default)s)")
    ap.add_argument("--prefix", default="",
                    help="prefix of the model names and tables (default: none)")
    ap.add_argument("--keep", action="store_true", help="keep the data tables")
    ap.add_argument("--sklearn-only", action="store_true",
                    help="only read and split the data and fit the scikit-learn reference "
                         "(no database needed)")
    ap.add_argument("--json", default="", help="machine-readable results (for bench/report.py)")
    args = ap.parse_args()
    measured = benchlib.Measured()

    names = [d.strip() for d in args.datasets.split(",") if d.strip()]
    unknown = [d for d in names if d not in DATASETS]
    if unknown:
        ap.error("unknown dataset(s) %s; known: %s" % (", ".join(unknown), ", ".join(ORDER)))

    if args.sklearn_only:
        for name in names:
            split = load_split(name, args)
            pos = sorted(set(split.labels(split.train)))[1]
            s = run_sklearn(split, pos)
            print("%s: train %d, test %d, %d numeric + %d text columns, %d missing values, "
                  "positive class %r: test AUC %.6f, fit %.3f s, %d model inputs"
                  % (name, len(split.train), len(split.test), len(split.numeric),
                     len(split.categorical), split.n_missing(), pos, s["auc"], s["seconds"],
                     s["n_inputs"]))
        return 0

    try:
        if psql("SELECT count(*) FROM pg_proc WHERE proname = 'automl_train';\n").strip() == "0":
            psql("CREATE EXTENSION automl;\n")
    except PsqlError as e:
        raise SystemExit("cannot use the automl extension: %s" % e)

    results, errors = [], []
    for name in names:
        print("== %s" % name, file=sys.stderr)
        try:
            r = run_one(name, args)
            results.append(r)
            a = r["automl"]
            if a.get("error"):
                print("   automl: %s" % a["error"], file=sys.stderr)
            elif a.get("skipped"):
                print("   automl left out %d column(s): %s" % (len(a["skipped"]),
                                                             ", ".join(a["skipped"])),
                      file=sys.stderr)
        except (PsqlError, OSError, RuntimeError, ValueError, KeyError, TypeError,
                IndexError) as e:
            errors.append((name, str(e).replace("\n", " ")))
            print("   failed: %s" % e, file=sys.stderr)
        finally:
            if not args.keep:
                try:
                    psql("DROP TABLE IF EXISTS %s, %s;\n"
                         % (ident(args.prefix + name + "_train"), ident(args.prefix + name + "_test")))
                except PsqlError:
                    pass
    errs, partial = report(results, errors, args)
    for r in results:           # the catalog row's summary is large and not a figure
        r["automl"].pop("summary", None)
    benchlib.write_json(args.json, "compare_categorical", measured,
                        {"datasets": names, "seed": args.seed, "small": args.small,
                         "data": args.data, "reference": REFERENCE,
                         "environment": dict(environment())},
                        results, errs)
    if partial:
        print("note: automl did not use every column on %s; see 'Columns automl left out'"
              % ", ".join(r["dataset"] for r in partial), file=sys.stderr)
    return 0 if results and not errs and not partial else 1


if __name__ == "__main__":
    sys.exit(main())
