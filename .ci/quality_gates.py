"""Matching quality gates on the CLEF CheckThat! dev splits (a CI step, not a unit test).

Usage: ``.venv/bin/python .ci/quality_gates.py --data ../shared/data``

Runs the lexical ranker (what a default install uses, the same function as ``factbot eval``) on
``claimmatch/clef2022_task2a_en`` and ``claimmatch/clef2020_task2_en`` under DIR and exits 1 when a
figure is below the README's targets, 2 (one line) when the data is missing.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from bot import evaluation
from bot.ranking import Ranker

# (folder, figure, at least or at most, limit): the lexical targets of README "Matching quality".
GATES = [
    ("clef2022_task2a_en", "map@5", ">=", 0.92),
    ("clef2022_task2a_en", "reply_precision", ">=", 0.95),
    ("clef2022_task2a_en", "false_alarm_rate", "<=", 0.03),
    ("clef2020_task2_en", "map@5", ">=", 0.80),
    ("clef2020_task2_en", "reply_precision", ">=", 0.95),
    ("clef2020_task2_en", "false_alarm_rate", "<=", 0.03),
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", required=True, type=Path, help="the folder holding claimmatch/")
    args = parser.parse_args()
    folders = sorted({folder for folder, *_ in GATES})
    for folder in folders:
        for name in ("vclaims.jsonl", "dev.jsonl"):
            path = args.data / "claimmatch" / folder / name
            if not path.is_file():
                print(
                    f"quality gates: {path} not found (lay out the CLEF CheckThat! data as "
                    "README 'Matching quality' says)",
                    file=sys.stderr,
                )
                return 2
    failed = 0
    for folder in folders:
        base = args.data / "claimmatch" / folder
        figures = asyncio.run(
            evaluation.evaluate(base / "vclaims.jsonl", base / "dev.jsonl", ranker=Ranker())
        )
        for gate_folder, figure, op, limit in GATES:
            if gate_folder != folder:
                continue
            value = figures[figure]
            ok = value is not None and (value >= limit if op == ">=" else value <= limit)
            failed += not ok
            print(f"{folder} {figure} = {value} ({op} {limit}): {'ok' if ok else 'FAILED'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
