"""What the benchmark scripts share.

``log`` (progress to stderr), ``fmt`` / ``ratio`` (table cells),
``factor_model`` (the simulated benchmarks' CFA syntax); for contenders that
may not finish: ``semopy_available`` tells the real semopy package from the
``bench/semopy/`` folder of scripts (which, with ``bench/`` first on
``sys.path``, also looks importable) and ``run_limited`` runs a command in its
own session and kills the whole process group after a timeout.
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def log(msg: str) -> None:
    sys.stderr.write(msg + "\n")
    sys.stderr.flush()


def fmt(t: float | None, digits: int = 2) -> str:
    return "n/a" if t is None else f"{t:.{digits}f} s"


def ratio(a: float | None, b: float | None) -> str:
    return "n/a" if a is None or b is None or b == 0 else f"{a / b:.1f}x"


def factor_model(n_factors: int, per_factor: int) -> str:
    """``f1 =~ y1 + ... + y<per_factor>``, ... : simple structure over items y1, y2, ..."""
    lines = []
    for f in range(n_factors):
        items = " + ".join(f"y{f * per_factor + k + 1}" for k in range(per_factor))
        lines.append(f"f{f + 1} =~ {items}")
    return "\n".join(lines)


def semopy_available() -> bool:
    """True when the real semopy package can be imported (bench/semopy/ is only a folder of scripts)."""
    spec = importlib.util.find_spec("semopy")
    return spec is not None and spec.origin is not None


def run_limited(cmd: list[str], timeout: float) -> dict:
    """Run ``cmd`` in its own session; kill its whole process group after ``timeout`` s.

    The command prints JSON objects, one a line; they are merged in order (also
    what a killed run printed before it was killed). Adds ``process`` (wall
    seconds) and ``status``: "ok", "timeout" or "failed: <first line of the error>".
    """
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
                            start_new_session=True)
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
        status = "ok" if proc.returncode == 0 else "failed"
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        stdout, stderr = proc.communicate()
        status = "timeout"
    out: dict = {}
    for line in stdout.splitlines():
        try:
            item = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(item, dict):
            out.update(item)
    out["process"] = time.perf_counter() - t0
    if status == "failed":
        last = [ln for ln in stderr.splitlines() if ln.strip()]
        status = "failed: " + out.get("error", last[-1] if last else f"exit status {proc.returncode}")
    out["status"] = status
    return out
