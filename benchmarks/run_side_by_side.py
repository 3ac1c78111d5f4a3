"""Side-by-side benchmark of daskdl against H2O-3 Deep Learning.

Every (library, case, repeat) runs in a fresh Python process (``bench_h2o.py``) so that peak RSS
figures are not polluted by earlier runs. The raw result of each run is kept as
``<out dir>/runs/<lib>_<case>_<repeat>.json``; the medians over repeats are printed as a markdown
table and written, with the raw runs, to ``--out``.

    python benchmarks/run_side_by_side.py --cases mnist,prostate,airlines,adult --repeats 3 \\
        --only both --out benchmarks/out/results.json

``--reuse`` keeps existing raw files instead of running them again (e.g. to rebuild the table).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from bench_h2o import CASES, LIBS  # noqa: E402

# (key in the per-run dict, label, unit, higher is better)
QUANTITIES = [
    ("metric", "test metric", "", None),
    ("test_error", "test error (1 - accuracy from predict)", "", False),
    ("logloss", "test logloss", "", False),
    ("train_s", "train time", "s", False),
    ("samples_per_s", "training speed (epochs x rows / train s)", "rows/s", True),
    ("reported_speed", "training speed reported by the library (scoring history)", "rows/s", True),
    ("epochs_done", "epochs done (scoring history)", "", None),
    ("predict_first_rows_per_s", "first predict + fetch of the test frame", "rows/s", True),
    ("predict_fetch_rows_per_s", "predict + fetch rows/s (median of 5 further calls)", "rows/s", True),
    ("peak_rss_python_mib", "peak RSS, Python process", "MiB", False),
    ("peak_rss_engine_mib", "peak RSS, engine (H2O: JVM; daskdl: worker processes)", "MiB", False),
]


def metric_name(case: str) -> str:
    return "logloss" if CASES[case]["params"]["distribution"] == "multinomial" else "auc"


def run_one(lib: str, case: str, rep: int, runs_dir: str, timeout: float, reuse: bool) -> dict:
    path = os.path.join(runs_dir, f"{lib}_{case}_{rep}.json")
    if reuse and os.path.exists(path):
        with open(path) as f:
            return json.load(f)
    cmd = [sys.executable, os.path.join(HERE, "bench_h2o.py"), "--case", case, "--lib", lib, "--json", path]
    t0 = time.perf_counter()
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        rc, err = p.returncode, p.stderr
    except subprocess.TimeoutExpired as e:
        rc, err = "timeout", (e.stderr or b"").decode(errors="replace") if isinstance(e.stderr, bytes) else str(e.stderr)
    wall = round(time.perf_counter() - t0, 1)
    if rc == 0 and os.path.exists(path):
        with open(path) as f:
            res = json.load(f)
        res["process_wall_s"] = wall
        return res
    res = dict(lib=lib, case=case, failed=True, returncode=rc, stderr_tail=(err or "")[-3000:],
               process_wall_s=wall)
    with open(path, "w") as f:
        json.dump(res, f, indent=1)
    return res


def _median(runs: list[dict], key: str):
    vals = [r[key] for r in runs if not r.get("failed") and isinstance(r.get(key), (int, float))]
    return statistics.median(vals) if vals else None


def summarise(results: dict, cases: list[str], libs: list[str]) -> dict:
    out = {}
    for case in cases:
        out[case] = {}
        for lib in libs:
            runs = results.get(lib, {}).get(case, [])
            med = {}
            for key, *_ in QUANTITIES:
                k = {"metric": metric_name(case), "reported_speed": f"{lib}_reported_speed"}.get(key, key)
                med[key] = _median(runs, k)
            med["n_ok"] = sum(1 for r in runs if not r.get("failed"))
            med["n_runs"] = len(runs)
            out[case][lib] = med
    return out


def _fmt(v) -> str:
    if v is None:
        return "–"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    if abs(v) >= 10:
        return f"{v:.1f}"
    return f"{v:.4g}"


def ratio(key: str, h, d):
    """daskdl/H2O for speeds (higher is better), H2O/daskdl for times and memory: > 1 favours daskdl."""
    if h is None or d is None or h == 0 or d == 0:
        return None
    better_high = dict((k, hb) for k, _, _, hb in QUANTITIES)[key]
    if better_high is None:
        return None
    return d / h if better_high else h / d


def markdown(summary: dict, cases: list[str], libs: list[str]) -> str:
    lines = ["| case | quantity | H2O | daskdl | ratio (>1: daskdl better) |",
             "|---|---|---:|---:|---:|"]
    for case in cases:
        s = summary[case]
        h = s.get("h2o", {})
        d = s.get("daskdl", {})
        for key, label, unit, _ in QUANTITIES:
            hv, dv = h.get(key), d.get(key)
            if hv is None and dv is None:
                continue
            if key == "metric" and metric_name(case) == "logloss":
                continue  # the logloss row below already shows it
            lab = f"test {metric_name(case)}" if key == "metric" else label
            if unit:
                lab += f" [{unit}]"
            r = ratio(key, hv, dv)
            lines.append(f"| {case} | {lab} | {_fmt(hv)} | {_fmt(dv)} | {'' if r is None else f'{r:.2f}x'} |")
        runs = ", ".join(f"{lib}: {s.get(lib, {}).get('n_ok', 0)}/{s.get(lib, {}).get('n_runs', 0)} ok"
                         for lib in libs)
        lines.append(f"| {case} | runs | | | {runs} |")
    lines.append("")
    lines.append("Medians over repeats. Ratios: daskdl/H2O for speeds, H2O/daskdl for times, errors and memory; "
                 "none for AUC and epochs.")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", default="mnist,prostate,airlines,adult",
                    help=f"comma-separated subset of {sorted(CASES)}")
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--only", default="both", choices=["h2o", "daskdl", "both"])
    ap.add_argument("--out", default=os.path.join(HERE, "out", "results.json"))
    ap.add_argument("--timeout", type=float, default=3600.0, help="seconds per single run")
    ap.add_argument("--reuse", action="store_true", help="keep existing raw run files")
    a = ap.parse_args(argv)

    cases = [c.strip() for c in a.cases.split(",") if c.strip()]
    bad = [c for c in cases if c not in CASES]
    if bad:
        ap.error(f"--cases: unknown case(s) {bad}; allowed: {sorted(CASES)}")
    if a.repeats < 1:
        ap.error(f"--repeats must be >= 1; got {a.repeats}")
    libs = list(LIBS) if a.only == "both" else [a.only]

    out_dir = os.path.dirname(os.path.abspath(a.out))
    runs_dir = os.path.join(out_dir, "runs")
    os.makedirs(runs_dir, exist_ok=True)

    results = {lib: {c: [] for c in cases} for lib in libs}
    for case in cases:
        for rep in range(a.repeats):
            for lib in libs:
                res = run_one(lib, case, rep, runs_dir, a.timeout, a.reuse)
                results[lib][case].append(res)
                status = "FAILED" if res.get("failed") else (
                    f"{metric_name(case)}={res.get(metric_name(case))} train_s={res.get('train_s')}")
                print(f"[{lib} {case} #{rep}] {status} ({res.get('process_wall_s')} s)", file=sys.stderr,
                      flush=True)
                if res.get("failed"):
                    print(res.get("stderr_tail", "")[-1500:], file=sys.stderr)

    summary = summarise(results, cases, libs)
    table = markdown(summary, cases, libs)
    print(table)
    doc = dict(cases={c: dict(description=CASES[c]["description"], params=CASES[c]["params"]) for c in cases},
               libs=libs, repeats=a.repeats, medians=summary, runs=results, table_markdown=table)
    with open(a.out, "w") as f:
        json.dump(doc, f, indent=1, default=float)
    print(f"\nwritten: {a.out}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
