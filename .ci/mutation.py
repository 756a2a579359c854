"""Run mutmut over some modules and print the mutation score of each.

    .venv/bin/python .ci/mutation.py bot/links.py bot/store cogs/_checks.py
    .venv/bin/python .ci/mutation.py --report-only bot/links.py   # score the last run again

A module is a file or a package folder; its mutants are selected by name (`bot.links.*`).
The score is killed / (mutants - equivalent): a mutant that times out or is caught by the type
checker counts as killed; one that no test runs counts as surviving; one not run yet (a run
stopped early) is not counted, and the module is then reported "incomplete", never as passing.
Equivalent mutants (the code means the same, no test can tell) are listed with the reason in
`.ci/mutation-equivalent.txt`, one `name  # why` a line. Exit 1 when a module scores below
`--min` (90 by default) or is incomplete, 2 on bad arguments.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EQUIVALENT = ROOT / ".ci" / "mutation-equivalent.txt"
KILLED = {"killed", "timeout", "caught by type check"}


def module_glob(path: str) -> str:
    p = Path(path)
    if not (ROOT / p).exists() or p.suffix not in ("", ".py"):
        raise SystemExit(f"mutation: no module {path!r}")
    dotted = ".".join(p.with_suffix("").parts)
    return f"{dotted}.*"


def module_of(key: str) -> str:
    parts = key.split(".")
    for i, part in enumerate(parts):
        if part.startswith(("x_", "xǁ")):
            return ".".join(parts[:i])
    return key


def equivalents() -> set[str]:
    if not EQUIVALENT.exists():
        return set()
    names = set()
    for line in EQUIVALENT.read_text(encoding="utf-8").splitlines():
        name = line.split("#", 1)[0].strip()
        if name:
            names.add(name)
    return names


def results() -> dict[str, str]:
    out = subprocess.run(
        [sys.executable, "-m", "mutmut", "results", "--all", "true"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    statuses = {}
    for line in out.splitlines():
        key, sep, status = line.strip().rpartition(": ")
        if sep:
            statuses[key] = status
    return statuses


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="+", help="files or package folders, e.g. bot/links.py")
    parser.add_argument("--report-only", action="store_true", help="score the last run")
    parser.add_argument("--max-children", type=int, default=None)
    parser.add_argument("--min", type=float, default=90.0, help="lowest passing score, %%")
    args = parser.parse_args(argv)
    globs = {m: module_glob(m) for m in args.modules}
    if not args.report_only:
        cmd = [sys.executable, "-m", "mutmut", "run", *globs.values()]
        if args.max_children:
            cmd[4:4] = ["--max-children", str(args.max_children)]
        subprocess.run(cmd, cwd=ROOT, check=True)
    statuses = results()
    skip = equivalents()
    failed = False
    print(
        f"{'module':<28} {'mutants':>7} {'killed':>7} {'surv.':>6} {'equiv.':>6} "
        f"{'not run':>7} {'score':>7}"
    )
    for module, glob in globs.items():
        prefix = glob[:-1]
        mine = {k: s for k, s in statuses.items() if (module_of(k) + ".").startswith(prefix)}
        counts = Counter("killed" if s in KILLED else s for k, s in mine.items() if k not in skip)
        equiv = sum(1 for k in mine if k in skip)
        scored = sum(counts.values()) - counts["not checked"]
        score = 100.0 * counts["killed"] / scored if scored else 0.0
        unrun = counts["not checked"]
        failed |= score < args.min or unrun > 0 or not mine
        print(
            f"{module:<28} {len(mine):>7} {counts['killed']:>7} "
            f"{scored - counts['killed']:>6} {equiv:>6} {unrun:>7} {score:>6.1f}%"
            + ("  incomplete" if unrun else "")
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
