"""Run mutmut over some modules and print the mutation score of each.

    .venv/bin/python .ci/mutation.py bot/links.py bot/store cogs/_checks.py
    .venv/bin/python .ci/mutation.py --report-only bot/links.py   # score the last run again
    .venv/bin/python .ci/mutation.py bot/store/sqlite --sample 200 --seed 1   # an estimate
    .venv/bin/python .ci/mutation.py bot/matching.py --functions 'bot.matching.x_rank_claims__*'

A module is a file or a package folder; its mutants are selected by name (`bot.links.*`).
A run picks up where the last one stopped: it runs the mutants not run yet (mutmut itself resets
the results of every function whose code changed); `--retry` also reruns the survivors (after
new tests), `--all` every mutant of the modules. One PostgreSQL server is
started for the whole run and each test session gets a database of its own on it
(`tests/postgres_server.py`), instead of a server started per mutant.
The score is killed / (mutants - equivalent): a mutant that times out or is caught by the type
checker counts as killed; one that no test runs counts as surviving; one not run yet (a run
stopped early) is not counted, and the module is then reported "incomplete", never as passing.
Equivalent mutants (the code means the same, no test can tell) are listed with the reason in
`.ci/mutation-equivalent.txt`, one `name  # why` a line. Exit 1 when a module scores below
`--min` (90 by default) or is incomplete, 2 on bad arguments.

`--sample N --seed S` runs, of each module, N of its mutants not run yet (all if fewer): their
names, less the equivalent ones, sorted, then `random.Random(f"{S}:{glob}").sample(names, N)`,
`glob` the module's name pattern (`bot.store.sqlite.*`); the same seed and state pick the same
mutants. mutmut names mutants only once a run has made them (any run makes every module's): a
module no run has made mutants for yet is refused. The names drawn are added to
`mutants/mutation-sample.json`. A module with mutants not run is reported "incomplete" (and the
exit code says so) and, under its row, estimated from its drawn mutants that have run:
"sampled: k of n killed, score X % (95 % interval a-b %)", k killed (as above) of those n, not
counting equivalent ones, and the Wilson score interval of k/n. A later draw (another seed) picks
from the mutants still not run, so all the draws together stay a uniform sample of the module
(unless a function's code changed in between: mutmut resets its mutants, which a draw can pick).
With `--retry`, the mutants drawn before that survived (after new tests) or were reset by a
code change since are run again as well.

`--functions GLOB...` narrows a run (and its report) to the mutants of the modules whose names
match one of the globs (`fnmatch`, as mutmut matches them: `bot.matching.x_rank_claims__*`, a
method `bot.checking.xǁCheckerǁcheck_link__*`), e.g. the functions changed since their last
run; the report then has a row per glob instead of per module. `--retry` and `--all` act on the
matching mutants only.
"""

from __future__ import annotations

import argparse
import fnmatch
import hashlib
import json
import math
import os
import random
import subprocess
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EQUIVALENT = ROOT / ".ci" / "mutation-equivalent.txt"
KILLED = {"killed", "timeout", "caught by type check"}
SAMPLE = ROOT / "mutants" / "mutation-sample.json"
SUMS = (
    ROOT / ".ci" / "mutation-equivalent.sums"
)  # each entry's mutant, as judged (its change's hash)


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


def mutant_changes(modules: set[str]) -> dict[str, str]:
    """Each mutant of ``modules`` (dotted) and the lines it changes, from mutmut's own generator.

    mutmut numbers a function's mutants in order, so a change to the function renumbers them:
    an equivalent entry is only trusted while its mutant still changes what it changed when it
    was judged (``SUMS``).
    """
    import difflib

    import libcst as cst
    from mutmut.mutation.file_mutation import (
        create_mutations,
        deep_replace,
        group_by_top_level_node,
    )
    from mutmut.mutation.trampoline_templates import mangle_function_name

    found: dict[str, str] = {}
    for module in sorted(modules):
        path = ROOT / (module.replace(".", "/") + ".py")
        if not path.exists():
            continue
        tree, mutations, *_ = create_mutations(str(path), path.read_text(encoding="utf-8"))
        grouped = group_by_top_level_node(mutations)
        functions = []
        for node in tree.body:
            if isinstance(node, cst.FunctionDef):
                functions.append((node, None))
            elif isinstance(node, cst.ClassDef) and isinstance(node.body, cst.IndentedBlock):
                functions += [
                    (m, node.name.value) for m in node.body.body if isinstance(m, cst.FunctionDef)
                ]
        for function, cls in functions:
            name = mangle_function_name(name=function.name.value, class_name=cls)
            before = tree.code_for_node(function).splitlines()
            for i, mutation in enumerate(grouped.get(function) or [], start=1):
                mutated = deep_replace(function, mutation.original_node, mutation.mutated_node)
                lines = difflib.unified_diff(before, tree.code_for_node(mutated).splitlines(), n=0)
                found[f"{module}.{name}__mutmut_{i}"] = "\n".join(
                    line.strip()
                    for line in lines
                    if line[:1] in "+-" and line[:3] not in ("+++", "---")
                )
    return found


def trusted_equivalents(names: set[str], *, record: bool = False) -> set[str]:
    """The entries of ``names`` whose mutant still changes what it did when judged equivalent.

    The others are reported and scored as ordinary mutants until someone looks at them again
    and runs ``--record-equivalents``.
    """
    changes = mutant_changes({module_of(n) for n in names})
    now = {n: hashlib.sha1(changes[n].encode()).hexdigest()[:12] for n in names if n in changes}
    if record:
        SUMS.write_text("".join(f"{n} {now[n]}\n" for n in sorted(now)), encoding="utf-8")
    recorded = {}
    if SUMS.exists():
        for line in SUMS.read_text(encoding="utf-8").splitlines():
            name, _, digest = line.partition(" ")
            recorded[name] = digest
    trusted = {n for n in names if n in now and recorded.get(n) == now[n]}
    for n in sorted(names - trusted):
        why = "no such mutant now" if n not in now else "its mutant changed since it was judged"
        print(f"mutation: not trusted as equivalent ({why}): {n}", file=sys.stderr)
    return trusted


def results() -> dict[str, str]:
    if not (ROOT / "mutants").is_dir():
        return {}
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


def mine(statuses: dict[str, str], glob: str) -> dict[str, str]:
    """The mutants of one module (``glob`` as ``module_glob`` makes it) and their status."""
    prefix = glob[:-1]
    return {k: s for k, s in statuses.items() if (module_of(k) + ".").startswith(prefix)}


def matching(statuses: dict[str, str], functions: list[str] | None) -> dict[str, str]:
    """The mutants of ``statuses`` named by one of ``functions`` (globs; all when None)."""
    if functions is None:
        return statuses
    return {k: s for k, s in statuses.items() if any(fnmatch.fnmatch(k, f) for f in functions)}


def unmade(globs: list[str], functions: list[str] | None) -> list[str]:
    """What to name mutmut for modules no run has made mutants for yet: their globs, or the
    ``functions`` among them, each with a pattern of its function's own name (`*` + the name
    before ``__mutmut_``): mutmut picks the tests a run checks first from the function names
    its globs match, and a mutant glob matches none, so it would run the whole suite; the
    pattern matches the function (its tests) and no mutant's name.
    """
    if functions is None:
        return globs
    named = [f for f in functions if any(f.startswith(g[:-1]) for g in globs)]
    return named + sorted({"*" + f.partition("__mutmut_")[0] for f in named} - set(named))


def to_run(
    globs: list[str], skip: set[str], *, retry: bool, functions: list[str] | None = None
) -> list[str]:
    """The mutants of ``globs`` still to run (mutmut reruns whatever it is named)."""
    statuses = results()
    again = {"not checked"} | ({"survived", "no tests", "suspicious"} if retry else set())
    todo = sorted(
        key
        for glob in globs
        for key, status in matching(mine(statuses, glob), functions).items()
        if status in again and key not in skip
    )
    fresh = [glob for glob in globs if not mine(statuses, glob)]  # never generated yet
    return todo + unmade(fresh, functions)


def sampled() -> set[str]:
    """Every mutant a ``--sample`` run has picked (run or not yet)."""
    if not SAMPLE.exists():
        return set()
    return set(json.loads(SAMPLE.read_text(encoding="utf-8")))


def draw(globs: dict[str, str], skip: set[str], size: int, seed: int) -> list[str]:
    """``size`` of each module's mutants not run yet, drawn with ``seed`` (see the docstring)."""
    statuses = results()
    picked: list[str] = []
    for module, glob in globs.items():
        if not mine(statuses, glob):
            # mutmut names a module's mutants only once a run has made them (any run makes
            # every module's): a draw needs the names.
            raise SystemExit(f"mutation: no mutants of {module} made yet: run any module first")
        names = sorted(
            k for k, s in mine(statuses, glob).items() if s == "not checked" and k not in skip
        )
        picked += random.Random(f"{seed}:{glob}").sample(names, min(size, len(names)))
    SAMPLE.write_text(json.dumps(sorted(sampled() | set(picked)), indent=0), encoding="utf-8")
    return sorted(picked)


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """The 95 % Wilson score interval of a proportion k/n, in %."""
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return 100.0 * max(0.0, centre - half), 100.0 * min(1.0, centre + half)


def run(
    globs: dict[str, str],
    skip: set[str],
    *,
    every: bool,
    retry: bool,
    max_children: int | None,
    sample: tuple[int, int] | None = None,
    functions: list[str] | None = None,
) -> None:
    cmd = [sys.executable, "-m", "mutmut", "run"]
    if max_children:
        cmd += ["--max-children", str(max_children)]
    sys.path.insert(0, str(ROOT))
    from tests.postgres_server import PostgresCluster

    cluster = PostgresCluster.start()
    try:
        env = {**os.environ, "FACTBOT_TEST_PG_PORT": str(cluster.port)}
        if sample:
            names = draw(globs, skip, *sample)
            if retry:  # the drawn mutants that survived, or were reset by a change since
                again = {"survived", "no tests", "suspicious", "not checked"}
                statuses, drawn = results(), sampled()
                names = sorted(
                    {k for g in globs.values() for k, s in mine(statuses, g).items() if s in again}
                    & (drawn - skip)
                    | set(names)
                )
            if names:
                subprocess.run([*cmd, *names], cwd=ROOT, check=True, env=env)
            return
        if every and functions:  # the named ones, made or (never run yet) not
            statuses = results()
            made = [k for g in globs.values() for k in matching(mine(statuses, g), functions)]
            unrun = [g for g in globs.values() if not mine(statuses, g)]
            names = sorted(made) + unmade(unrun, functions)
        elif every:
            names = list(globs.values())
        else:
            names = to_run(list(globs.values()), skip, retry=retry, functions=functions)
        done: set[str] = set()
        # A second pass: mutmut makes new mutants for code changed since the last run only once
        # it runs, so they are named (not checked) only after the first pass.
        while names and not done.issuperset(names):
            subprocess.run([*cmd, *names], cwd=ROOT, check=True, env=env)
            done.update(names)
            names = to_run(list(globs.values()), skip, retry=False, functions=functions)
    finally:
        cluster.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="+", help="files or package folders, e.g. bot/links.py")
    parser.add_argument("--report-only", action="store_true", help="score the last run")
    parser.add_argument("--retry", action="store_true", help="rerun the survivors too")
    parser.add_argument("--all", action="store_true", help="run every mutant again")
    parser.add_argument("--max-children", type=int, default=None)
    parser.add_argument("--min", type=float, default=90.0, help="lowest passing score, %%")
    parser.add_argument("--sample", type=int, metavar="N", help="run N mutants a module, drawn")
    parser.add_argument("--seed", type=int, metavar="S", help="the draw's seed (with --sample)")
    parser.add_argument(
        "--functions",
        nargs="+",
        metavar="GLOB",
        help="only the mutants whose names match, e.g. 'bot.matching.x_rank_claims__*'",
    )
    parser.add_argument(
        "--record-equivalents",
        action="store_true",
        help="trust every listed equivalent mutant as it is now (after checking them)",
    )
    args = parser.parse_args(argv)
    if (args.sample is None) != (args.seed is None) or (
        args.sample is not None and args.sample < 1
    ):
        parser.error("--sample N (N >= 1) and --seed S go together")
    if args.sample and (args.all or args.report_only):
        parser.error("--sample runs mutants not run yet: not with --all or --report-only")
    globs = {m: module_glob(m) for m in args.modules}
    if args.functions and args.sample:
        parser.error("--functions runs the mutants named: not with --sample")
    for function in args.functions or ():
        if not any(function.startswith(glob[:-1]) for glob in globs.values()):
            parser.error(f"--functions {function!r}: not a mutant of the modules given")
    listed = equivalents()
    if not args.record_equivalents:  # recording hashes every entry; a run needs its modules'
        listed = {n for glob in globs.values() for n in mine(dict.fromkeys(listed, ""), glob)}
    skip = trusted_equivalents(listed, record=args.record_equivalents)
    if not args.report_only:
        run(
            globs,
            skip,
            every=args.all,
            retry=args.retry,
            max_children=args.max_children,
            sample=(args.sample, args.seed) if args.sample else None,
            functions=args.functions,
        )
    statuses = results()
    drawn = sampled()
    failed = False
    print(
        f"{'module':<28} {'mutants':>7} {'killed':>7} {'surv.':>6} {'equiv.':>6} "
        f"{'not run':>7} {'score':>7}"
    )
    rows = {m: mine(statuses, g) for m, g in globs.items()}
    if args.functions:
        rows = {f: matching(statuses, [f]) for f in args.functions}
    for module, theirs in rows.items():
        counts = Counter("killed" if s in KILLED else s for k, s in theirs.items() if k not in skip)
        equiv = sum(1 for k in theirs if k in skip)
        scored = sum(counts.values()) - counts["not checked"]
        score = 100.0 * counts["killed"] / scored if scored else 0.0
        unrun = counts["not checked"]
        failed |= score < args.min or unrun > 0 or not theirs
        print(
            f"{module:<28} {len(theirs):>7} {counts['killed']:>7} "
            f"{scored - counts['killed']:>6} {equiv:>6} {unrun:>7} {score:>6.1f}%"
            + ("  incomplete" if unrun else "")
        )
        mine_drawn = [k for k, s in theirs.items() if k in drawn and k not in skip]
        ran = [theirs[k] for k in mine_drawn if theirs[k] != "not checked"]
        if unrun and ran:
            k, n = sum(s in KILLED for s in ran), len(ran)
            low, high = wilson(k, n)
            print(
                f"{'':<28} sampled: {k} of {n} killed, score {100.0 * k / n:.1f} % "
                f"(95 % interval {low:.1f}-{high:.1f} %)"
                + (f", {len(mine_drawn) - n} sampled not run" if len(mine_drawn) > n else "")
            )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
