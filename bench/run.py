#!/usr/bin/env python3
"""coscale benchmarks: wall time and peak memory against semopy and lavaan.

    .venv/bin/python bench/run.py                  # everything, 5 repeats
    .venv/bin/python bench/run.py --quick          # skip the 10^5-row survey
    .venv/bin/python bench/run.py --only validate-large --million   # also 10^6 rows
    .venv/bin/python bench/run.py --only startup cfa-hs --repeats 3
    .venv/bin/python bench/run.py --blas-threads 1 -o /tmp/bench.md

Every contender runs as a fresh process (start-up included: that is what a
pipeline pays); its wall time is the median over ``--repeats`` runs and its
peak memory the largest resident set size over those runs (GNU
``/usr/bin/time -f %M`` if present, else ``ru_maxrss`` from ``os.wait4``);
CPU s is user + system time of the process. A second table times the model fit
inside one Python process (imports and file reading excluded) for coscale
and semopy. lavaan is run through ``Rscript`` only when ``Rscript`` is on
PATH, semopy only when it can be imported. A contender that fails shows
"failed: <reason>" in its row instead of stopping the run.

Markdown goes to stdout, progress to stderr. See bench/README.md.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import hashlib
import importlib.metadata
import importlib.util
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
EXAMPLE = ROOT / "examples" / "coproduction_survey.csv"
HS_CSV = ROOT / "tests" / "data" / "holzinger1939.csv"
CACHE = Path(tempfile.gettempdir()) / "coscale-bench"
BENCHMARKS = ("startup", "validate-example", "cfa-hs", "invariance-hs", "validate-large")
LARGE_SIZES = (10_000, 100_000)
BUDGET = 20.0  # seconds per in-process item before its repeats stop early
SEMOPY_NO_GROUPS = "n/a: semopy cannot hold parameters equal across groups"

sys.path.insert(0, str(HERE))
from coscale_fit import hs_scale_file  # noqa: E402  (bench/coscale_fit.py)
from common import semopy_available  # noqa: E402  (bench/common.py)


def log(msg: str) -> None:
    sys.stderr.write(msg + "\n")
    sys.stderr.flush()


def one_line(text: str, limit: int = 110) -> str:
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    # an R/Python error usually ends with the useful line
    line = lines[-1] if lines else "no output"
    for ln in lines:
        if ln.startswith(("Error", "coscale: error")):
            line = ln
            break
    line = line.replace("|", "/")
    return line if len(line) <= limit else line[: limit - 3] + "..."


# ---------------------------------------------------------------------------
# Running one process
# ---------------------------------------------------------------------------


@dataclass
class Run:
    wall: float
    cpu: float | None
    rss_mb: float | None
    returncode: int
    stdout: str
    stderr: str
    timed_out: bool = False


def _rss_mb(ru) -> float:
    # Linux reports kilobytes, macOS bytes
    return ru.ru_maxrss / (1024 * 1024) if sys.platform == "darwin" else ru.ru_maxrss / 1024


def _gnu_time() -> str | None:
    """GNU time (``-f``/``-o``), if installed: it measures its own child's peak RSS."""
    path = "/usr/bin/time"
    if not os.access(path, os.X_OK):
        return None
    try:
        probe = subprocess.run([path, "-f", "%M", "true"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return path if probe.returncode == 0 and probe.stderr.strip().isdigit() else None


GNU_TIME = _gnu_time()


def run_process(argv: list, env: dict, timeout: float) -> Run:
    """Run ``argv`` in the repository root: wall time, CPU time and peak RSS of that process.

    Peak RSS: GNU ``/usr/bin/time -f %M`` when present. Otherwise ``ru_maxrss``
    from ``os.wait4`` on the child, which Linux inflates to at least this
    runner's own RSS (the high-water mark survives the fork/exec), so small
    processes read too high. (``getrusage(RUSAGE_CHILDREN)`` would be worse: a
    maximum over every child so far.) CPU time is user + system from
    ``os.wait4``, descendants included. The run gets its own session, so a
    timeout kills the whole process group.
    """
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        cmd = [str(a) for a in argv]
        if GNU_TIME:
            fd, tname = tempfile.mkstemp(suffix=".time")
            os.close(fd)
            cmd = [GNU_TIME, "-f", "%M", "-o", tname, *cmd]
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            cmd, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=err, start_new_session=True
        )
        killed = threading.Event()

        def kill():
            killed.set()
            try:
                os.killpg(proc.pid, 9)
            except OSError:
                proc.kill()

        timer = threading.Timer(timeout, kill)
        timer.start()
        try:
            if hasattr(os, "wait4"):
                _, status, ru = os.wait4(proc.pid, 0)
                wall = time.perf_counter() - t0
                proc.returncode = os.waitstatus_to_exitcode(status)
                cpu, rss = ru.ru_utime + ru.ru_stime, _rss_mb(ru)
            else:  # no per-child rusage on this platform
                proc.wait()
                wall = time.perf_counter() - t0
                cpu, rss = None, None
        finally:
            timer.cancel()
        if GNU_TIME:
            try:
                with open(tname, encoding="utf-8") as fh:
                    last = fh.read().strip().splitlines()[-1]
                rss = int(last) / 1024
            except (OSError, ValueError, IndexError):
                pass
            try:
                os.unlink(tname)
            except OSError:
                pass
        out.seek(0)
        err.seek(0)
        return Run(
            wall, cpu, rss, proc.returncode,
            out.read().decode("utf-8", "replace"), err.read().decode("utf-8", "replace"), killed.is_set(),
        )


# ---------------------------------------------------------------------------
# Contenders and results
# ---------------------------------------------------------------------------


def chisq_line(stdout: str) -> float | None:
    for line in stdout.splitlines():
        if line.startswith("chisq="):
            return float(line.split("=", 1)[1])
    return None


def chisq_validate_json(stdout: str) -> float | None:
    return float(json.loads(stdout)["cfa"]["fit"]["chisq"])


def chisq_invariance_json(stdout: str) -> float | None:
    return float(json.loads(stdout)["models"][0]["fit"]["chisq"])


@dataclass
class Contender:
    task: str
    tool: str
    argv: list | None = None  # None: a row that only carries `note`
    check: object = None  # stdout -> chi-square (agreement check), or None
    note: str = ""
    reference: bool = False  # the coscale row the task's ratios refer to


@dataclass
class Result:
    contender: Contender
    wall: float | None = None
    cpu: float | None = None
    rss_mb: float | None = None
    error: str = ""
    chisq: float | None = None
    runs: int = 0


def measure(c: Contender, repeats: int, env: dict, timeout: float) -> Result:
    res = Result(c)
    if c.argv is None:
        res.error = c.note
        return res
    walls, cpus, rss = [], [], []
    last = None
    for i in range(repeats):
        try:
            run = run_process(c.argv, env, timeout)
        except OSError as exc:
            res.error = f"failed: {one_line(str(exc))}"
            return res
        if run.timed_out:
            res.error = f"failed: timed out after {timeout:g} s"
            return res
        if run.returncode != 0:
            res.error = f"failed: exit {run.returncode}: {one_line(run.stderr or run.stdout)}"
            return res
        walls.append(run.wall)
        if run.cpu is not None:
            cpus.append(run.cpu)
        if run.rss_mb is not None:
            rss.append(run.rss_mb)
        last = run
        log(f"    {c.task} | {c.tool}: run {i + 1}/{repeats} {run.wall:.2f} s")
    res.runs = len(walls)
    res.wall = statistics.median(walls)
    res.cpu = statistics.median(cpus) if cpus else None
    res.rss_mb = max(rss) if rss else None
    if c.check and last is not None:
        try:
            res.chisq = c.check(last.stdout)
        except Exception:  # the check is informative only
            res.chisq = None
    return res


def _fmt(x: float | None, digits: int = 2) -> str:
    return "n/a" if x is None else f"{x:.{digits}f}"


def _ratio(a: float | None, b: float | None) -> str:
    if a is None or b is None or b <= 0:
        return "n/a"
    return f"{a / b:.2f}"


def process_table(title: str, results: list[Result], notes: list[str], check_what: str = "") -> str:
    lines = [
        f"### {title}",
        "",
        "| task | tool | median s | CPU s | peak MB | ratio vs coscale (time / MB) |",
        "|---|---|---:|---:|---:|---:|",
    ]
    refs: dict[str, Result] = {}
    for r in results:
        if r.contender.reference and r.contender.task not in refs:
            refs[r.contender.task] = r
    for r in results:
        c = r.contender
        if r.error:
            lines.append(f"| {c.task} | {c.tool} | {r.error} | | | |")
            continue
        ref = refs.get(c.task)
        if ref is r:
            ratio = "1.00 / 1.00"
        elif ref is None or ref.error:
            ratio = "n/a"
        else:
            ratio = f"{_ratio(ref.wall, r.wall)} / {_ratio(ref.rss_mb, r.rss_mb)}"
        lines.append(
            f"| {c.task} | {c.tool} | {_fmt(r.wall)} | {_fmt(r.cpu)} | {_fmt(r.rss_mb, 0)} | {ratio} |"
        )
    lines.append("")
    lines.append(
        "Ratio = coscale / this tool (median wall time / peak RSS): below 1 means coscale is faster / "
        "needs less memory. Fresh process per run, start-up included."
    )
    by_task: dict[str, list[str]] = {}
    for r in results:
        if r.chisq is not None:
            short = re.match(r"[A-Za-z]+", r.contender.tool)
            name = short.group(0) if short else r.contender.tool
            by_task.setdefault(r.contender.task, []).append(f"{name} {r.chisq:.4f}")
    for task, vals in by_task.items():
        lines.append(f"Chi-square check, {task}{f' ({check_what})' if check_what else ''}: {', '.join(vals)}.")
    lines += notes
    lines.append("")
    return "\n".join(lines)


# ---------------------------------------------------------------------------
# Environment
# ---------------------------------------------------------------------------


@dataclass
class Setup:
    python: str
    coscale: list
    rscript: str | None
    semopy: bool
    env: dict
    repeats: int
    timeout: float
    quick: bool
    million: bool = False
    notes: list = field(default_factory=list)


def coscale_command() -> list:
    exe = Path(sys.executable).parent / ("coscale.exe" if os.name == "nt" else "coscale")
    if exe.exists():
        return [str(exe)]
    found = shutil.which("coscale")
    if found:
        return [found]
    return [sys.executable, "-m", "coscale.cli"]


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def r_versions(rscript: str | None) -> str:
    if not rscript:
        return "R: not found (lavaan columns skipped)"
    code = (
        "v <- function(p) tryCatch(as.character(packageVersion(p)), error = function(e) 'missing');"
        "cat(R.version.string, '| lavaan', v('lavaan'), '| semTools', v('semTools'), '| psych', v('psych'))"
    )
    try:
        out = subprocess.run([rscript, "-e", code], capture_output=True, text=True, timeout=60)
        return out.stdout.strip() or f"R: {one_line(out.stderr)}"
    except (OSError, subprocess.SubprocessError) as exc:
        return f"R: {one_line(str(exc))}"


def git_describe() -> str:
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, timeout=10
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT, capture_output=True, text=True,
            timeout=10,
        ).stdout.strip()
        return f"git {head}{' + uncommitted changes' if dirty else ''}" if head else "git: unknown"
    except (OSError, subprocess.SubprocessError):
        return "git: unknown"


def machine_line(setup: Setup, r_info: str) -> str:
    try:
        load = "load average %.2f %.2f %.2f" % os.getloadavg()
    except (AttributeError, OSError):
        load = "load average n/a"
    return (
        f"Machine: {platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"numpy {_version('numpy')}, {r_info}, semopy {_version('semopy') if setup.semopy else '(skipped)'}, "
        f"coscale {_version('coscale')} ({git_describe()}); {load} at start; "
        f"{datetime.datetime.now().astimezone().strftime('%Y-%m-%d %H:%M %Z')}"
    )


BLAS_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "VECLIB_MAXIMUM_THREADS")


def child_env(use_prefix: bool, blas_threads: int | None = None) -> dict:
    env = os.environ.copy()
    env.setdefault("NO_COLOR", "1")
    if blas_threads:
        for var in BLAS_VARS:
            env[var] = str(blas_threads)
    if use_prefix:
        # Compiled bytecode for every Python contender, kept out of the source tree,
        # as after a normal `pip install` (PYTHONDONTWRITEBYTECODE would make each run
        # recompile whatever has no .pyc yet, e.g. an editable coscale).
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(CACHE / "pycache")
    return env


def prime(setup: Setup) -> None:
    """Fill the bytecode cache and the OS file cache before anything is timed."""
    mods = "coscale.api, coscale.cli, coscale.report.terminal, coscale.stats.invariance, pandas, scipy.stats"
    if setup.semopy:
        mods += ", semopy"
    log("priming bytecode and file caches ...")
    run_process([setup.python, "-c", f"import {mods}"], setup.env, 600)
    if setup.rscript:
        run_process(
            [setup.rscript, "-e", "suppressPackageStartupMessages({library(lavaan); library(semTools); library(psych)})"],
            setup.env, 600,
        )


# ---------------------------------------------------------------------------
# Data for validate-large
# ---------------------------------------------------------------------------


def large_survey(n: int) -> Path:
    """The example survey resampled (with replacement, fixed seed) to ``n`` rows; cached."""
    digest = hashlib.sha256(EXAMPLE.read_bytes()).hexdigest()[:10]
    path = CACHE / f"coproduction_{n}_{digest}.csv"
    if path.exists():
        return path
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(EXAMPLE, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    header, body = rows[0], rows[1:]
    rng = __import__("random").Random(20261128 + n)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    with open(tmp, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        for i in range(n):
            row = list(rng.choice(body))
            row[0] = f"R{i + 1:07d}"
            w.writerow(row)
    os.replace(tmp, path)
    return path


def size_label(n: int) -> str:
    return f"10^{len(str(n)) - 1}" if str(n).strip("0") == "1" else f"{n:,}"


# ---------------------------------------------------------------------------
# The benchmarks
# ---------------------------------------------------------------------------


class InProcess:
    """Jobs for the in-process table, run at the end in one coscale and one semopy process."""

    def __init__(self):
        self.coscale: list[tuple[str, str]] = []  # (task, job)
        self.semopy: list[tuple[str, str]] = []

    def add(self, task: str, coscale_job: str, semopy_job: str | None) -> None:
        self.coscale.append((task, coscale_job))
        if semopy_job:
            self.semopy.append((task, semopy_job))


def bench_startup(s: Setup, inproc: InProcess) -> str:
    cs = s.coscale
    cons = [
        Contender("start-up", "coscale --help", [*cs, "--help"], reference=True),
        Contender("start-up", "coscale --version", [*cs, "--version"]),
        Contender("start-up", "python -c pass", [s.python, "-c", "pass"]),
    ]
    if s.semopy:
        cons.append(Contender("start-up", 'python -c "import semopy" (context)', [s.python, "-c", "import semopy"]))
    if s.rscript:
        cons.append(
            Contender("start-up", "Rscript: library(lavaan) (context)",
                      [s.rscript, "-e", "suppressPackageStartupMessages(library(lavaan))"])
        )
    results = [measure(c, s.repeats, s.env, s.timeout) for c in cons]
    return process_table("startup", results, ["All rows are compared with `coscale --help`."])


def bench_validate_example(s: Setup, inproc: InProcess) -> str:
    task = "validate example (700 rows)"
    cons = [
        Contender(task, "coscale validate --format json",
                  [*s.coscale, "validate", EXAMPLE, "--format", "json", "--estimator", "ML", "--missing", "listwise"], chisq_validate_json, reference=True),
    ]
    if s.rscript:
        cons.append(Contender(task, "lavaan + psych + semTools (bench/r/validate_example.R)",
                              [s.rscript, HERE / "r" / "validate_example.R", EXAMPLE], chisq_line))
    if s.semopy:
        cons.append(Contender(task, "semopy, CFA only (bench/semopy/cfa.py survey)",
                              [s.python, HERE / "semopy" / "cfa.py", "survey", EXAMPLE], chisq_line))
    results = [measure(c, s.repeats, s.env, s.timeout) for c in cons]
    inproc.add(task, f"survey:{EXAMPLE}", f"survey:{EXAMPLE}" if s.semopy else None)
    notes = [
        "The R script does what coscale does: psych::alpha per scale, one-factor cfa + compRelSEM per scale, "
        "the 4-factor cfa (listwise), fitMeasures, standardizedSolution, modindices, compRelSEM, AVE, htmt.",
        "The semopy script does less: only the 4-factor CFA and calc_stats (no item statistics, alpha, omega, "
        "HTMT or modification indices; semopy has no SRMR), with semopy's default MLW objective.",
    ]
    return process_table("validate-example", results, notes)


def bench_cfa_hs(s: Setup, inproc: InProcess) -> str:
    task = "HS three-factor CFA (N = 301)"
    cons = [
        Contender(task, "coscale API (bench/coscale_fit.py hs)",
                  [s.python, HERE / "coscale_fit.py", "hs"], chisq_line, reference=True),
    ]
    if s.rscript:
        cons.append(Contender(task, "lavaan cfa (bench/r/cfa_hs.R)", [s.rscript, HERE / "r" / "cfa_hs.R", HS_CSV],
                              chisq_line))
    if s.semopy:
        cons.append(Contender(task, "semopy (bench/semopy/cfa.py hs)", [s.python, HERE / "semopy" / "cfa.py", "hs"],
                              chisq_line))
    results = [measure(c, s.repeats, s.env, s.timeout) for c in cons]
    inproc.add(task, "hs", "hs" if s.semopy else None)
    notes = ["Each process reads the CSV, fits the model (ML) and computes the fit measures."]
    return process_table("cfa-hs", results, notes)


def bench_invariance_hs(s: Setup, inproc: InProcess) -> str:
    task = "HS invariance by school"
    scales = hs_scale_file(str(CACHE))
    cons = [
        Contender(task, "coscale invariance --format json",
                  [*s.coscale, "invariance", HS_CSV, "--group", "school", "--scales", scales, "--format", "json"],
                  chisq_invariance_json, reference=True),
    ]
    if s.rscript:
        cons.append(Contender(task, "lavaan (bench/r/invariance_hs.R)",
                              [s.rscript, HERE / "r" / "invariance_hs.R", HS_CSV], chisq_line))
    cons.append(Contender(task, "semopy", None, note=SEMOPY_NO_GROUPS))
    results = [measure(c, s.repeats, s.env, s.timeout) for c in cons]
    inproc.add(task, f"invariance:{HS_CSV}", None)
    notes = [
        "lavaan: four cfa() calls (configural, metric, scalar, strict via group.equal), lavTestLRT, "
        "fitMeasures, lavTestScore on the metric and scalar models. coscale also searches for partial "
        "invariance (refits after freeing), estimates latent means and dMACS (one extra fit per item).",
    ]
    return process_table("invariance-hs", results, notes, "configural model")


def bench_validate_large(s: Setup, inproc: InProcess) -> str:
    sizes = (LARGE_SIZES[:1] if s.quick else LARGE_SIZES) + ((1_000_000,) if s.million else ())
    results = []
    for n in sizes:
        log(f"  generating/reading cached survey of {n} rows ...")
        path = large_survey(n)
        task = f"validate {size_label(n)} rows"
        cons = [
            Contender(task, "coscale validate --format json",
                      [*s.coscale, "validate", path, "--format", "json", "--estimator", "ML", "--missing", "listwise"], chisq_validate_json, reference=True),
        ]
        if s.rscript:
            cons.append(Contender(task, "lavaan: read.csv + cfa (bench/r/cfa_survey.R)",
                                  [s.rscript, HERE / "r" / "cfa_survey.R", path], chisq_line))
        results += [measure(c, s.repeats, s.env, s.timeout) for c in cons]
        inproc.add(task, f"survey:{path}", f"survey:{path}" if s.semopy else None)
    notes = [
        "Data: the example survey resampled with replacement (fixed seed), cached in "
        f"{CACHE}.",
        "The lavaan script does less than coscale: read, recode, the 4-factor cfa and fitMeasures only "
        "(no alpha, omega, HTMT, modification indices).",
    ]
    if s.quick:
        notes.append("--quick: the 10^5-row survey was skipped.")
    return process_table("validate-large", results, notes)


IN_LABELS = {
    "fit": ("CFA fit: data frame to estimates", "coscale fit_ml", "semopy Model.fit"),
    "fit_stats": ("CFA fit + fit measures", "coscale fit_ml + fit_measures", "semopy Model.fit + calc_stats"),
    "validate": ("whole coscale.validate()", "coscale.validate", None),
    "invariance": ("whole coscale.invariance()", "coscale.invariance", None),
}


def run_inprocess(s: Setup, inproc: InProcess) -> str:
    def child(argv):
        try:
            run = run_process(argv, s.env, max(s.timeout, 60) * 4)
        except OSError as exc:
            return None, f"failed: {one_line(str(exc))}"
        if run.timed_out:
            return None, "failed: timed out"
        if run.returncode != 0:
            return None, f"failed: exit {run.returncode}: {one_line(run.stderr or run.stdout)}"
        try:
            return json.loads(run.stdout.strip().splitlines()[-1]), ""
        except (ValueError, IndexError):
            return None, f"failed: unreadable output: {one_line(run.stdout)}"

    log("  in-process: coscale ...")
    c_out, c_err = child([s.python, HERE / "coscale_fit.py", "--time", s.repeats, "--budget", BUDGET,
                          *[j for _, j in inproc.coscale]])
    s_out, s_err = {}, ""
    if inproc.semopy:
        log("  in-process: semopy ...")
        s_out, s_err = child(
            [s.python, HERE / "semopy" / "cfa.py", "--time-fit", s.repeats, "--budget", BUDGET,
             *[j for _, j in inproc.semopy]]
        )
    semopy_jobs = dict(inproc.semopy)

    lines = [
        "### in-process (imports and file reading excluded)",
        "",
        "| task | what is timed | tool | median s | CPU s | ratio vs coscale (time) |",
        "|---|---|---|---:|---:|---:|",
    ]
    for task, job in inproc.coscale:
        kind = job.partition(":")[0]
        labels = {"hs": ["fit", "fit_stats"], "survey": ["fit", "fit_stats", "validate"]}.get(kind, [kind])
        for lab in labels:
            what, ctool, stool = IN_LABELS[lab]
            if c_err:
                lines.append(f"| {task} | {what} | {ctool} | {c_err} | | |")
                cwall = None
            else:
                t = c_out[f"{job}/{lab}"]
                cwall, ccpu = statistics.median(t["wall"]), statistics.median(t["cpu"])
                lines.append(f"| {task} | {what} | {ctool} | {cwall:.3f} | {ccpu:.3f} | 1.00 |")
            if lab == "invariance":
                lines.append(f"| {task} | {what} | semopy | {SEMOPY_NO_GROUPS} | | |")
            elif stool is None:
                continue
            elif task not in semopy_jobs:
                lines.append(f"| {task} | {what} | {stool} | skipped (semopy not importable, or --no-semopy) | | |")
            elif s_err:
                lines.append(f"| {task} | {what} | {stool} | {s_err} | | |")
            else:
                t = s_out.get(f"{semopy_jobs[task]}/{lab}")
                if not t:
                    lines.append(f"| {task} | {what} | {stool} | failed: no timing | | |")
                    continue
                swall, scpu = statistics.median(t["wall"]), statistics.median(t["cpu"])
                lines.append(f"| {task} | {what} | {stool} | {swall:.3f} | {scpu:.3f} | {_ratio(cwall, swall)} |")
    lines += [
        "",
        f"Median of {s.repeats} repeat(s) (fewer once one item has used {BUDGET:g} s) after one warm-up, in one process per tool (bench/coscale_fit.py, "
        "bench/semopy/cfa.py). The coscale fit includes building the model and the listwise moments from the "
        "data frame, as semopy's Model.fit(df) does; coscale.validate() includes data preparation and screening. "
        "CPU s counts all threads.",
        "",
    ]
    return "\n".join(lines)


RUNNERS = {
    "startup": bench_startup,
    "validate-example": bench_validate_example,
    "cfa-hs": bench_cfa_hs,
    "invariance-hs": bench_invariance_hs,
    "validate-large": bench_validate_large,
}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=5, help="runs per contender (median; default 5)")
    ap.add_argument("--quick", action="store_true", help="skip the 10^5-row survey of validate-large")
    ap.add_argument("--million", action="store_true",
                    help="validate-large also on 10^6 rows (a few minutes more with lavaan; see also large_files.py)")
    ap.add_argument("--only", nargs="+", choices=BENCHMARKS, metavar="NAME",
                    help=f"run only these benchmarks ({', '.join(BENCHMARKS)})")
    ap.add_argument("--no-inprocess", action="store_true", help="skip the in-process table")
    ap.add_argument("--no-r", action="store_true", help="skip lavaan even if Rscript is on PATH")
    ap.add_argument("--no-semopy", action="store_true", help="skip semopy even if it can be imported")
    ap.add_argument("--timeout", type=float, default=300, help="seconds per run before it counts as failed")
    ap.add_argument("--keep-env", action="store_true",
                    help="do not give Python children a bytecode cache (PYTHONPYCACHEPREFIX) in the temp dir")
    ap.add_argument("--blas-threads", type=int, metavar="N",
                    help="set OPENBLAS/OMP/MKL_NUM_THREADS=N for every contender (default: leave as is)")
    ap.add_argument("--output", "-o", help="also write the markdown to this file")
    args = ap.parse_args(argv)
    if args.repeats < 1:
        ap.error("--repeats must be at least 1")

    CACHE.mkdir(parents=True, exist_ok=True)
    setup = Setup(
        python=sys.executable,
        coscale=coscale_command(),
        rscript=None if args.no_r else shutil.which("Rscript"),
        semopy=not args.no_semopy and semopy_available(),
        env=child_env(not args.keep_env, args.blas_threads),
        repeats=args.repeats,
        timeout=args.timeout,
        quick=args.quick,
        million=args.million,
    )
    started = time.perf_counter()
    out_parts = [
        "## coscale benchmarks",
        "",
        machine_line(setup, r_versions(setup.rscript)),
        "",
        " ".join(
            [f"Repeats: {args.repeats}{' (--quick)' if args.quick else ''}."]
            + ([f"Python children use a bytecode cache in {CACHE / 'pycache'}."] if not args.keep_env else [])
            + ([f"BLAS threads: {args.blas_threads} (--blas-threads)."] if args.blas_threads else
               [f"BLAS threads: {', '.join(f'{v}={os.environ[v]}' for v in BLAS_VARS if v in os.environ) or 'library default'}."])
            + (["lavaan: skipped (Rscript not on PATH or --no-r)."] if not setup.rscript else [])
            + (["semopy: skipped (not importable or --no-semopy)."] if not setup.semopy else [])
            + ([f"Peak memory: {GNU_TIME} -f %M."] if GNU_TIME else
               ["Peak memory: ru_maxrss from os.wait4 (no GNU time; reads at least this runner's RSS)."])
        ),
        "",
    ]
    print("\n".join(out_parts), flush=True)
    prime(setup)
    inproc = InProcess()
    for name in args.only or BENCHMARKS:
        log(f"{name} ...")
        try:
            part = RUNNERS[name](setup, inproc)
        except Exception as exc:  # a broken benchmark must not hide the others
            part = f"### {name}\n\nfailed: {type(exc).__name__}: {one_line(str(exc))}\n"
        print(part, flush=True)
        out_parts.append(part)
    if inproc.coscale and not args.no_inprocess:
        log("in-process ...")
        try:
            part = run_inprocess(setup, inproc)
        except Exception as exc:
            part = f"### in-process\n\nfailed: {type(exc).__name__}: {one_line(str(exc))}\n"
        print(part, flush=True)
        out_parts.append(part)
    tail = f"Total benchmark time: {time.perf_counter() - started:.0f} s."
    print(tail)
    out_parts.append(tail + "\n")
    if args.output:
        Path(args.output).write_text("\n".join(out_parts), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
