"""Every benchmark, one after the other, and one table of what they measured: `python3 dev.py bench`.

    python3 dev.py bench                  # all of them at their usual sizes (about 15 minutes on 2 cores)
    python3 dev.py bench --quick          # smaller sizes, a few minutes: that the table comes out, not the figures
    python3 dev.py bench --only feeds,worker
    python3 dev.py bench --record         # also add the table to bench/RESULTS.md, dated, with the machine

Each script measures Leerkring and its baseline in the same run and records its ratios (bench/results.py); this
runner prints them as one table: figure, value, baseline, ratio, aim, met. The machine is shared: the load average
before and after each script is printed beside its rows, because absolute figures move with it and ratios much less.
A script that fails is reported in the table and the others still run; the exit status is 1 then.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.results import ENV  # noqa: E402

# name -> (script, usual arguments, --quick arguments)
BENCHES: dict[str, tuple[str, list[str], list[str]]] = {
    "worker": ("bench_worker.py", [], ["--quick"]),
    "feeds": ("bench_feeds.py", ["--rounds", "3"], ["--rounds", "1", "--seconds", "1", "--meetings", "100"]),
    "registrations": ("bench_registrations.py", ["--rounds", "3"], ["--rounds", "1", "--people", "500"]),
    "invitations": ("bench_invitations.py", [], ["--invitees", "1000", "--latency-rounds", "3"]),
    "learning": ("bench_learning.py", [], ["--people", "500", "--attendees", "500"]),
    "reports": ("bench_reports.py", ["--registrations", "200000"], ["--registrations", "20000", "--rounds", "2"]),
    "mixed": ("bench_mixed.py", [], ["--quick"]),
}


HEADER = "# Benchmark results\n\nEach section below was written by `python3 dev.py bench --record`.\n"


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"{one:.1f}/{five:.1f}"


def machine() -> str:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    system = f"{platform.system()} {platform.release()}"
    return f"{platform.node()}: {os.cpu_count()} CPUs ({model or platform.machine()}), {system}"


def verdict(row: dict[str, Any]) -> str:
    aim = row["aim"]
    if aim is None:
        return "-"
    met = row["ratio"] >= aim if row["better"] == "higher" else row["ratio"] <= aim
    return "yes" if met else "NO"


def aim_text(row: dict[str, Any]) -> str:
    if row["aim"] is None:
        return "-"
    return f"{'>=' if row['better'] == 'higher' else '<='} {row['aim']:.2f}"


def number(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.3g}"


def table(rows: list[dict[str, Any]]) -> list[str]:
    head = ("bench", "figure", "value", "baseline", "unit", "ratio", "aim", "met", "load before/after")
    body = [
        (
            r["bench"],
            r["figure"],
            number(r["value"]),
            number(r["baseline"]),
            r["unit"],
            f"{r['ratio']:.2f}",
            aim_text(r),
            verdict(r),
            r["load"],
        )
        if "figure" in r
        else (r["bench"], r["error"], "", "", "", "", "", "FAILED", r["load"])
        for r in rows
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    lines += ["| " + " | ".join(cells) + " |" for cells in body]
    return lines


def run(name: str, quick: bool, log_dir: Path) -> list[dict[str, Any]]:
    script, usual, small = BENCHES[name]
    with tempfile.NamedTemporaryFile("w+", suffix=".jsonl", delete=False) as results:
        path = Path(results.name)
    env = {**os.environ, ENV: str(path)}
    log = log_dir / f"{name}.log"
    before, started = load(), time.monotonic()
    print(f"==> {name}: {script} {' '.join(small if quick else usual)} (load {before}; output in {log})", flush=True)
    with log.open("w") as out:
        code = subprocess.call(
            [sys.executable, str(ROOT / "bench" / script), *(small if quick else usual)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    took = time.monotonic() - started
    span = f"{before} -> {load()}"
    rows = [{"bench": name, "load": span, **json.loads(line)} for line in path.read_text().splitlines() if line]
    path.unlink()
    if code != 0 or not rows:
        tail = log.read_text().strip().splitlines()[-1:] or ["no output"]
        rows.append({"bench": name, "load": span, "error": f"exit {code}: {tail[0][:80]}"})
    print(f"    {len(rows)} row(s) in {took:.0f} s", flush=True)
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="small sizes: checks that everything runs")
    parser.add_argument("--only", help=f"comma-separated, of: {', '.join(BENCHES)}")
    parser.add_argument("--record", action="store_true", help="append the table to bench/RESULTS.md")
    args = parser.parse_args()
    names = [n.strip() for n in args.only.split(",")] if args.only else list(BENCHES)
    unknown = sorted(set(names) - set(BENCHES))
    if unknown:
        parser.error(f"unknown bench(es): {', '.join(unknown)}")
    log_dir = Path(tempfile.mkdtemp(prefix="leerkring-bench-"))
    started = datetime.now(UTC)
    rows = [row for name in names for row in run(name, args.quick, log_dir)]
    lines = table(rows)
    print("\n" + "\n".join(lines))
    failed = any("error" in r for r in rows)
    if args.record:
        section = [
            f"## {started:%Y-%m-%d %H:%M} UTC{' (--quick)' if args.quick else ''}",
            "",
            f"Machine: {machine()}. Load average (1/5 min) before and after each script in the last column:",
            "the machine is shared, so compare ratios within a row, not figures across rows or runs.",
            "",
            *lines,
            "",
        ]
        results = ROOT / "bench" / "RESULTS.md"
        text = (
            results.read_text()
            if results.exists()
            else "# Benchmark results\n\nWritten by `python3 dev.py bench --record`.\n"
        )
        results.write_text(text.rstrip("\n") + "\n\n" + "\n".join(section))
        print(f"\nrecorded in {results.relative_to(ROOT)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
