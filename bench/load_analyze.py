#!/usr/bin/python3
"""The figures of bench/load.sh from its working directory (called by it; not on its own).

    load_analyze.py DIR --out FILE [--json FILE --state STATE]

DIR holds pgbench's per-statement logs (one.<pid>*, batch.<pid>*), its outputs (one.out,
batch.out), the maintenance session's steps (steps.tsv: kind, start, end, ok, result),
the deploy visibility checks (visible.tsv), the audit counts (audit.txt) and the run's
part of the server log (server.log). The environment variables LOAD_PARAMS and LOAD_FACTS
(JSON) carry the settings and what load.sh read from the database after the run.

Writes the markdown report to FILE and, with --json, the results file of bench/benchlib.py.
Exit status 1 when a correctness check failed (client errors, rows not logged exactly once,
a deploy or rollback that no logged prediction shows, a server crash); the latency target
is reported, not enforced.
"""

import argparse
import bisect
import glob
import json
import math
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import benchlib  # noqa: E402

KINDS = ("one", "batch")
CLASSES = ("steady", "deploy", "train", "retrain", "purge")
WINDOW_KINDS = {"deploy": ("deploy", "rollback"), "train": ("train",), "retrain": ("retrain",),
                "purge": ("purge",)}
PRIORITY = ("deploy", "train", "retrain", "purge")     # a statement in several: the first


def percentile(sorted_values, p):
    """Nearest rank: the smallest value with at least p % of the values at or below it."""
    if not sorted_values:
        return None
    k = max(1, math.ceil(p / 100.0 * len(sorted_values)))
    return sorted_values[k - 1]


def stats_ms(values):
    v = sorted(values)
    if not v:
        return {"n": 0}
    return {"n": len(v), "p50_ms": percentile(v, 50), "p90_ms": percentile(v, 90),
            "p99_ms": percentile(v, 99), "max_ms": v[-1], "mean_ms": sum(v) / len(v)}


def read_pgbench_out(path):
    text = open(path).read() if os.path.exists(path) else ""
    m = re.search(r"number of transactions actually processed: (\d+)", text)
    f = re.search(r"number of failed transactions: (\d+)", text)
    lag = re.search(r"rate limit schedule lag: avg ([\d.]+) \(max ([\d.]+)\) ms", text)
    tps = re.search(r"tps = ([\d.]+)", text)
    aborted = re.findall(r"^client \d+ aborted.*$", text, re.M)
    errors = [line for line in text.splitlines()
              if re.search(r"ERROR|FATAL|aborted|could not|server closed", line)]
    return {"processed": int(m.group(1)) if m else None, "failed": int(f.group(1)) if f else None,
            "aborted_clients": len(aborted), "tps": float(tps.group(1)) if tps else None,
            "lag_avg_ms": float(lag.group(1)) if lag else None,
            "lag_max_ms": float(lag.group(2)) if lag else None, "error_lines": errors[:20]}


def read_pgbench_log(d, prefix):
    """(start, end, latency ms, lag ms) of every successful statement; count of the others."""
    rows, failed = [], 0
    for path in sorted(glob.glob(os.path.join(d, prefix + ".[0-9]*"))):
        for line in open(path):
            f = line.split()
            if len(f) < 6:
                continue
            if not re.match(r"^\d+$", f[2]):        # failed / serialization / deadlock / skipped
                failed += 1
                continue
            latency_us = int(f[2])
            end = int(f[4]) + int(f[5]) / 1e6
            lag_us = int(f[6]) if len(f) > 6 and re.match(r"^\d+$", f[6]) else 0
            rows.append((end - latency_us / 1e6, end, latency_us / 1000.0, lag_us / 1000.0,
                         (path, int(f[0]))))
    rows.sort()
    return rows, failed


def read_steps(d):
    steps = []
    path = os.path.join(d, "steps.tsv")
    for line in open(path) if os.path.exists(path) else []:
        f = line.rstrip("\n").split("\t")
        if len(f) < 5:
            continue
        try:
            t0 = float(f[1]) if f[1] else None
            t1 = float(f[2])
        except ValueError:
            t0, t1 = None, None
        steps.append({"kind": f[0], "t0": t0, "t1": t1, "ok": f[3] == "1", "result": f[4]})
    return steps


def merged(windows):
    out = []
    for a, b in sorted(windows):
        if out and a <= out[-1][1]:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return out


class Windows:
    """Disjoint sorted intervals; overlaps(a, b): does [a, b] meet one of them?"""

    def __init__(self, windows):
        self.w = merged(windows)
        self.starts = [a for a, _ in self.w]

    def overlaps(self, a, b):
        i = bisect.bisect_left(self.starts, b) - 1     # the last window starting before b
        return i >= 0 and self.w[i][1] > a

    def seconds(self, lo, hi):
        return sum(max(0.0, min(b, hi) - max(a, lo)) for a, b in self.w)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--out", required=True)
    ap.add_argument("--json")
    ap.add_argument("--state")
    args = ap.parse_args()
    d = args.dir
    params = json.loads(os.environ["LOAD_PARAMS"])
    facts = json.loads(os.environ["LOAD_FACTS"])
    errors = []

    # --- maintenance steps and the windows they make
    steps = read_steps(d)
    win = {}
    for cls, kinds in WINDOW_KINDS.items():
        extra = params["deploy_window_s"] if cls == "deploy" else 0.0
        win[cls] = Windows([(s["t0"], s["t1"] + extra) for s in steps
                            if s["kind"] in kinds and s["t0"] is not None and s["t1"] is not None])
    maint = {}
    for k in ("train", "deploy", "rollback", "retrain", "purge"):
        ks = [s for s in steps if s["kind"] == k]
        durations = sorted(s["t1"] - s["t0"] for s in ks if s["ok"])
        maint[k] = {"calls": len(ks), "failed": sum(not s["ok"] for s in ks),
                    "median_s": percentile(durations, 50), "max_s": durations[-1] if durations else None}
        for s in ks:
            if not s["ok"]:
                errors.append(("maintenance", "%s failed at %.3f: %s" % (k, s["t1"] or 0, s["result"])))
    auto = sum(1 for s in steps if s["kind"] == "train" and s["ok"] and s["result"].split()[-1:] == ["true"])
    retrain_deployed = sum(1 for s in steps if s["kind"] == "retrain" and s["ok"]
                           and s["result"].split()[-1:] == ["true"])
    maint["train"]["deployed_itself"] = auto
    maint["retrain"]["deployed_itself"] = retrain_deployed
    purged = 0
    for s in steps:
        if s["kind"] == "purge" and s["ok"]:
            purged += int(s["result"])
    maint["purge"]["rows_deleted"] = purged
    steps_err = os.path.join(d, "steps.err")
    step_stderr = [line.rstrip("\n") for line in open(steps_err)] if os.path.exists(steps_err) else []
    step_errors = [line for line in step_stderr if re.search(r"ERROR|FATAL|PANIC", line)]

    # --- visibility of every deploy and rollback in the log
    vis = []
    path = os.path.join(d, "visible.tsv")
    for line in open(path) if os.path.exists(path) else []:
        f = line.rstrip("\n").split("\t")
        if len(f) == 4:
            vis.append({"kind": f[0], "version": int(f[1]), "after_s": None if f[3] == "-" else float(f[3])})
    invisible = [v for v in vis if v["after_s"] is None]
    for v in invisible:
        errors.append(("visibility", "no logged prediction of version %d after its %s"
                       % (v["version"], v["kind"])))
    first_after = sorted(v["after_s"] for v in vis if v["after_s"] is not None)
    audit = {}
    path = os.path.join(d, "audit.txt")
    for line in open(path) if os.path.exists(path) else []:
        f = line.split()
        if len(f) == 2:
            audit[f[0]] = int(f[1])
    for k in ("deploy", "rollback"):
        ok_calls = sum(1 for s in steps if s["kind"] == k and s["ok"])
        if audit.get(k, 0) != ok_calls:
            errors.append(("audit", "%d %s calls succeeded, automl.audit has %d %s events"
                           % (ok_calls, k, audit.get(k, 0), k)))

    # --- statements: counts, errors, latencies
    t_lo, t_hi = facts["t_start"], facts["t_end"]
    statements, latency, ratio = {}, {}, {}
    for kind in KINDS:
        out = read_pgbench_out(os.path.join(d, kind + ".out"))
        rows, failed_lines = read_pgbench_log(d, kind)
        st = dict(out, log_lines=len(rows), failed_log_lines=failed_lines,
                  exit=facts["pgbench_exit"][kind])
        statements[kind] = st
        if out["processed"] is None:
            errors.append(("pgbench", "%s: no summary (exit %s)" % (kind, st["exit"])))
        elif out["processed"] != len(rows):
            errors.append(("pgbench", "%s: pgbench counted %d statements, its log has %d"
                           % (kind, out["processed"], len(rows))))
        if (out["failed"] or 0) or out["aborted_clients"] or failed_lines or st["exit"]:
            errors.append(("client errors", "%s: %s failed, %d clients aborted, exit %s: %s"
                           % (kind, out["failed"], out["aborted_clients"], st["exit"],
                              " | ".join(out["error_lines"][:3]))))
        by = {c: [] for c in CLASSES}
        service = []
        for a, b, lat, lag, _ in rows:
            cls = "steady"
            for c in PRIORITY:
                if win[c].overlaps(a, b):
                    cls = c
                    break
            by[cls].append(lat)
            service.append(lat - lag)
        latency[kind] = {c: stats_ms(v) for c, v in by.items()}
        # each client's first statement scheduled after a deploy or rollback returned: the
        # one that loads the new version
        by_client = {}
        for r in rows:
            by_client.setdefault(r[4], []).append(r)
        first = []
        for s in steps:
            if s["kind"] in ("deploy", "rollback") and s["ok"]:
                for rs in by_client.values():
                    i = bisect.bisect_left(rs, (s["t1"],))
                    if i < len(rs):
                        first.append(rs[i][2])
        latency[kind]["first_after_deploy"] = stats_ms(first)
        latency[kind]["all"] = stats_ms([r[2] for r in rows])
        latency[kind]["all_service"] = stats_ms(service)
        s, dp = latency[kind]["steady"].get("p99_ms"), latency[kind]["deploy"].get("p99_ms")
        ratio[kind] = dp / s if s and dp is not None else None
    window_seconds = {c: win[c].seconds(t_lo, t_hi) for c in PRIORITY}

    # --- exactly once
    rows_per = {"one": 1, "batch": params["batch_rows"]}
    expected = sum((statements[k]["processed"] or 0) * rows_per[k] for k in KINDS)
    logged, distinct = facts["logged"], facts["distinct_keys"]
    ingestion = {"expected_rows": expected, "logged_rows": logged, "purged_rows": purged,
                 "accounted_rows": logged + purged, "distinct_keys": distinct,
                 "exactly_once": logged + purged == expected and distinct == logged,
                 "flushed_at_end": facts["flushed_at_end"]}
    if logged + purged != expected:
        errors.append(("exactly once", "%d rows scored by the statements pgbench counted; %d "
                       "logged + %d purged = %d (%+d)" % (expected, logged, purged, logged + purged,
                                                         logged + purged - expected)))
    if distinct != logged:
        errors.append(("exactly once", "%d logged rows but %d distinct keys: %d doubled"
                       % (logged, distinct, logged - distinct)))

    # --- the server
    server_lines = []
    path = os.path.join(d, "server.log")
    if os.path.exists(path):
        server_lines = [line.rstrip("\n") for line in open(path, errors="replace")]
    srv_errors = [line for line in server_lines if re.search(r"\b(ERROR|FATAL|PANIC):", line)]
    crashes = [line for line in server_lines
               if re.search(r"terminated by signal|was terminated|server process .* exited with exit code [^0]|"
                            r"all server processes terminated|PANIC", line)]
    rolled_back = facts["rollbacks_after"] - facts["rollbacks_before"]
    server = {"rolled_back_transactions": rolled_back, "restarted": facts["server_restarted"],
              "log_read": facts["server_log_read"], "log_errors": len(srv_errors),
              "log_crash_lines": len(crashes), "log_error_examples": srv_errors[:10],
              "versions": facts["versions"], "deployments": facts["deployments"],
              "audit_events": audit, "maintenance_stderr_errors": step_errors[:10]}
    if rolled_back:
        errors.append(("server", "%d transactions rolled back in the database" % rolled_back))
    if facts["server_restarted"] or crashes:
        errors.append(("server", "crash or restart: %s" % " | ".join(crashes[:3])))
    if srv_errors:
        errors.append(("server", "%d ERROR/FATAL lines in the server log, first: %s"
                       % (len(srv_errors), srv_errors[0])))

    results = {"statements": statements, "latency": latency, "p99_deploy_over_steady": ratio,
               "window_seconds": window_seconds, "run_seconds": t_hi - t_lo,
               "maintenance": maint, "visibility": {"checked": len(vis), "invisible": len(invisible),
                                                    "first_prediction_after_s": {
                                                        "median": percentile(first_after, 50),
                                                        "max": first_after[-1] if first_after else None}},
               "ingestion": ingestion, "server": server,
               "client_errors": sum((statements[k]["failed"] or 0) + statements[k]["aborted_clients"]
                                    + statements[k]["failed_log_lines"] for k in KINDS)}

    # --- the report
    def f(x, nd=2):
        return "–" if x is None else ("%.*f" % (nd, x))

    lines = ["# Scoring under load, while the model is retrained and redeployed", "",
             "Generated by `bench/load.sh` on %s; %s s of scoring (PostgreSQL %s, %s CPUs; load "
             "average before %s, after %s)." % (
                 os.popen("date -u '+%Y-%m-%d %H:%M:%S UTC'").read().strip(), f(t_hi - t_lo, 0),
                 params["postgresql"], params["nproc"], params["load_before"], params["load_after"]),
             "", "automl.so: %s%s" % (params["automl_so"], "" if params["automl_so"] == params["automl_so_after"]
                                      else " — **reinstalled during the run**: rerun"), ""]
    lines += ["Mix: %d client(s) scoring single-row statements at %d/s in all, %d client(s) scoring "
              "%d-row statements at %d/s, logging at sample rate 1 (key per row); one session "
              "looping train, deploy, rollback, retrain, purge (`%s`) with %s s between steps. "
              "Data: %s (%d rows); model: %s." % (
                  params["one_clients"], params["one_rate"], params["batch_clients"],
                  params["batch_rows"], params["batch_rate"], params["purge_age"], params["gap_s"],
                  params["data"], params["rows"], params["model"]), ""]
    verdict = "**all passed**" if not errors else "**%d failed**" % len(errors)
    lines += ["## Correctness: %s" % verdict, "",
              "| check | result |", "|---|---|",
              "| client errors (failed statements, aborted clients) | %d |" % results["client_errors"],
              "| statements (pgbench: single-row, %d-row) | %s, %s |" % (
                  params["batch_rows"], statements["one"]["processed"], statements["batch"]["processed"]),
              "| rows scored = logged + purged | %d = %d + %d: %s |" % (
                  expected, logged, purged, "exact" if logged + purged == expected else "**%+d**" % (logged + purged - expected)),
              "| distinct keys among logged rows | %d of %d |" % (distinct, logged),
              "| maintenance calls (failed) | %s |" % ", ".join(
                  "%s %d (%d)" % (k, v["calls"], v["failed"]) for k, v in maint.items()),
              "| deploys and rollbacks seen serving in the log | %d of %d |" % (len(vis) - len(invisible), len(vis)),
              "| audit events | %s |" % ", ".join("%s %d" % kv for kv in sorted(audit.items())),
              "| transactions rolled back in the database | %d |" % rolled_back,
              "| server log: ERROR/FATAL lines, crash lines | %s |" % (
                  "%d, %d" % (len(srv_errors), len(crashes)) if facts["server_log_read"] else "not read"),
              "| server restarted | %s |" % ("**yes**" if facts["server_restarted"] else "no"), ""]
    if errors:
        lines += ["Failures:", ""] + ["- %s: %s" % e for e in errors] + [""]
    lines += ["## Latency (ms), by what the statement overlapped", "",
              "Latency from the statement's scheduled start (pgbench `-R`, schedule lag included) "
              "to its end; nearest-rank percentiles. \"deploy\": an `automl_deploy` or "
              "`automl_rollback` call or the %s s after it; otherwise \"train\", \"retrain\", "
              "\"purge\": such a call; \"steady\": none of them. \"first_after_deploy\" (not a class "
              "of its own): each client's first statement scheduled after a deploy or rollback "
              "returned, the one that loads the new version." % params["deploy_window_s"], "",
              "| statement | class | statements | p50 | p90 | p99 | max |", "|---|---|---:|---:|---:|---:|---:|"]
    for kind in KINDS:
        label = "single-row" if kind == "one" else "%d-row" % params["batch_rows"]
        for c in CLASSES + ("first_after_deploy", "all"):
            s = latency[kind][c]
            lines.append("| %s | %s | %d | %s | %s | %s | %s |" % (
                label, c, s["n"], f(s.get("p50_ms")), f(s.get("p90_ms")), f(s.get("p99_ms")),
                f(s.get("max_ms"))))
    lines += ["", "p99 during deploys / p99 steady (target: at most 2): single-row %s, %d-row %s." % (
        f(ratio["one"]), params["batch_rows"], f(ratio["batch"])),
        "Seconds of the run in each class's windows: %s." % ", ".join(
            "%s %s" % (c, f(window_seconds[c], 0)) for c in PRIORITY),
        "First logged prediction of the new version after a deploy or rollback returned: "
        "median %s s, max %s s." % (f(results["visibility"]["first_prediction_after_s"]["median"], 3),
                                    f(results["visibility"]["first_prediction_after_s"]["max"], 3)),
        "Maintenance call durations (median / max s): %s." % ", ".join(
            "%s %s / %s" % (k, f(v["median_s"]), f(v["max_s"])) for k, v in maint.items()),
        "Versions at the end: %d; deployments: %d; train deployed itself %d times, retrain %d." % (
            facts["versions"], facts["deployments"], auto, retrain_deployed), ""]
    text = "\n".join(lines)
    print(text)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as fh:
        fh.write(text + "\n")
    if args.json:
        with open(args.state) as fh:
            measured = benchlib.Measured(json.load(fh))
        benchlib.write_json(args.json, "load", measured, params, results, errors)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
