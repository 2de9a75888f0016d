"""coscale through its Python API: the in-process side of the benchmarks.

    python bench/coscale_fit.py hs                  # one HS three-factor CFA, prints chisq=
    python bench/coscale_fit.py --time N JOB...     # in-process timings, JSON on stdout

JOBs (timed after imports, file reading and data preparation, one warm-up each):

    hs                 HS three-factor CFA: MeasurementModel.from_syntax,
                       build_partable, listwise_moments, fit_ml  ("fit"),
                       plus coscale.stats.fit.fit_measures       ("fit_stats")
    survey:CSV         4-factor coproduction CFA of CSV after coscale's own
                       preparation (missing codes, reverse keying): "fit" and
                       "fit_stats" as above, and "validate", the whole
                       coscale.validate(frame) (screening, items, alpha, omega,
                       CFA, MI, HTMT)
    invariance:CSV     coscale.invariance(frame, <HS scales>, group="school")
                       ("invariance": the ladder, partial search, latent means, dMACS)

The JSON maps "JOB/label" to {"wall": [...], "cpu": [...]}, seconds per repeat.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
HS_CSV = os.path.join(ROOT, "tests", "data", "holzinger1939.csv")
HS_SYNTAX = """visual =~ x1 + x2 + x3
textual =~ x4 + x5 + x6
speed =~ x7 + x8 + x9"""
HS_SCALES = [("visual", ["x1", "x2", "x3"]), ("textual", ["x4", "x5", "x6"]), ("speed", ["x7", "x8", "x9"])]


def hs_scale_file(directory: str) -> str:
    """Write the HS three-scale file (no response range needed) and return its path."""
    path = os.path.join(directory, "hs_scales.yaml")
    lines = ["instrument: holzinger_swineford", "scales:"]
    for name, items in HS_SCALES:
        lines += [f"  - name: {name}", f"    items: [{', '.join(items)}]"]
    text = "\n".join(lines) + "\n"
    try:
        with open(path, encoding="utf-8") as fh:
            if fh.read() == text:
                return path
    except OSError:
        pass
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(text)
    return path


def _fit_hs(frame):
    from coscale.stats.estimate import fit_ml
    from coscale.stats.model import MeasurementModel, build_partable
    from coscale.stats.moments import listwise_moments

    model = MeasurementModel.from_syntax(HS_SYNTAX)
    return fit_ml(build_partable(model), listwise_moments(frame, model.observed))


def _fit_instrument(frame, instrument):
    from coscale.stats.estimate import fit_ml
    from coscale.stats.model import MeasurementModel, build_partable
    from coscale.stats.moments import listwise_moments

    model = MeasurementModel.from_instrument(instrument)
    return fit_ml(build_partable(model), listwise_moments(frame, model.observed))


def job_functions(job: str) -> dict:
    """label -> zero-argument callable, for one JOB (all reading done here)."""
    from coscale.stats.fit import fit_measures
    from coscale.survey import read_table

    kind, _, path = job.partition(":")
    if kind == "hs":
        frame = read_table(path or HS_CSV)
        return {
            "fit": lambda: _fit_hs(frame),
            "fit_stats": lambda: fit_measures(_fit_hs(frame)),
        }
    if kind == "survey":
        import coscale
        from coscale.survey import prepare

        raw = read_table(path)
        instrument = coscale.load_scales("coproduction")
        data = prepare(raw, instrument, source=path).data
        return {
            "fit": lambda: _fit_instrument(data, instrument),
            "fit_stats": lambda: fit_measures(_fit_instrument(data, instrument)),
            "validate": lambda: coscale.validate(raw, instrument, source=path),
        }
    if kind == "invariance":
        import tempfile

        import coscale

        raw = read_table(path or HS_CSV)
        instrument = coscale.load_scales(hs_scale_file(tempfile.gettempdir()))
        return {"invariance": lambda: coscale.invariance(raw, instrument, group="school", source=path)}
    raise SystemExit(f"unknown job {job!r}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("jobs", nargs="+")
    ap.add_argument("--time", type=int, default=0, metavar="N", help="time N repeats in this process")
    ap.add_argument("--budget", type=float, default=float("inf"), metavar="S",
                    help="stop repeating an item once its timed repeats add up to S seconds")
    args = ap.parse_args(argv)
    if not args.time:
        if args.jobs != ["hs"]:
            ap.error("without --time only the job 'hs' is run (once)")
        from coscale.stats.fit import fit_measures
        from coscale.survey import read_table

        fm = fit_measures(_fit_hs(read_table(HS_CSV)))
        print(f"chisq={fm['chisq']:.6f}")
        return 0
    out = {}
    for job in args.jobs:
        for label, func in job_functions(job).items():
            func()  # warm-up (and: fail before timing)
            wall, cpu = [], []
            for _ in range(args.time):
                if wall and sum(wall) > args.budget:
                    break
                c0, t0 = time.process_time(), time.perf_counter()
                func()
                wall.append(time.perf_counter() - t0)
                cpu.append(time.process_time() - c0)
            out[f"{job}/{label}"] = {"wall": wall, "cpu": cpu}
    json.dump(out, sys.stdout)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
