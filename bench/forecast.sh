#!/usr/bin/env bash
# bench/forecast.sh: forecasting accuracy on real series, through the SQL API,
# against seasonal naive and statsmodels' exponential smoothing on the same split.
#
# For each series (a period,value CSV of ../shared/bench/data/series/):
#   1. loads it into a table fc_<series> (period date, value float8) with psql \copy;
#   2. trains automl_train('fc_<series>', 'fc_<series>', 'value', task => 'forecast',
#      time_column => 'period', horizon => h), h = one season (12 monthly, 4 quarterly),
#      RUNS times (each run a new version; the wall time of the statement, from
#      clock_timestamp() in the same session, and train_seconds: medians over the runs);
#   3. reads, from the last version, the backtest MASE of every candidate
#      (automl.trials: seasonal_naive, ets, gbdt; score = mean MASE over the series' 3
#      rolling origins) and the chosen one (automl.models: algorithm, score,
#      summary->'periods'), and checks that every run scored the same;
#   4. (COVERAGE=1) out-of-sample check of the whole procedure, selection included: for
#      each backtest origin o (training lengths n-3h, n-2h, n-h) a view of the first o
#      periods, automl_train on it (model fc_<series>_cut<k>), automl_forecast at levels
#      0.95 and 0.8, compared with the h actual values after o: MASE (same scale as the
#      backtest) and interval coverage;
# then runs bench/forecast_peer.py (statsmodels, /usr/bin/python3) on the same files and
# split, checks that the split is the same (equal n, and seasonal naive's MASE from
# automl.trials equal to the peer's to 1e-9: seasonal naive is deterministic, so any
# difference in origins or in the MASE scale would show), and prints one table.
#
# The split: horizon h = one season; origins o = n-3h, n-2h, n-h (an origin with fewer
# than two seasons of training periods is dropped: forecast_backtest_origins in
# src/forecast/backtest.c, mirrored by forecast_peer.py's origins()); fit on y[0..o-1],
# forecast y[o..o+h-1]; MASE divides each absolute error by the in-sample MAE of
# seasonal naive on y[0..o-1]; a series' MASE is the mean over its 3h points.
#
# Needs psql reaching a server with the extension (PG* variables; bench/run.sh forecast
# starts a throwaway one), and Debian's /usr/bin/python3 with python3-statsmodels.
#
# Usage: bench/forecast.sh [--data DIR] [--series a,b,...] [--keep]
#   --data DIR    folder of <series>.csv files (default ../shared/bench/data/series)
#   --series      comma-separated names (default: air_passengers,uk_gas,nottem,co2,
#                 us_acc_deaths,sunspot_month)
#   --keep        keep the tables and views (the models stay in the catalog anyway)
# Environment: RUNS (3; trainings per series, and statsmodels repeats, for the timings),
#   COVERAGE (1; 0 skips step 4), ETSMODEL (1; also statsmodels' ETSModel over the
#   variants our ETS chooses among, by AICc: slower, about 40 s), OUT (default
#   bench/results/forecast.md), JSON (machine-readable results for bench/report.py, with
#   every out-of-sample forecast point and its intervals; none when unset).
# Exit status 1 when the split check fails, a candidate did not finish, or runs differ.

set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$here/.." && pwd)
DATA=$ROOT/../shared/bench/data/series
SERIES=air_passengers,uk_gas,nottem,co2,us_acc_deaths,sunspot_month
KEEP=0
RUNS=${RUNS:-3}
COVERAGE=${COVERAGE:-1}
ETSMODEL=${ETSMODEL:-1}
OUT=${OUT:-$here/results/forecast.md}
JSON=${JSON:-}
PYTHON=/usr/bin/python3

while [ $# -gt 0 ]; do
    case "$1" in
        --data) DATA=$2; shift 2 ;;
        --series) SERIES=$2; shift 2 ;;
        --keep) KEEP=1; shift ;;
        -h|--help) sed -n '2,44p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
done
case "$RUNS" in ''|*[!0-9]*|0) echo "RUNS must be a positive integer" >&2; exit 2 ;; esac
[ -d "$DATA" ] || { echo "no data folder $DATA (see --data)" >&2; exit 2; }
DATA=$(cd "$DATA" && pwd)
if ! "$PYTHON" -c 'import statsmodels' 2>/dev/null; then
    echo "$PYTHON cannot import statsmodels: apt-get install python3-statsmodels" \
         "(bench/run.sh forecast installs it)" >&2
    exit 2
fi

PSQL=(psql -X -q -A -t -v ON_ERROR_STOP=1)
q() { "${PSQL[@]}" -c "$1"; }
started=$(date +%s)
log() { printf '[%4ds] %s\n' "$(( $(date +%s) - started ))" "$*" >&2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/automl-forecast.XXXXXX")
trap 'rm -rf "$work"' EXIT
notices=$work/notices.txt
: > "$notices"

"${PSQL[@]}" -c "SET client_min_messages = warning" -c "CREATE EXTENSION IF NOT EXISTS automl"

. "$ROOT/bench/common.sh"
so_before=$(so_id)
[ -z "$JSON" ] || "$PYTHON" "$here/benchlib.py" start "$work/state.json"
commit=$(git -C "$ROOT" log -1 --format='%h %cd' --date='format:%Y-%m-%d %H:%M' 2>/dev/null || echo '?')
if [ -n "$(git -C "$ROOT" status --porcelain --untracked-files=no -- src sql 2>/dev/null)" ]; then
    commit="$commit (src/ or sql/ modified)"
fi

# Frequency and season length from the months between the first two periods.
season_of() {
    awk -F, 'NR == 2 { split($1, a, "-"); y1 = a[1]; m1 = a[2] }
             NR == 3 { split($1, a, "-"); d = (a[1] - y1) * 12 + (a[2] - m1);
                       if (d == 1) print "monthly 12"; else if (d == 3) print "quarterly 4";
                       else print "unsupported 0"; exit }' "$1"
}

ours=$work/ours.csv          # one row per series
runs_csv=$work/runs.csv      # one row per training
cuts=$work/cuts.csv          # one row per series and origin
echo "series,frequency,n,h,version,algorithm,score,summary_mase,summary_periods,filled,origins,ets,naive_mase,naive_status,ets_mase,ets_status,ets_seconds,gbdt_mase,gbdt_status,gbdt_seconds,errors,distinct_scores" > "$ours"
echo "series,run,version,wall_seconds,train_seconds" > "$runs_csv"
echo "series,k,origin,algorithm,points,scaled_error_sum,covered95,covered80,width95" > "$cuts"
points=$work/points.csv      # one row per out-of-sample forecast point
echo "series,k,origin,period,actual,forecast,lower95,upper95,lower80,upper80" > "$points"

IFS=, read -r -a names <<< "$SERIES"
for s in "${names[@]}"; do
    file=$DATA/$s.csv
    [ -r "$file" ] || { echo "no file $file" >&2; exit 2; }
    read -r freq m < <(season_of "$file")
    [ "$m" -gt 0 ] || { echo "$s: not a monthly or quarterly series" >&2; exit 2; }
    h=$m
    t=fc_$s
    log "$s: $freq, horizon $h: loading $t"
    "${PSQL[@]}" <<-SQL
	SET client_min_messages = warning;
	DROP TABLE IF EXISTS $t CASCADE;
	RESET client_min_messages;
	CREATE TABLE $t (period date PRIMARY KEY, value float8);
	\copy $t FROM '$file' WITH (FORMAT csv, HEADER)
	ANALYZE $t;
	SQL
    n=$(q "SELECT count(*) FROM $t")

    versions=()
    for r in $(seq 1 "$RUNS"); do
        line=$("${PSQL[@]}" -F, -v name="$t" -v h="$h" 2>>"$notices" <<-'SQL'
		SELECT extract(epoch FROM clock_timestamp()) AS t0 \gset
		SELECT version AS v FROM automl_train(:'name', :'name', 'value', task => 'forecast',
		                                      time_column => 'period', horizon => :h) \gset
		SELECT :v, extract(epoch FROM clock_timestamp()) - :t0,
		       (SELECT train_seconds FROM automl.models WHERE name = :'name' AND version = :v);
		SQL
        )
        echo "$s,$r,$line" >> "$runs_csv"
        versions+=("${line%%,*}")
        log "$s: run $r: version ${line%%,*}, $(cut -d, -f2 <<< "$line" | cut -c1-6) s"
    done
    v=${versions[-1]}
    vlist=$(IFS=,; echo "${versions[*]}")

    row=$("${PSQL[@]}" --csv -v name="$t" -v v="$v" <<-SQL
	SELECT m.algorithm, m.score,
	       m.summary->'periods'->0->>'mase', m.summary->'periods'->0->>'periods',
	       m.summary->'periods'->0->>'filled', m.metrics->>'origins',
	       coalesce(m.summary->'periods'->0->>'ets', ''),
	       max(t.score) FILTER (WHERE t.algorithm = 'seasonal_naive'),
	       max(t.status) FILTER (WHERE t.algorithm = 'seasonal_naive'),
	       max(t.score) FILTER (WHERE t.algorithm = 'ets'),
	       max(t.status) FILTER (WHERE t.algorithm = 'ets'),
	       max(t.fit_seconds) FILTER (WHERE t.algorithm = 'ets'),
	       max(t.score) FILTER (WHERE t.algorithm = 'gbdt'),
	       max(t.status) FILTER (WHERE t.algorithm = 'gbdt'),
	       max(t.fit_seconds) FILTER (WHERE t.algorithm = 'gbdt'),
	       coalesce(string_agg(t.error, ' | '), ''),
	       (SELECT count(DISTINCT (algorithm, score)) FROM automl.trials
	         WHERE name = :'name' AND version IN ($vlist))
	  FROM automl.models m JOIN automl.trials t USING (name, version)
	 WHERE m.name = :'name' AND m.version = :v
	 GROUP BY m.algorithm, m.score, m.summary, m.metrics;
	SQL
    )
    echo "$s,$freq,$n,$h,$v,$row" >> "$ours"

    if [ "$COVERAGE" = 1 ]; then
        for k in 3 2 1; do
            o=$(( n - k * h ))
            # the model of the first o periods backtests on its own origins: it needs o - h >= 2m
            if [ $(( o - h )) -lt $(( 2 * m )) ]; then
                log "$s: origin $o: too short for a model of its own, left out of the out-of-sample check"
                continue
            fi
            cut=${t}_cut$k
            line=$("${PSQL[@]}" -F, -v t="$t" -v cut="$cut" -v o="$o" -v h="$h" -v m="$m" 2>>"$notices" <<-'SQL'
			SET client_min_messages = warning;
			DROP VIEW IF EXISTS :"cut";
			RESET client_min_messages;
			CREATE VIEW :"cut" AS SELECT period, value FROM :"t" ORDER BY period LIMIT :o;
			SELECT algorithm AS algo FROM automl_train(:'cut', :'cut', 'value', task => 'forecast',
			                                           time_column => 'period', horizon => :h) \gset
			WITH f95 AS (SELECT period, forecast, lower, upper FROM automl_forecast(:'cut', level => 0.95)),
			     f80 AS (SELECT period, lower, upper FROM automl_forecast(:'cut', level => 0.8)),
			     train AS (SELECT value - lag(value, :m) OVER (ORDER BY period) AS d FROM :"cut"),
			     s AS (SELECT avg(abs(d)) AS scale FROM train)
			SELECT :'algo', count(*), sum(abs(a.value - f95.forecast) / s.scale),
			       count(*) FILTER (WHERE a.value BETWEEN f95.lower AND f95.upper),
			       count(*) FILTER (WHERE a.value BETWEEN f80.lower AND f80.upper),
			       avg(f95.upper - f95.lower)
			  FROM f95 JOIN f80 USING (period)
			  JOIN :"t" a ON a.period::timestamp = f95.period, s;
			SQL
            )
            echo "$s,$k,$o,$line" >> "$cuts"
            # the points themselves, for the chart (the same forecasts as above)
            "${PSQL[@]}" -F, -v t="$t" -v cut="$cut" 2>>"$notices" <<-'SQL' | sed "s/^/$s,$k,$o,/" >> "$points"
			SELECT f95.period::date, a.value, f95.forecast, f95.lower, f95.upper, f80.lower, f80.upper
			  FROM automl_forecast(:'cut', level => 0.95) f95
			  JOIN automl_forecast(:'cut', level => 0.8) f80 USING (period)
			  JOIN :"t" a ON a.period::timestamp = f95.period
			 ORDER BY 1;
			SQL
        done
        log "$s: out-of-sample check done"
    fi
done

log "statsmodels (forecast_peer.py, RUNS=$RUNS repeats for the timings)"
peer_methods=seasonal_naive,statsmodels_es,statsmodels_es_states
peer_args=()
if [ "$ETSMODEL" = 1 ]; then
    peer_methods=$peer_methods,statsmodels_etsmodel
    peer_args+=(--etsmodel)
fi
"$PYTHON" "$here/forecast_peer.py" --data "$DATA" --series "$SERIES" --details --repeat "$RUNS" \
    --methods "$peer_methods" --points "$work/peer_points.csv" "${peer_args[@]}" \
    > "$work/peer.csv" 2>> "$work/peer.log"

so_after=$(so_id)
so_note=$so_before
if [ "$so_before" != "$so_after" ]; then
    echo "warning: automl.so changed during the run" >&2
    so_note="$so_before at the start; **reinstalled during the run**: $so_after at the end"
fi
pgver=$(q "SELECT split_part(version(), ' on ', 1)")
extver=$(q "SELECT extversion FROM pg_extension WHERE extname = 'automl'")
smver=$("$PYTHON" -c 'import statsmodels, numpy, scipy; print(f"statsmodels {statsmodels.__version__}, NumPy {numpy.__version__}, SciPy {scipy.__version__}")')
cpu=$(LC_ALL=C lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -1)
# automl.threads exists once the library is loaded in the session
threads=$("${PSQL[@]}" -c "SELECT count(*) FROM automl_forecast('fc_${names[0]}')" \
              -c "SELECT current_setting('automl.threads', true)" 2>/dev/null | tail -1 || echo '?')

if [ "$KEEP" = 0 ]; then
    for s in "${names[@]}"; do
        "${PSQL[@]}" -c "SET client_min_messages = warning" -c "DROP TABLE IF EXISTS fc_$s CASCADE"
    done
fi

META_CPU="${cpu:-?} ($(nproc) CPUs)"
META_DATE=$(date -u '+%Y-%m-%d %H:%M:%S UTC')
META_LOAD=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?')
export WORK=$work OUT JSON RUNS COVERAGE ETSMODEL DATA SERIES META_CPU META_DATE META_LOAD
export BENCHLIB="$here/benchlib.py"
export META_PG="$pgver" META_EXT="$extver" META_SM="$smver" META_SO="$so_note" \
       META_COMMIT="$commit" META_THREADS="${threads:-?}"
rc=0
"$PYTHON" - <<'PY' || rc=$?
import csv, json, os, statistics, sys

work = os.environ["WORK"]
read = lambda f: list(csv.DictReader(open(os.path.join(work, f))))
ours, runs, cuts, peer = read("ours.csv"), read("runs.csv"), read("cuts.csv"), read("peer.csv")
peer_by = {(r["series"], r["method"]): r for r in peer}
fails = []
f3 = lambda x: f"{float(x):.3f}" if x not in ("", None) else "—"
f2 = lambda x: f"{float(x):.2f}" if x not in ("", None) else "—"

lines = []
out = lines.append
out("# Forecasting: backtest MASE against seasonal naive and statsmodels\n")
out(f"Generated by `bench/forecast.sh` on {os.environ['META_DATE']}.\n")
out("| | |\n|---|---|")
out(f"| PostgreSQL | {os.environ['META_PG']} |")
out(f"| automl | {os.environ['META_EXT']}, commit {os.environ['META_COMMIT']}; {os.environ['META_SO']} |")
out(f"| automl.threads | {os.environ['META_THREADS']} |")
out(f"| peer | {os.environ['META_SM']} (Debian /usr/bin/python3) |")
out(f"| CPU | {os.environ['META_CPU']}; load average at the end {os.environ['META_LOAD']} |")
out(f"| data | {os.environ['DATA']} |")
out(f"| runs | {os.environ['RUNS']} trainings per series and {os.environ['RUNS']} statsmodels repeats; times are medians |\n")
out("Split: horizon h = one season (12 monthly, 4 quarterly); 3 rolling origins, training lengths "
    "n-3h, n-2h, n-h; MASE = |error| / in-sample MAE of seasonal naive on the origin's training part, "
    "averaged over the 3h points. Lower is better.\n")

# the split check
out("| series | n (ours / peer) | origins (peer) | seasonal naive MASE: ours / peer | same split |")
out("|---|---|---|---|---|")
for r in ours:
    p = peer_by.get((r["series"], "seasonal_naive"))
    if p is None:
        fails.append(f"{r['series']}: no peer row"); continue
    same = (int(r["n"]) == int(p["n"]) == int(r["summary_periods"]) and r["filled"] == "0"
            and abs(float(r["naive_mase"]) - float(p["mase"])) <= 1e-9 * max(1, float(p["mase"]))
            and int(p["origins"]) == int(r["origins"]))
    if not same:
        fails.append(f"{r['series']}: the split differs")
    out(f"| {r['series']} | {r['n']} / {p['n']} | {p['train_lengths'].replace(';', ', ')} | "
        f"{float(r['naive_mase']):.9f} / {float(p['mase']):.9f} | {'yes' if same else '**no**'} |")
out("")

# the main table
def seconds(series):
    rs = [r for r in runs if r["series"] == series]
    return (statistics.median(float(r["wall_seconds"]) for r in rs),
            statistics.median(float(r["train_seconds"]) for r in rs))

out("| series | frequency | n | seasonal naive | ours (chosen) | ETS | gbdt | statsmodels ES | automl_train s | statsmodels ES s |")
out("|---|---|---:|---:|---|---:|---:|---:|---:|---:|")
for r in ours:
    s = r["series"]
    es = peer_by.get((s, "statsmodels_es"))
    wall, _ = seconds(s)
    out(f"| {s} | {r['frequency']} | {r['n']} | {f3(r['naive_mase'])} | **{r['algorithm']} {f3(r['score'])}** | "
        f"{f3(r['ets_mase'])} | {f3(r['gbdt_mase'])} | {f3(es['mase']) if es else '—'} | "
        f"{wall:.2f} | {f2(es['seconds']) if es else '—'} |")
    for c in ("naive", "ets", "gbdt"):
        if r[f"{c}_status"] != "ok":
            fails.append(f"{s}: candidate {c}: {r[c + '_status']}")
    if r["errors"]:
        fails.append(f"{s}: trial errors: {r['errors']}")
    if r["distinct_scores"] != "3":
        fails.append(f"{s}: the {os.environ['RUNS']} runs scored differently ({r['distinct_scores']} distinct candidate scores)")
    if abs(float(r["score"]) - float(r["summary_mase"])) > 1e-12:
        fails.append(f"{s}: models.score {r['score']} != summary mase {r['summary_mase']}")
out("")

# details
out("Details: our ETS variant, candidate times, statsmodels' own-forecast fix and ETSModel.\n")
cols = ["series", "ours: ETS variant (full series)", "train_seconds", "ETS trial s", "gbdt trial s",
        "statsmodels ES from states", "statsmodels ETSModel (AICc)", "ETSModel s"]
out("| " + " | ".join(cols) + " |")
out("|" + "---|" * len(cols))
for r in ours:
    s = r["series"]
    _, ts = seconds(s)
    st = peer_by.get((s, "statsmodels_es_states"))
    em = peer_by.get((s, "statsmodels_etsmodel"))
    out(f"| {s} | {r['ets'] or '(not chosen)'} | {ts:.2f} | {f2(r['ets_seconds'])} | {f2(r['gbdt_seconds'])} | "
        f"{f3(st['mase']) if st else '—'} | {f3(em['mase']) if em else '—'} | {f2(em['seconds']) if em else '—'} |")
out("")

# out of sample, with intervals
if cuts:
    out("Out of sample, selection included: automl_train on the first o periods only (o = each backtest "
        "origin), automl_forecast of the next h, against the actual values (same points and scale as the "
        "backtest).\n")
    out("| series | chosen per origin | MASE | backtest MASE of the chosen (above) | 95% interval coverage | 80% interval coverage | mean 95% width |")
    out("|---|---|---:|---:|---:|---:|---:|")
    same_path = []
    tot_pts = tot95 = tot80 = 0
    for r in ours:
        cs = sorted((c for c in cuts if c["series"] == r["series"]), key=lambda c: -int(c["k"]))
        if not cs:
            continue
        pts = sum(int(c["points"]) for c in cs)
        if any(int(c["points"]) != int(r["h"]) for c in cs):
            fails.append(f"{r['series']}: automl_forecast did not return {r['h']} rows matching actual periods")
        mase = sum(float(c["scaled_error_sum"]) for c in cs) / pts
        c95 = sum(int(c["covered95"]) for c in cs); c80 = sum(int(c["covered80"]) for c in cs)
        tot_pts += pts; tot95 += c95; tot80 += c80
        width = statistics.mean(float(c["width95"]) for c in cs)
        # one candidate chosen at every origin: the served forecasts are that candidate's
        # backtest forecasts, so the MASE must be its trial score of the full model
        chosen = {c["algorithm"] for c in cs}
        if len(cs) == 3 and len(chosen) == 1:
            key = {"seasonal_naive": "naive_mase", "ets": "ets_mase", "gbdt": "gbdt_mase"}[chosen.pop()]
            agree = abs(mase - float(r[key])) <= 1e-9 * max(1.0, float(r[key]))
            same_path.append(f"{r['series']} ({cs[0]['algorithm']}: {'equal' if agree else 'DIFFERENT'})")
            if not agree:
                fails.append(f"{r['series']}: served forecasts of {cs[0]['algorithm']} give MASE {mase:.9f},"
                             f" its backtest {float(r[key]):.9f}")
        out(f"| {r['series']} | {', '.join(c['algorithm'] for c in cs)} | {mase:.3f} | {float(r['score']):.3f} | "
            f"{c95}/{pts} = {c95 / pts:.0%} | {c80}/{pts} = {c80 / pts:.0%} | {width:.4g} |")
    if tot_pts:
        out(f"| all | | | | {tot95}/{tot_pts} = {tot95 / tot_pts:.0%} | {tot80}/{tot_pts} = {tot80 / tot_pts:.0%} | |")
    out("")
    if same_path:
        out("Where every origin chose the same candidate, the served forecasts (automl_forecast of the "
            "model on the first o periods) must reproduce that candidate's backtest MASE: "
            + ", ".join(same_path) + ".\n")

if fails:
    out("**Checks failed:**\n")
    for f in fails:
        out(f"- {f}")
else:
    out("Checks: same split as the peer on every series (n, number of origins, seasonal naive MASE equal), "
        "every candidate finished, the runs scored identically.")
text = "\n".join(lines)
print(text)
os.makedirs(os.path.dirname(os.environ["OUT"]), exist_ok=True)
open(os.environ["OUT"], "w").write(text + "\n")
print(f"written to {os.environ['OUT']}", file=sys.stderr)

if os.environ.get("JSON"):
    import importlib.util
    spec = importlib.util.spec_from_file_location("benchlib", os.environ["BENCHLIB"])
    benchlib = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(benchlib)
    num = lambda x: float(x) if x not in ("", None) else None
    points, peer_points = read("points.csv"), read("peer_points.csv")
    series_out = []
    for r in ours:
        s = r["series"]
        wall, train = seconds(s)
        by_method = {m: peer_by.get((s, m)) for m in
                     ("seasonal_naive", "statsmodels_es", "statsmodels_es_states", "statsmodels_etsmodel")}
        with open(os.path.join(os.environ["DATA"], s + ".csv")) as f:
            hist = list(csv.DictReader(f))
        cs = sorted((c for c in cuts if c["series"] == s), key=lambda c: -int(c["k"]))
        pts = sum(int(c["points"]) for c in cs)
        series_out.append({
            "series": s, "frequency": r["frequency"], "n": int(r["n"]), "horizon": int(r["h"]),
            "origins": int(r["origins"]), "version": int(r["version"]),
            "chosen": r["algorithm"], "chosen_mase": num(r["score"]), "ets_variant": r["ets"] or None,
            "mase": {"seasonal_naive": num(r["naive_mase"]), "ets": num(r["ets_mase"]),
                     "gbdt": num(r["gbdt_mase"])},
            "trial_seconds": {"ets": num(r["ets_seconds"]), "gbdt": num(r["gbdt_seconds"])},
            "automl_train_wall_s": wall, "train_seconds": train,
            "runs": [{"run": int(x["run"]), "version": int(x["version"]),
                      "wall_seconds": float(x["wall_seconds"]), "train_seconds": float(x["train_seconds"])}
                     for x in runs if x["series"] == s],
            "peer": {m: ({"mase": num(p["mase"]), "seconds": num(p["seconds"]),
                          "smape": num(p["smape"]), "rmse": num(p["rmse"])} if p else None)
                     for m, p in by_method.items()},
            "out_of_sample": {
                "cuts": [{"k": int(c["k"]), "origin": int(c["origin"]), "chosen": c["algorithm"],
                          "points": int(c["points"]), "scaled_error_sum": float(c["scaled_error_sum"]),
                          "covered95": int(c["covered95"]), "covered80": int(c["covered80"]),
                          "width95": float(c["width95"])} for c in cs],
                "mase": sum(float(c["scaled_error_sum"]) for c in cs) / pts if pts else None,
                "points": pts,
                "covered95": sum(int(c["covered95"]) for c in cs),
                "covered80": sum(int(c["covered80"]) for c in cs)},
            "history": [{"period": h["period"], "value": float(h["value"])} for h in hist],
            "forecast_points": [{"origin": int(p["origin"]), "period": p["period"],
                                 "actual": float(p["actual"]), "forecast": float(p["forecast"]),
                                 "lower95": num(p["lower95"]), "upper95": num(p["upper95"]),
                                 "lower80": num(p["lower80"]), "upper80": num(p["upper80"])}
                                for p in points if p["series"] == s],
            "peer_points": [{"method": p["method"], "origin": int(p["origin"]), "step": int(p["step"]),
                             "period": hist[int(p["origin"]) + int(p["step"]) - 1]["period"],
                             "actual": float(p["actual"]), "forecast": float(p["forecast"])}
                            for p in peer_points if p["series"] == s
                            and p["method"] in ("statsmodels_es", "seasonal_naive")],
        })
    benchlib.write_json(os.environ["JSON"], "forecast", benchlib.Measured(json.load(open(os.path.join(work, "state.json")))),
                        {"series": os.environ["SERIES"].split(","), "runs": int(os.environ["RUNS"]),
                         "coverage": os.environ["COVERAGE"] == "1", "etsmodel": os.environ["ETSMODEL"] == "1",
                         "data": os.environ["DATA"], "peer": os.environ["META_SM"],
                         "postgresql": os.environ["META_PG"], "automl_threads": os.environ["META_THREADS"]},
                        {"series": series_out, "checks_failed": fails}, [("check", f) for f in fails])
    print(f"written to {os.environ['JSON']}", file=sys.stderr)
sys.exit(1 if fails else 0)
PY
if [ -s "$notices" ]; then
    echo "NOTICEs and warnings of the server:" >&2
    sort "$notices" | uniq -c >&2
fi
exit $rc
