#!/usr/bin/env python3
"""Large survey files: how coscale validate scales to 10^6 respondents.

    .venv/bin/python bench/large_files.py                # CSV, 1,000 and 1,000,000 rows
    .venv/bin/python bench/large_files.py --parquet      # also the Parquet files
    .venv/bin/python bench/large_files.py --rows 200000  # another large size
    .venv/bin/python bench/large_files.py --phases-only  # only the in-process phase table

The target (the project's performance issue): a survey of 1,000,000
respondents and 15 items (CSV, about 35 MB) goes through
``coscale validate --format json`` with a peak memory under 2 GB, and what it
costs beyond validating a 1,000-row file of the same shape is at most 3 times
the time ``pyarrow.csv.read_csv`` takes to read the large CSV::

    ratio = (t_validate(big) - t_validate(small)) / t_pyarrow_read(big) <= 3

Data: 15 items in 3 scales of 5 (answers 1-5 cut from a three-factor model,
one reverse-keyed item per scale), about 1% of the answers missing at random,
plus an integer ``id`` and a text ``group`` column. Generated with numpy from a
fixed seed and cached in /tmp/coscale-bench/large (CSV, Parquet and the scale
file), so every run reads the same bytes.

Every command runs as a fresh process (start-up included). The commands take
turns: one unmeasured round, then ``--repeats`` rounds in which each runs
once, so a slow stretch of a shared or virtual machine hits them alike;
``big - small`` is the median over the rounds of the difference within a
round. Wall times shown are medians, peak memory the largest resident set
size (GNU ``/usr/bin/time -f %M``). The pyarrow read runs in a fresh process
that only imports pyarrow and reads the file (import excluded, timed
inside). On small virtual machines the first touch of fresh memory costs a
varying amount of system time, so use 9 or more rounds.

A second table times the phases of one ``coscale validate`` in-process
(read_table, prepare, then ``coscale.validate`` split with wrappers around the
answer summaries, fits, reliability, item statistics, HTMT and distributions),
to see where the time goes. Markdown goes to stdout, progress to stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from common import log  # bench/common.py (this script runs with bench/ first on sys.path)

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CACHE = Path(tempfile.gettempdir()) / "coscale-bench" / "large"
SEED = 20261128
SMALL, LARGE = 1_000, 1_000_000
ITEMS = {"s1": ["a1", "a2", "a3", "a4", "a5"], "s2": ["b1", "b2", "b3", "b4", "b5"], "s3": ["c1", "c2", "c3", "c4", "c5"]}
REVERSE = ("a5", "b5", "c5")
MISSING_SHARE = 0.01
GROUPS = ("A", "B", "C", "D")
TARGET_RATIO = 3.0
TARGET_MB = 2048.0
FORMAT_VERSION = 1  # bump when the generator changes: the cache key includes it

SCALE_YAML = """\
# Benchmark instrument: 3 scales of 5 items, answers 1-5 (bench/large_files.py)
instrument: bench_large
response:
  min: 1
  max: 5
missing_codes: [9]
scales:
"""


# ---------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------


def item_columns() -> list[str]:
    return [c for cols in ITEMS.values() for c in cols]


def simulate(n: int, seed: int = SEED) -> dict:
    """Columns of an n-row survey: ``id`` (int), ``group`` (text), items (int8, -1 = missing).

    A three-factor model (loadings 0.6-0.8, factor correlations 0.3-0.5) cut
    at fixed thresholds into answers 1-5 (roughly symmetric, so
    ``--estimator auto`` picks ML with FIML for the missing answers).
    """
    rng = np.random.default_rng([seed, n])
    phi = np.array([[1.0, 0.5, 0.3], [0.5, 1.0, 0.4], [0.3, 0.4, 1.0]])
    eta = rng.standard_normal((n, 3)) @ np.linalg.cholesky(phi).T
    cols = item_columns()
    out: dict = {"id": np.arange(1, n + 1, dtype=np.int64)}
    out["group"] = np.asarray(GROUPS, dtype=object)[rng.integers(0, len(GROUPS), n)]
    thresholds = np.array([-1.6, -0.6, 0.5, 1.5])
    for f, (scale, names) in enumerate(ITEMS.items()):
        for j, name in enumerate(names):
            lam = 0.6 + 0.05 * j
            y = lam * eta[:, f] + np.sqrt(1.0 - lam**2) * rng.standard_normal(n)
            answer = (np.searchsorted(thresholds, y) + 1).astype(np.int8)
            if name in REVERSE:
                answer = (6 - answer).astype(np.int8)
            answer[rng.random(n) < MISSING_SHARE] = -1
            out[name] = answer
    assert list(out)[2:] == cols
    return out


def _arrow_table(columns: dict):
    import pyarrow as pa

    arrays, names = [], []
    for name, values in columns.items():
        if name == "group":
            arrays.append(pa.array(values.astype(str)))
        elif name == "id":
            arrays.append(pa.array(values))
        else:
            arrays.append(pa.array(values, mask=values < 0))
        names.append(name)
    return pa.Table.from_arrays(arrays, names=names)


def files(n: int) -> dict:
    """Paths of the n-row CSV and Parquet files and of the scale file (made once, cached)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    stem = CACHE / f"survey_v{FORMAT_VERSION}_{n}"
    csv_path, pq_path = Path(f"{stem}.csv"), Path(f"{stem}.parquet")
    yaml_path = CACHE / f"scales_v{FORMAT_VERSION}.yaml"
    if not yaml_path.exists():
        text = SCALE_YAML
        for scale, names in ITEMS.items():
            text += f"  - name: {scale}\n    items:\n"
            for name in names:
                text += f"      - {{id: {name}, reverse: true}}\n" if name in REVERSE else f"      - {name}\n"
        _atomic_write(yaml_path, text.encode())
    if not (csv_path.exists() and pq_path.exists()):
        import pyarrow.csv as pacsv
        import pyarrow.parquet as pq

        log(f"generating {n:,} rows in {CACHE} ...")
        table = _arrow_table(simulate(n))
        tmp = csv_path.with_suffix(".csv.tmp")
        with open(tmp, "wb") as fh:  # a plain header (pyarrow would quote the names)
            fh.write((",".join(table.column_names) + "\n").encode())
            pacsv.write_csv(table, fh, write_options=pacsv.WriteOptions(include_header=False, quoting_style="none"))
        os.replace(tmp, csv_path)
        tmp = pq_path.with_suffix(".parquet.tmp")
        pq.write_table(table, tmp)
        os.replace(tmp, pq_path)
    return {"csv": csv_path, "parquet": pq_path, "scales": yaml_path}


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


# ---------------------------------------------------------------------------
# Fresh processes
# ---------------------------------------------------------------------------

PYARROW_READ = (
    "import sys, time, pyarrow.csv as c\n"
    "t = time.perf_counter(); tab = c.read_csv(sys.argv[1]); t = time.perf_counter() - t\n"
    "print(t, tab.num_rows)\n"
)


def run(cmd: list, env=None) -> tuple[float, float, str]:
    """Run a command; return (wall s, peak MB, stdout). Raises on a non-zero exit."""
    gnu_time = shutil.which("time") if os.path.exists("/usr/bin/time") else None
    with tempfile.NamedTemporaryFile("r", suffix=".time") as tf:
        full = (["/usr/bin/time", "-f", "%M", "-o", tf.name] if gnu_time else []) + list(map(str, cmd))
        t0 = time.perf_counter()
        # with --tree, run from the tree: "python -c" puts the working directory first on sys.path
        cwd = str(TREE) if TREE is not None else None
        proc = subprocess.Popen(full, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True, cwd=cwd)
        out, err = proc.communicate()
        wall = time.perf_counter() - t0
        if proc.returncode not in (0, 1):  # validate exits 1 when a verdict fails, which is fine here
            raise RuntimeError(f"{' '.join(map(str, cmd))} exited {proc.returncode}: {err.strip()[-500:]}")
        if gnu_time:
            text = tf.read().strip().splitlines()
            peak = float(text[-1]) / 1024.0 if text else float("nan")
        else:  # pragma: no cover
            peak = float("nan")
    return wall, peak, out


def interleaved(cmds: dict, repeats: int, warmup: int = 1) -> dict:
    """Run each command of ``{label: cmd}`` ``repeats`` times, taking turns.

    One unmeasured round first: it brings the files into the page cache and,
    on virtual machines, lets the guest back the memory the runs need. Then
    round after round every command runs once, so that a slow stretch of the
    machine hits all of them alike and differences between commands can be
    taken within a round (paired). Returns ``{label: {"s": median wall,
    "mb": largest peak RSS, "out": last stdout, "all": walls}}``.
    """
    for _ in range(warmup):
        for cmd in cmds.values():
            run(cmd, env=tree_env())
    res = {label: {"all": [], "peaks": [], "outs": [], "out": ""} for label in cmds}
    for i in range(repeats):
        for label, cmd in cmds.items():
            wall, peak, out = run(cmd, env=tree_env())
            r = res[label]
            r["all"].append(wall)
            r["peaks"].append(peak)
            r["outs"].append(out)
            r["out"] = out
            log(f"  round {i + 1}/{repeats}: {label}: {wall:.2f} s, {peak:.0f} MB")
    for r in res.values():
        r["s"] = statistics.median(r["all"])
        r["mb"] = max(r["peaks"])
    return res


def pyarrow_cmd(path: Path) -> list:
    return [sys.executable, "-c", PYARROW_READ, path]


TREE: Path | None = None  # --tree: run coscale from this source tree instead


def coscale_cmd(data: Path, scales: Path) -> list:
    args = ["validate", data, "--scales", scales, "--format", "json"]
    if TREE is not None:  # the same interpreter, coscale imported from the tree (PYTHONPATH and cwd)
        code = ("import sys, coscale; from coscale.cli import main; "
                f"assert coscale.__file__.startswith({str(TREE) + os.sep!r}), coscale.__file__; "
                "sys.argv[0] = 'coscale'; sys.exit(main())")
        return [sys.executable, "-c", code] + args
    exe = ROOT / ".venv" / "bin" / "coscale"
    if not exe.exists():
        exe = Path(shutil.which("coscale") or "coscale")
    return [exe] + args


def tree_env() -> dict | None:
    if TREE is None:
        return None
    env = dict(os.environ)
    env["PYTHONPATH"] = str(TREE) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


# ---------------------------------------------------------------------------
# Phases in-process
# ---------------------------------------------------------------------------


@contextlib.contextmanager
def _timed_wrappers(timings: dict):
    """Wrap the functions validate() calls, adding their wall time to ``timings``."""
    import coscale.api as api
    import coscale.stats.estimators as est
    import coscale.stats.fiml as fiml
    import coscale.stats.moments as moments
    import coscale.stats.reliability as rel

    targets = [
        (api, "_summaries", "answer summaries (patterns, counts)"),
        (fiml, "missing_patterns", "moments / FIML patterns"),
        (moments, "listwise_moments", "moments / FIML patterns"),
        (fiml.FimlEstimation, "__post_init__", "FIML saturated model (EM)"),
        (api, "choose", "estimator choice"),
        (fiml.FimlEstimation, "fit", "fits"),
        (est.Estimation, "fit", "fits"),
        (api, "cfa_result", "fit measures, MI"),
        (fiml.FimlEstimation, "measures", "fit measures, MI"),
        (est.Estimation, "measures", "fit measures, MI"),
        (rel, "cronbach_alpha", "reliability (alpha)"),
        (rel, "cronbach_alpha_from_patterns", "reliability (alpha)"),
        (rel, "item_statistics", "item statistics"),
        (rel, "item_statistics_from_summary", "item statistics"),
        (api, "answer_distributions", "answer distributions"),
        (rel, "htmt", "HTMT"),
    ]
    saved = []
    depth = {"n": 0}

    def wrap(fn, label):
        def inner(*a, **k):
            # count only the outermost wrapped call, so nested phases are not counted twice
            top = depth["n"] == 0
            depth["n"] += 1
            t0 = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                depth["n"] -= 1
                if top:
                    timings[label] = timings.get(label, 0.0) + time.perf_counter() - t0

        return inner

    for owner, attr, label in targets:
        fn = owner.__dict__.get(attr) if isinstance(owner, type) else getattr(owner, attr, None)
        if fn is None:
            continue
        saved.append((owner, attr, fn))
        setattr(owner, attr, wrap(fn, label))
    # estimation_for is imported by name in api and estimators: patched there too via missing_patterns
    try:
        yield
    finally:
        for owner, attr, fn in reversed(saved):
            setattr(owner, attr, fn)


def phases(path: Path, scales: Path) -> dict:
    import coscale
    from coscale.survey import prepare, read_table

    from coscale.api import _instrument

    instrument = _instrument(str(scales))
    out: dict = {}
    t0 = time.perf_counter()
    df = read_table(str(path), columns=instrument.columns, compact=True)  # as the CLI: only the items, compact
    out["read_table"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    prepare(df, instrument, source=str(path))
    out["prepare (alone)"] = time.perf_counter() - t0
    timings: dict = {}
    with _timed_wrappers(timings):
        t0 = time.perf_counter()
        coscale.validate(df, str(scales), source=str(path))
        total = time.perf_counter() - t0
    out["validate() total"] = total
    out.update({f"  {k}": v for k, v in timings.items()})
    out["  prepare + rest (validate() minus the above)"] = total - sum(timings.values())
    return out


def _phases_child(path: str, scales: str) -> None:
    import coscale

    result = phases(Path(path), Path(scales))
    result["coscale from"] = str(Path(coscale.__file__).parent.parent)
    print(json.dumps(result))


def phases_fresh(path: Path, scales: Path) -> dict:
    """Run :func:`phases` in a fresh process (so one size does not warm the next)."""
    run([sys.executable, __file__, "--_phases-child", path, scales], env=tree_env())  # warm-up
    _, peak, out = run([sys.executable, __file__, "--_phases-child", path, scales], env=tree_env())
    res = json.loads(out.strip().splitlines()[-1])
    where = res.pop("coscale from")
    expected = TREE or ROOT
    if Path(where).resolve() != Path(expected).resolve():
        raise RuntimeError(f"the phases ran coscale from {where}, not {expected}")
    res["peak MB (whole process)"] = peak
    return res


# ---------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=LARGE, help="rows of the large file (default 1,000,000)")
    ap.add_argument("--repeats", type=int, default=9, help="measured rounds (default 9)")
    ap.add_argument("--parquet", action="store_true", help="also time the Parquet files")
    ap.add_argument("--phases-only", action="store_true")
    ap.add_argument("--no-phases", action="store_true")
    ap.add_argument("--json", help="also write the numbers to this JSON file")
    ap.add_argument("--tree", type=Path, help="run coscale from this source tree (e.g. a checkout of an older "
                    "commit) with this interpreter, to compare versions")
    ap.add_argument("--_phases-child", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    global TREE
    TREE = args.tree.resolve() if args.tree else None
    if args._phases_child:
        _phases_child(*args._phases_child)
        return 0

    small, big = files(SMALL), files(args.rows)
    size_mb = big["csv"].stat().st_size / 1e6
    print(f"## Large files: coscale validate on {args.rows:,} rows x 15 items\n")
    print(f"Machine: {platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}; "
          f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    print(f"Large CSV: {big['csv']} ({size_mb:.1f} MB); small CSV: {small['csv']} ({SMALL:,} rows). "
          f"{args.repeats} rounds after one warm-up round (medians; largest peak RSS). "
          f"coscale from {TREE or ROOT}.\n")
    results: dict = {"rows": args.rows, "csv_mb": size_mb}
    ok = True
    if not args.phases_only:
        kinds = ["csv"] + (["parquet"] if args.parquet else [])
        cmds = {"pyarrow": pyarrow_cmd(big["csv"])}
        for kind in kinds:
            cmds[f"small {kind}"] = coscale_cmd(small[kind], small["scales"])
            cmds[f"big {kind}"] = coscale_cmd(big[kind], big["scales"])
        log(f"{args.repeats} rounds of: {', '.join(cmds)} ...")
        timed = interleaved(cmds, args.repeats)
        pa_res = timed["pyarrow"]
        pa_res["inner_s"] = statistics.median(float(out.split()[0]) for out in pa_res["outs"])
        rows = [("pyarrow.csv.read_csv (fresh process, incl. import)", pa_res)]
        verdicts = []
        for kind in kinds:
            s, b = timed[f"small {kind}"], timed[f"big {kind}"]
            rows.append((f"coscale validate {SMALL:,} rows ({kind})", s))
            rows.append((f"coscale validate {args.rows:,} rows ({kind})", b))
            extra = statistics.median([bb - ss for bb, ss in zip(b["all"], s["all"])])  # paired, per round
            ratio = extra / pa_res["inner_s"]
            time_ok = ratio <= TARGET_RATIO
            mem_ok = b["mb"] < TARGET_MB
            ok &= time_ok and mem_ok
            verdicts.append((kind, extra, ratio, time_ok, b["mb"], mem_ok))
            est = json.loads(b["out"])["estimation"] if b["out"].strip().startswith("{") else {}
            results[kind] = {"small_s": s["s"], "big_s": b["s"], "big_mb": b["mb"], "small_mb": s["mb"],
                             "extra_s": extra, "ratio": ratio, "estimation": est.get("estimator"),
                             "missing": est.get("missing")}
        results["pyarrow_read_s"] = pa_res["inner_s"]
        print("| what | median s | peak MB |")
        print("|---|---:|---:|")
        for label, r in rows:
            print(f"| {label} | {r['s']:.2f} | {r['mb']:.0f} |")
        print(f"| pyarrow.csv.read_csv, timed inside the process (the ratio's denominator) | {pa_res['inner_s']:.2f} | |")
        print()
        print(f"| file | big - small s (median of the rounds) | ratio (big - small) / pyarrow read | time target <= {TARGET_RATIO:g} | "
              f"peak MB | memory target < {TARGET_MB:.0f} MB |")
        print("|---|---:|---:|---|---:|---|")
        for kind, extra, ratio, time_ok, mb, mem_ok in verdicts:
            print(f"| {kind} | {extra:.2f} | {ratio:.2f} | {'met' if time_ok else 'NOT met'} | {mb:.0f} | "
                  f"{'met' if mem_ok else 'NOT met'} |")
        for kind in kinds:
            print(f"\n{kind}: estimator {results[kind]['estimation']}, missing {results[kind]['missing']}.", end="")
        print("\n")
    if not args.no_phases:
        log("phases in-process ...")
        table = {}
        for n, f in ((SMALL, small), (args.rows, big)):
            table[n] = phases_fresh(f["csv"], f["scales"])
        results["phases"] = {str(k): v for k, v in table.items()}
        labels = list(dict.fromkeys(k for v in table.values() for k in v))
        print("### Phases in one process (CSV; seconds)\n")
        print(f"| phase | {SMALL:,} rows | {args.rows:,} rows |")
        print("|---|---:|---:|")
        for label in labels:
            cells = []
            for n in (SMALL, args.rows):
                v = table[n].get(label)
                cells.append("" if v is None else (f"{v:.0f}" if "MB" in label else f"{v:.3f}"))
            print(f"| {label.replace(' ', '&nbsp;', 2) if label.startswith('  ') else label} | {cells[0]} | {cells[1]} |")
        print()
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    if not args.phases_only:
        print("Targets " + ("met." if ok else "NOT met."))
    return 0


if __name__ == "__main__":
    sys.exit(main())
