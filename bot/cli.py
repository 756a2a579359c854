"""The ``factbot`` command: the operator's and scripts' front end over the same functions the bot
uses. Exit 0 on success, 2 with a one-line error on stderr for bad input; nothing half-written.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import logging
import os
import sys
import tempfile
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import Any, NoReturn

from bot import claimreview, links
from bot.checking import CheckResult
from bot.config import Config, ConfigError, load_config
from bot.progress import show_progress
from bot.replies import render_text
from bot.services import open_services, open_store
from bot.store import (
    NewClaim,
    Source,
    Store,
    StoreError,
    validate_new_claim,
    validate_source_note,
)
from bot.verdicts import VERDICTS, parse_verdict

log = logging.getLogger(__name__)


class UsageError(Exception):
    """Bad input from the command line: printed as one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # One line, as scripts expect; `factbot CMD --help` has the usage.
        self.exit(2, f"{self.prog}: error: {message}\n")


def _guild(value: str) -> int:
    try:
        guild = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a server id: {value!r}") from None
    if guild <= 0:
        raise argparse.ArgumentTypeError(f"not a server id: {value!r}")
    return guild


def build_parser() -> argparse.ArgumentParser:
    common = _Parser(add_help=False)
    common.add_argument("--config", metavar="PATH", help="TOML config file (default: none)")
    common.add_argument("--db", metavar="PATH", help="SQLite store (default: [store] path)")
    scoped = _Parser(add_help=False)
    scoped.add_argument(
        "--guild", type=_guild, metavar="ID", help="a server's own scope (default: global)"
    )

    parser = _Parser(
        prog="factbot",
        description="Answer posted news links with what fact-checkers already know.",
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    run = sub.add_parser("run", parents=[common], help="connect to Discord and answer links")
    run.set_defaults(handler=cmd_run)

    check = sub.add_parser(
        "check", parents=[common, scoped], help="print what the bot would reply to a message"
    )
    check.add_argument("text", metavar="TEXT", help="message text with links")
    check.add_argument("--json", action="store_true", help="print the full report as JSON")
    check.add_argument(
        "--demo", action="store_true", help="check against the bundled demo store (no --db)"
    )
    check.add_argument("--no-fetch", action="store_true", help="do not read the linked pages")
    check.set_defaults(handler=cmd_check)

    claims = sub.add_parser("claims", help="add and list claims")
    claims_sub = claims.add_subparsers(dest="action", required=True, parser_class=_Parser)
    add = claims_sub.add_parser("add", parents=[common, scoped], help="add a claim")
    add.add_argument("--claim", required=True, help="the claim as stated")
    add.add_argument("--verdict", required=True, help=f"one of: {', '.join(VERDICTS)}")
    add.add_argument("--note", default="", help="what fact-checkers found")
    add.add_argument("--url", action="append", default=[], help="a URL the claim appears at")
    add.add_argument("--source", action="append", default=[], help="a URL to read instead")
    add.add_argument("--json", action="store_true", help='print {"claim_id": N}')
    add.set_defaults(handler=cmd_claims_add)
    lst = claims_sub.add_parser("list", parents=[common, scoped], help="list active claims")
    lst.add_argument("--json", action="store_true")
    lst.set_defaults(handler=cmd_claims_list)

    sources = sub.add_parser("sources", help="notes on outlets (domains)")
    sources_sub = sources.add_subparsers(dest="action", required=True, parser_class=_Parser)
    sset = sources_sub.add_parser("set", parents=[common, scoped], help="set a domain's note")
    sset.add_argument("domain", metavar="DOMAIN")
    sset.add_argument("--rating", required=True, help="a short label, e.g. 'state media'")
    sset.add_argument("--note", default="")
    sset.set_defaults(handler=cmd_sources_set)
    sclear = sources_sub.add_parser("clear", parents=[common, scoped], help="remove a note")
    sclear.add_argument("domain", metavar="DOMAIN")
    sclear.set_defaults(handler=cmd_sources_clear)
    slist = sources_sub.add_parser("list", parents=[common, scoped], help="list notes")
    slist.set_defaults(handler=cmd_sources_list)

    imp = sub.add_parser("import", parents=[common, scoped], help="import ClaimReview JSON")
    imp.add_argument("file", metavar="FILE")
    imp.set_defaults(handler=cmd_import)

    exp = sub.add_parser("export", parents=[common, scoped], help="export claims as ClaimReview")
    exp.add_argument("-o", "--output", metavar="FILE", help="write here (default: stdout)")
    exp.set_defaults(handler=cmd_export)

    ev = sub.add_parser("eval", help="measure matching on CLEF-style data (in a temporary store)")
    ev.add_argument("--config", metavar="PATH", help="TOML config file (default: none)")
    ev.add_argument("--claims", required=True, metavar="VCLAIMS.jsonl")
    ev.add_argument("--queries", required=True, metavar="QUERIES.jsonl")
    ev.add_argument("--run", metavar="RUN.tsv", help="write the top 10 per query as TREC lines")
    ev.add_argument("--json", action="store_true")
    ev.add_argument(
        "--replies",
        metavar="FILE",
        help="write one JSON line a query: the claims the bot would reply with, and quotes",
    )
    ev.set_defaults(handler=cmd_eval)
    return parser


def _config(args: argparse.Namespace) -> Config:
    return load_config(args.config, os.environ)


def _db(args: argparse.Namespace, config: Config) -> str:
    return str(args.db or config.store.path)


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def _print_json(data: Any) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=2))


# --- check -----------------------------------------------------------------------------------


def check_json(result: CheckResult, reply: str | None) -> dict[str, Any]:
    return {"links": [r.to_json() for r in result.links], "reply": reply}


async def cmd_check(args: argparse.Namespace) -> int:
    config = _config(args)
    if args.demo:
        if args.db:
            raise UsageError("--demo uses its own store; drop --db")
        with tempfile.TemporaryDirectory(prefix="factbot-demo-") as tmp:
            db = str(Path(tmp) / "demo.db")
            store = await open_store(db)
            try:
                parsed = claimreview.parse_document(
                    json.loads(
                        resources.files("bot").joinpath("demo/claims.json").read_text("utf-8")
                    )
                )
                await store.import_claims(parsed.records, actor="demo", guild_id=None)
                notes = json.loads(
                    resources.files("bot").joinpath("demo/sources.json").read_text("utf-8")
                )
                for note in notes:
                    await store.set_source_note(
                        note["domain"], note["rating"], note["note"], actor="demo", guild_id=None
                    )
            finally:
                await store.close()
            return await _check(args, config, db, fetch=False)
    return await _check(args, config, _db(args, config), fetch=not args.no_fetch)


async def _check(args: argparse.Namespace, config: Config, db: str, *, fetch: bool) -> int:
    _require_existing_db(db)
    async with open_services(config, db_path=db, fetch_pages=fetch) as services:
        result = await services.checker.check_text(args.text, guild_id=args.guild)
    reply = render_text(result, max_sources=config.replies.max_sources)
    if args.json:
        _print_json(check_json(result, reply))
    elif reply is None:
        print("(no reply: nothing known about these links)", file=sys.stderr)
    else:
        print(reply)
    return 0


def _require_existing_db(db: str) -> None:
    if not Path(db).exists():
        raise UsageError(f"no store at {db} (import claims first, or use --db PATH or --demo)")


@asynccontextmanager
async def _opened_store(
    args: argparse.Namespace, config: Config, *, must_exist: bool = True
) -> AsyncIterator[Store]:
    """The store named by --db or the config; a read-only command never creates one."""
    db = _db(args, config)
    if must_exist:
        _require_existing_db(db)
    store = await open_store(db)
    try:
        yield store
    finally:
        await store.close()


# --- claims and sources ----------------------------------------------------------------------


async def cmd_claims_add(args: argparse.Namespace) -> int:
    config = _config(args)
    try:
        verdict = parse_verdict(args.verdict)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    # Validated before the store is opened: a typo must not leave an empty database behind.
    new = validate_new_claim(
        NewClaim(
            claim=args.claim,
            verdict=verdict,
            note=args.note,
            urls=tuple(args.url),
            sources=tuple(Source(url, None, "alternative") for url in args.source),
        )
    )
    async with _opened_store(args, config, must_exist=False) as store:
        claim = await store.add_claim(new, actor=_actor(), guild_id=args.guild)
    if args.json:
        print(json.dumps({"claim_id": claim.id}))
    else:
        print(claim.id)
    return 0


async def cmd_claims_list(args: argparse.Namespace) -> int:
    config = _config(args)
    async with _opened_store(args, config) as store:
        claims = await store.list_claims(guild_id=args.guild)
    if args.json:
        _print_json(
            [
                {
                    "claim_id": c.id,
                    "guild_id": c.guild_id,
                    "claim": c.claim,
                    "verdict": c.verdict,
                    "urls": list(c.urls),
                }
                for c in claims
            ]
        )
    else:
        for c in claims:
            scope = "global" if c.guild_id is None else f"server {c.guild_id}"
            print(f"#{c.id}\t{c.verdict}\t{scope}\t{c.claim}")
    return 0


def _domain(text: str) -> str:
    try:
        return links.normalise_domain(text)
    except links.InvalidURL as exc:
        raise UsageError(f"bad domain {text!r}: {exc}") from None


async def cmd_sources_set(args: argparse.Namespace) -> int:
    config = _config(args)
    domain = _domain(args.domain)
    rating, note = validate_source_note(args.rating, args.note)
    async with _opened_store(args, config, must_exist=False) as store:
        await store.set_source_note(domain, rating, note, actor=_actor(), guild_id=args.guild)
    print(domain)
    return 0


async def cmd_sources_clear(args: argparse.Namespace) -> int:
    config = _config(args)
    domain = _domain(args.domain)
    async with _opened_store(args, config) as store:
        await store.clear_source_note(domain, actor=_actor(), guild_id=args.guild)
    return 0


async def cmd_sources_list(args: argparse.Namespace) -> int:
    config = _config(args)
    async with _opened_store(args, config) as store:
        notes = await store.list_source_notes(guild_id=args.guild)
    for note in notes:
        scope = "global" if note.guild_id is None else f"server {note.guild_id}"
        print(f"{note.domain}\t{note.rating}\t{scope}\t{note.note}")
    return 0


# --- import and export -----------------------------------------------------------------------


async def cmd_import(args: argparse.Namespace) -> int:
    config = _config(args)
    try:
        parsed = claimreview.parse_file(args.file)
    except claimreview.ImportFileError as exc:
        raise UsageError(str(exc)) from None
    for error in parsed.errors[:50]:
        print(f"{args.file}: {error} (skipped)", file=sys.stderr)
    if len(parsed.errors) > 50:
        print(f"{args.file}: {len(parsed.errors) - 50} more bad records skipped", file=sys.stderr)
    if not parsed.records:
        raise UsageError(f"{args.file}: no valid records ({len(parsed.errors)} bad)")
    async with open_services(config, db_path=_db(args, config), fetch_pages=False) as services:
        result = await services.store.import_claims(
            parsed.records,
            actor=_actor(),
            guild_id=args.guild,
            progress=lambda done, total: show_progress("importing", done, total),
        )
        ranker = services.checker.ranker
        if ranker.embedder is not None:
            from bot.ranking import embed_missing_claims

            await embed_missing_claims(services.store, ranker.embedder, progress=True)
    print(
        f"imported {len(parsed.records)} records: {result.created} created, "
        f"{result.updated} updated, {result.unchanged} unchanged, "
        f"{len(parsed.errors)} skipped"
    )
    return 0


async def cmd_export(args: argparse.Namespace) -> int:
    config = _config(args)
    async with _opened_store(args, config) as store:
        claims = await store.list_claims(guild_id=args.guild, include_global=False)
    text = json.dumps(claimreview.export_document(claims), ensure_ascii=False, indent=2) + "\n"
    if args.output:
        _write_atomically(Path(args.output), text)
    else:
        sys.stdout.write(text)
    return 0


def _write_atomically(path: Path, text: str) -> None:
    """Write all or nothing: a failed export never leaves half a file behind."""
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent or ".", prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp's 0600 is for the temporary name only
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise UsageError(f"cannot write {path}: {exc.strerror}") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# --- eval ------------------------------------------------------------------------------------


async def cmd_eval(args: argparse.Namespace) -> int:
    from bot import evaluation

    config = _config(args)
    for path in (args.claims, args.queries):
        if not Path(path).is_file():
            raise UsageError(f"{path}: no such file")
    try:
        figures = await evaluation.evaluate(
            args.claims, args.queries, config=config, run_path=args.run, replies_path=args.replies
        )
    except evaluation.EvaluationError as exc:
        raise UsageError(str(exc)) from None
    if args.json:
        print(json.dumps(figures))
    else:
        for key, value in figures.items():
            print(f"{key}\t{value}")
    return 0


# --- run -------------------------------------------------------------------------------------


async def cmd_run(args: argparse.Namespace) -> int:
    config = _config(args)
    if not config.discord.token:
        raise UsageError(
            "no Discord token: set DISCORD_TOKEN (see README: 'Create the bot application')"
        )
    from bot.client import run_bot

    await run_bot(config, db_path=args.db)
    return 0


# --- entry point -----------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, or a usage error already printed on one line
        return exc.code if isinstance(exc.code, int) else 2
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        return asyncio.run(args.handler(args))
    except ConfigError as exc:
        print(f"factbot: error: config: {'; '.join(exc.problems)}", file=sys.stderr)
    except (UsageError, StoreError) as exc:
        print(f"factbot: error: {exc}", file=sys.stderr)
    except KeyboardInterrupt:
        return 130
    return 2


if __name__ == "__main__":
    sys.exit(main())
