"""Helpers the benchmark scripts share for their machine-readable results.

Every benchmark writes, besides its markdown report, a JSON file (its --json option,
or the JSON environment variable of the shell scripts) that bench/report.py turns into
docs/benchmarks.md. The file is one object:

    {"benchmark": "<name>", "format": 1,
     "measured": {"date": ..., "commit": ..., "commit_short": ..., "dirty": ...,
                  "changed": [...], "automl_so": {...}, "automl_so_changed": ...},
     "params": {...},      # what was asked for (sizes, seeds, budgets, data folder)
     "results": ...,       # the figures, as the script computed them
     "errors": [[what, message], ...]}

NaN and infinities are written as null (JSON has no such numbers); numpy scalars and
arrays become plain numbers and lists.
"""

import datetime
import hashlib
import json
import math
import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FORMAT = 1


def git_state(repo=REPO):
    """The checkout being measured: full and short commit, whether tracked files differ."""
    def git(*args):
        r = subprocess.run(["git", "-C", repo] + list(args), capture_output=True, text=True)
        return r.stdout.rstrip("\n") if r.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    # porcelain lines are "XY path": the status letters may start with a blank
    changed = git("status", "--porcelain", "--untracked-files=no")
    changed = [line[3:] for line in changed.splitlines() if line] if changed else []
    return {"commit": commit or "?", "commit_short": (commit or "?")[:12],
            "commit_date": git("log", "-1", "--format=%cI") or "?",
            "dirty": bool(changed), "changed": changed,
            # what can change a figure: anything but the generated documents
            "dirty_code": any(not c.startswith("docs/") for c in changed)}


def so_state():
    """The installed automl.so: path, modification time (UTC), SHA-256 prefix."""
    try:
        libdir = subprocess.run(["pg_config", "--pkglibdir"], capture_output=True,
                                text=True).stdout.strip()
        path = os.path.join(libdir, "automl.so")
        with open(path, "rb") as f:
            digest = hashlib.sha256(f.read()).hexdigest()[:12]
        mtime = datetime.datetime.fromtimestamp(os.path.getmtime(path), datetime.timezone.utc)
        return {"path": path, "mtime": mtime.strftime("%Y-%m-%d %H:%M:%S UTC"),
                "sha256": digest}
    except OSError as e:
        return {"path": None, "error": str(e)}


def plain(x):
    """x with numpy types, tuples, sets and non-finite floats made JSON-safe."""
    try:
        import numpy as np
    except ImportError:         # pragma: no cover - every caller has numpy
        np = None
    if np is not None:
        if isinstance(x, np.ndarray):
            return [plain(v) for v in x.tolist()]
        if isinstance(x, np.generic):
            x = x.item()
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    if isinstance(x, dict):
        return {str(k): plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple, set)):
        return [plain(v) for v in x]
    if isinstance(x, (str, int, bool)) or x is None:
        return x
    return str(x)


def load_average():
    """The 1, 5 and 15 minute load averages, as strings (None where /proc is missing)."""
    try:
        with open("/proc/loadavg") as f:
            return f.read().split()[:3]
    except OSError:
        return None


class Measured:
    """What is being measured, taken when a benchmark starts; finish() adds the end."""

    def __init__(self, state=None):
        if state:               # saved by `benchlib.py start` (the shell benchmarks)
            self.started = datetime.datetime.fromisoformat(state["started"])
            self.git, self.so = state["git"], state["so"]
            self.load = state.get("load")
            return
        self.started = datetime.datetime.now(datetime.timezone.utc)
        self.git = git_state()
        self.so = so_state()
        self.load = load_average()

    def state(self):
        return {"started": self.started.isoformat(), "git": self.git, "so": self.so,
                "load": self.load}

    def as_dict(self):
        end_so = so_state()
        now = datetime.datetime.now(datetime.timezone.utc)
        return dict(self.git, date=self.started.strftime("%Y-%m-%d %H:%M:%S UTC"),
                    seconds=round((now - self.started).total_seconds(), 1),
                    load_average_start=self.load, load_average_end=load_average(),
                    automl_so=self.so,
                    automl_so_changed=end_so.get("sha256") != self.so.get("sha256"))


def write_json(path, benchmark, measured, params, results, errors=()):
    """Writes the results file; a no-op when path is empty."""
    if not path:
        return
    doc = {"benchmark": benchmark, "format": FORMAT, "measured": measured.as_dict(),
           "params": plain(params), "results": plain(results),
           "errors": [[str(a), str(b)] for a, b in errors]}
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(doc, f, indent=1, allow_nan=False, sort_keys=False)
        f.write("\n")
    os.replace(tmp, path)


ANCHORS = os.path.join(REPO, "bench", "anchors.json")


def anchors():
    """bench/anchors.json: anchor figures with their sources (see the file's comment)."""
    with open(ANCHORS) as f:
        return json.load(f)


def amlb(name, which="best"):
    """The AMLB figure of a dataset as its source prints it ('-' when there is none)."""
    a = anchors()["amlb"].get(name)
    return a[which] if a else "-"


def anchor_range(text):
    """(low, high) of an anchor string: '0.93' -> (0.93, 0.93); '0.79–0.80' -> (0.79, 0.80)."""
    parts = [p for p in str(text).replace("–", "-").split("-") if p.strip()]
    try:
        vals = [float(p) for p in parts]
    except ValueError:
        return None
    return (min(vals), max(vals)) if vals else None


def _run(cmd):
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        return r.stdout.strip() if r.returncode == 0 else None
    except (OSError, subprocess.TimeoutExpired):
        return None


def machine():
    """nproc, CPU model, RAM, OS, kernel, hypervisor: what a reader needs to compare."""
    lscpu = {}
    for line in (_run(["lscpu"]) or "").splitlines():
        k, _, v = line.partition(":")
        lscpu[k.strip()] = v.strip()
    mem_kb = None
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    mem_kb = int(line.split()[1])
    except OSError:
        pass
    osr = {}
    try:
        with open("/etc/os-release") as f:
            for line in f:
                k, _, v = line.strip().partition("=")
                osr[k] = v.strip('"')
    except OSError:
        pass
    return {"nproc": os.cpu_count(), "cpu_model": lscpu.get("Model name"),
            "threads_per_core": lscpu.get("Thread(s) per core"),
            "sockets": lscpu.get("Socket(s)"), "hypervisor": lscpu.get("Hypervisor vendor"),
            "ram_gib": round(mem_kb / 1048576, 1) if mem_kb else None,
            "os": osr.get("PRETTY_NAME"), "kernel": _run(["uname", "-r"]),
            "load_average": load_average()}


PACKAGES = ["python3-numpy", "python3-sklearn", "python3-xgboost", "python3-statsmodels",
            "python3-scipy", "python3-matplotlib", "libopenblas0-serial", "python3"]
SETTINGS = ["server_version", "shared_buffers", "work_mem", "max_parallel_workers_per_gather",
            "max_worker_processes", "fsync", "automl.threads", "automl.train_memory",
            "automl.max_train_memory"]


def run_info(results_dir, options):
    """results_dir/run.json: the run's commit (at its start and end), machine, server,
    packages, options, and every benchmark's exit status and wall time (timings.tsv)."""
    with open(os.path.join(results_dir, "state.json")) as f:
        start = Measured(json.load(f))
    end = git_state()
    settings = {}
    for k in SETTINGS:
        v = _run(["psql", "-X", "-A", "-t", "-q", "-c", "SHOW %s" % k])
        settings[k] = v
    packages = {}
    for p in PACKAGES:
        packages[p] = _run(["dpkg-query", "-W", "-f", "${Version}", p])
    timings = []
    path = os.path.join(results_dir, "timings.tsv")
    if os.path.exists(path):
        for line in open(path):
            name, rc, secs = line.rstrip("\n").split("\t")
            timings.append({"benchmark": name, "exit": int(rc), "seconds": float(secs),
                            "results": name + ".json" if os.path.exists(
                                os.path.join(results_dir, name + ".json")) else None})
    doc = {"format": FORMAT, "measured": start.as_dict(),
           "commit_at_end": end["commit"], "commit_changed": end["commit"] != start.git["commit"],
           "machine": machine(), "server": settings, "packages": packages,
           "options": options, "benchmarks": timings,
           "seconds": round(sum(t["seconds"] for t in timings), 1)}
    with open(os.path.join(results_dir, "run.json"), "w") as f:
        json.dump(plain(doc), f, indent=1)
        f.write("\n")


def main(argv):
    """For the shell benchmarks and bench/run.sh:

        benchlib.py start STATE            # at the start: the commit, automl.so, the time
        benchlib.py write OUT NAME STATE   # at the end: stdin is {"params", "results", "errors"}
        benchlib.py run-info DIR OPTIONS   # DIR/run.json from DIR/state.json, DIR/timings.tsv
    """
    if len(argv) == 4 and argv[1] == "run-info":
        run_info(argv[2], json.loads(argv[3]))
        return 0
    if len(argv) == 3 and argv[1] == "start":
        with open(argv[2], "w") as f:
            json.dump(Measured().state(), f)
        return 0
    if len(argv) == 5 and argv[1] == "write":
        with open(argv[4]) as f:
            measured = Measured(json.load(f))
        doc = json.load(sys.stdin)
        write_json(argv[2], argv[3], measured, doc.get("params", {}), doc.get("results"),
                   doc.get("errors", []))
        return 0
    print(main.__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
