#!/usr/bin/python3
"""Bagging against refitting: the stored model of the same search, both ways.

On the AMLB datasets of ../shared/bench/data that the search cross-validates
(5 folds: the tables of up to 10,000 rows), automl_train runs with max_trials
and no time budget, so the search never reads the clock and runs the same
trials whatever the machine does, once with automl.bag_fold_models off (the
chosen configurations refitted on every training row, the default) and once
on (each chosen tree configuration stored as the average of its five fold
models). Only the stored model differs; both are scored on the same test rows
(the split of bench/search_benchmark.py, --seed), once per seed of --seeds.

    /usr/bin/python3 bench/bagging.py [--datasets a,b] [--seeds 0,1,2] [--max-trials 40]
        [--out F.md] [--json F.json]

Talks to PostgreSQL through psql (PGHOST, PGPORT, ...); needs numpy,
scikit-learn and xgboost (search_benchmark's loaders). Exit status 1 when a
run failed.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402
import search_benchmark as sb  # noqa: E402

CROSS_VALIDATED = ["credit_g", "phoneme", "kc1", "australian", "vehicle", "cmc", "boston"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=sb.DEFAULT_DATA)
    ap.add_argument("--datasets", default=",".join(CROSS_VALIDATED))
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--seed", type=int, default=0, help="the split's seed (default: %(default)s)")
    ap.add_argument("--max-trials", type=int, default=40)
    ap.add_argument("--out", default="")
    ap.add_argument("--json", default="")
    args = ap.parse_args()
    names = [d for d in args.datasets.split(",") if d]
    unknown = [d for d in names if d not in sb.DATASETS]
    if unknown:
        ap.error("unknown dataset(s) %s" % ", ".join(unknown))
    seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    args.no_budget = True
    args.threads = 2
    args.automl_extra = "max_trials => %d" % args.max_trials
    measured = benchlib.Measured()
    if sb.psql("SELECT count(*) FROM pg_proc WHERE proname = 'automl_train';\n").strip() == "0":
        sb.psql("CREATE EXTENSION automl;\n")

    results, errors = [], []
    for name in names:
        task = sb.DATASETS[name]["task"]
        split = sb.load_split(name, args)
        prep = sb.Prepared(split, task)
        model = "bag_" + name
        train, test = model + "_train", model + "_test"
        sb.load_table(split, train, split.train)
        sb.load_table(split, test, split.test)
        for seed in seeds:
            row = {"dataset": name, "task": task, "seed": seed}
            try:
                for arm in ("off", "on"):
                    os.environ["PGOPTIONS"] = "-c automl.bag_fold_models=%s" % arm
                    r = sb.run_automl(split, task, model, train, test, 0, args, prep.classes, seed)
                    row[arm] = {"score": r["score"], "wall_s": r["wall_s"], "algorithm": r["algorithm"],
                                "trials": r["trials"],
                                "bagged_trials": r["catalog"]["options"].get("bagged_trials"),
                                "refit_seconds": r["catalog"]["options"].get("refit_seconds")}
            except (sb.PsqlError, RuntimeError, ValueError, KeyError) as e:
                errors.append((name, "seed %d: %s" % (seed, e)))
                row["failed"] = str(e)
            finally:
                os.environ.pop("PGOPTIONS", None)
            sb.log("%s seed %d: %s" % (name, seed, {k: row[k]["score"] for k in ("off", "on") if k in row}))
            results.append(row)
        sb.psql("DROP TABLE %s, %s;\n" % (sb.ident(train), sb.ident(test)))
        sb.psql("SELECT automl_delete(%s);\n" % sb.lit(model))

    lines = ["| dataset | metric | seed | refit (default) | bagged | bagged better | bagged trials |",
             "|---|---|---:|---:|---:|---|---:|"]
    for r in results:
        if "failed" in r:
            lines.append("| %s | | %d | failed | | | |" % (r["dataset"], r["seed"]))
            continue
        hi = sb.HIGHER_IS_BETTER[r["task"]]
        better = r["on"]["score"] > r["off"]["score"] if hi else r["on"]["score"] < r["off"]["score"]
        lines.append("| %s | %s | %d | %.4f | %.4f | %s | %s |" % (
            r["dataset"], sb.METRIC[r["task"]], r["seed"], r["off"]["score"], r["on"]["score"],
            "yes" if better else "no", r["on"]["bagged_trials"]))
    if args.out:
        with open(args.out, "w") as f:
            f.write("# Bagging against refitting\n\n" + "\n".join(lines) + "\n")
    print("\n".join(lines))
    benchlib.write_json(args.json, "bagging", measured,
                        {"datasets": names, "seeds": seeds, "split_seed": args.seed,
                         "max_trials": args.max_trials}, results, errors)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
