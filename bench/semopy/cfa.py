"""CFA with semopy, used directly: the contender for coscale's CFA.

    python bench/semopy/cfa.py hs      [CSV]    # HS three-factor model
    python bench/semopy/cfa.py survey  [CSV]    # the 4-factor coproduction model
    python bench/semopy/cfa.py --time-fit N JOB...   # JOB: hs[:CSV] or survey:CSV

Reads the CSV with pandas, prepares it the way coscale does (survey: codes
9/-99 -> missing, ppo4 and pcc3 reverse-keyed as 6 - x, listwise deletion),
fits ``semopy.Model(desc).fit(df)`` (semopy's default objective, MLW) and
computes ``semopy.calc_stats``. Prints ``chisq=<value>``.

This does less than ``coscale validate``: no item statistics, no alpha/omega,
no HTMT, no modification indices, and semopy's calc_stats has no SRMR.

With ``--time-fit N`` it instead times, for each JOB in this process and after one warm-up,
N repeats of (a) ``Model(desc).fit(df)`` and (b) the same plus ``calc_stats``,
excluding imports and file reading, and prints JSON
{"JOB/fit": {"wall": [...], "cpu": [...]}, "JOB/fit_stats": {...}} (seconds per repeat).
"""

from __future__ import annotations

import argparse
import json
import sys
import time

HS_DESC = """visual =~ x1 + x2 + x3
textual =~ x4 + x5 + x6
speed =~ x7 + x8 + x9"""

SURVEY_SCALES = {
    "motives_self": [f"msc{i}" for i in range(1, 6)],
    "motives_community": [f"mcc{i}" for i in range(1, 6)],
    "professional_openness": [f"ppo{i}" for i in range(1, 6)],
    "citizen_competence": [f"pcc{i}" for i in range(1, 6)],
}
SURVEY_DESC = "\n".join(f"{f} =~ {' + '.join(items)}" for f, items in SURVEY_SCALES.items())
DEFAULT_DATA = {"hs": "tests/data/holzinger1939.csv", "survey": "examples/coproduction_survey.csv"}


def load(which: str, path: str):
    import pandas as pd

    df = pd.read_csv(path)
    if which == "hs":
        return HS_DESC, df[[f"x{i}" for i in range(1, 10)]]
    items = [c for cols in SURVEY_SCALES.values() for c in cols]
    df = df[items].astype(float)
    df = df.mask(df.isin([9, -99]))
    df["ppo4"] = 6 - df["ppo4"]
    df["pcc3"] = 6 - df["pcc3"]
    return SURVEY_DESC, df.dropna().reset_index(drop=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("which", help="hs or survey (with --time-fit: JOBs hs[:CSV] / survey:CSV ...)")
    ap.add_argument("more", nargs="*", help="CSV (or more JOBs with --time-fit)")
    ap.add_argument("--time-fit", type=int, default=0, metavar="N")
    ap.add_argument("--budget", type=float, default=float("inf"), metavar="S",
                    help="stop repeating an item once its timed repeats add up to S seconds")
    args = ap.parse_args(argv)
    import semopy

    if not args.time_fit:
        if args.which not in DEFAULT_DATA or len(args.more) > 1:
            ap.error("usage: cfa.py {hs,survey} [CSV]")
        desc, df = load(args.which, args.more[0] if args.more else DEFAULT_DATA[args.which])
        model = semopy.Model(desc)
        model.fit(df)
        stats = semopy.calc_stats(model)
        print(f"chisq={float(stats['chi2'].iloc[0]):.6f}")
        return 0

    out = {}
    for job in [args.which, *args.more]:
        kind, _, path = job.partition(":")
        if kind not in DEFAULT_DATA:
            ap.error(f"unknown job {job!r}")
        desc, df = load(kind, path or DEFAULT_DATA[kind])

        def fit_only():
            semopy.Model(desc).fit(df)

        def fit_stats():
            m = semopy.Model(desc)
            m.fit(df)
            semopy.calc_stats(m)

        for label, func in (("fit", fit_only), ("fit_stats", fit_stats)):
            func()  # warm-up
            wall, cpu = [], []
            for _ in range(args.time_fit):
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
