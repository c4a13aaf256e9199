"""One row of the benchmark table: every bench script calls `record` for each ratio it prints.

`python3 dev.py bench` (bench/run_all.py) sets LEERKRING_BENCH_RESULTS to a file; each call appends one JSON line
to it, and the runner prints them all as one table. Run alone, a bench script records nothing and prints as before.
"""

from __future__ import annotations

import json
import os
from typing import Literal

ENV = "LEERKRING_BENCH_RESULTS"


def record(
    figure: str,
    value: float,
    baseline: float,
    *,
    unit: str,
    aim: float | None,
    better: Literal["higher", "lower"] = "higher",
    ratio: float | None = None,
) -> None:
    """`value` and `baseline` were measured in the same run; the ratio is value / baseline, and the aim is met when
    the ratio is at least `aim` (better="higher") or at most `aim` (better="lower"). No aim: informative only.
    `ratio`: when the script pairs rounds (the median of per-round ratios), that figure instead of value / baseline."""
    target = os.environ.get(ENV)
    if not target:
        return
    row = {
        "figure": figure,
        "value": value,
        "baseline": baseline,
        "ratio": value / baseline if ratio is None else ratio,
        "unit": unit,
        "aim": aim,
        "better": better,
    }
    with open(target, "a", encoding="utf-8") as out:
        out.write(json.dumps(row) + "\n")
