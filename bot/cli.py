"""The ``factbot`` command: the operator's and scripts' front end over the same functions the bot
uses. Exit 0 on success, 2 with a one-line error on stderr for bad input; nothing half-written.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import getpass
import json
import logging
import os
import re
import stat
import sys
import tempfile
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from importlib import resources
from pathlib import Path
from typing import Any, NoReturn

from bot import claimreview, links
from bot import settings as settings_model
from bot.checking import CheckResult
from bot.config import Config, ConfigError, load_config
from bot.live import defaults_from
from bot.progress import show_progress
from bot.ranking import Ranker, embed_missing_claims
from bot.replies import render_text
from bot.services import INDEX_TERMS, load_ranker, open_services, open_store
from bot.store import (
    NewClaim,
    NotFound,
    Source,
    Store,
    StoreError,
    is_postgres_url,
    validate_new_claim,
    validate_source_note,
)
from bot.store.copying import copy_store
from bot.verdicts import VERDICTS, parse_verdict

log = logging.getLogger(__name__)


class UsageError(Exception):
    """Bad input from the command line: printed as one line, exit status 2."""


# C0/C1 controls (escape sequences: clear screen, retitle, OSC-8 links) and bidi/zero-width
# characters (text that reads differently from what it is) never reach the operator's terminal.
_TERMINAL_UNSAFE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]"
)


def terminal_text(text: str, *, one_line: bool = True) -> str:
    """``text`` fit for a terminal: without controls and bidi; on one line unless told."""
    if one_line:
        text = " ".join(text.replace("\t", " ").splitlines())
    else:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _TERMINAL_UNSAFE.sub("", text)


def _escape_for_terminal(json_text: str) -> str:
    # Inside JSON these can only be in strings, where a \u escape is the same character.
    return _TERMINAL_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", json_text)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # One line, as scripts expect; `factbot CMD --help` has the usage. argparse quotes
        # some arguments raw ("unrecognized arguments: ..."), newlines and escapes included.
        self.exit(2, f"{self.prog}: error: {terminal_text(message)}\n")


# ASCII digits only: int() also reads " 5 ", "1_000" and "٥" (Arabic-Indic five).
_GUILD_ID_RE = re.compile(r"[0-9]{1,19}")
MAX_GUILD_ID = 2**63 - 1  # SQLite's INTEGER; Discord's ids are far below


def _guild(value: str) -> int:
    """``--guild``: a Discord server id; the one parser every subcommand uses."""
    if not _GUILD_ID_RE.fullmatch(value) or not 0 < int(value) <= MAX_GUILD_ID:
        raise argparse.ArgumentTypeError(f"not a server id: {terminal_text(value)[:40]!r}")
    return int(value)


def _claim_id(value: str) -> int:
    """A claim's number: ASCII digits, as ``--guild`` (int() reads " 1", "+1", "1_0" as claim
    10, and other scripts' digits). A number past any claim's is no claim: "not found"."""
    if not re.fullmatch(r"[0-9]{1,100}", value) or int(value) == 0:
        raise argparse.ArgumentTypeError(f"not a claim id: {terminal_text(value)[:40]!r}")
    return int(value)


def _count(value: str, *, least: int) -> int:
    if not _GUILD_ID_RE.fullmatch(value) or not least <= int(value) <= MAX_GUILD_ID:
        shown = terminal_text(value)[:40]
        raise argparse.ArgumentTypeError(f"{shown!r} is not a count of {least} or more")
    return int(value)


REQUESTS_LISTED = 1000  # `requests list` without --limit


def _limit(value: str) -> int:
    """``--limit``: how many rows at most, 1 or more (ASCII digits, as ``--guild``)."""
    return _count(value, least=1)


def _offset(value: str) -> int:
    """``--offset``: how many rows to pass over first, 0 or more."""
    return _count(value, least=0)


def _channel(value: str) -> int:
    try:
        return settings_model.parse_id(value, "channel id")
    except settings_model.SettingError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


MAX_SHARDS = 65536  # far past any bot's need; keeps a typo from allocating millions of shards


def _shard_count(value: str) -> int:
    if not re.fullmatch(r"[0-9]{1,6}", value) or not 1 <= int(value) <= MAX_SHARDS:
        raise argparse.ArgumentTypeError(f"{value!r} is not a shard count (1 to {MAX_SHARDS})")
    return int(value)


def _shard_ids(value: str) -> list[int]:
    parts = value.split(",")
    if not all(re.fullmatch(r"[0-9]{1,6}", p) for p in parts):
        raise argparse.ArgumentTypeError(f"{value!r} is not a list of shard ids like 0,1")
    ids = [int(p) for p in parts]
    if len(set(ids)) != len(ids):
        raise argparse.ArgumentTypeError(f"{value!r} names a shard twice")
    return ids


def _shards(args: argparse.Namespace) -> tuple[list[int] | None, int | None]:
    """This process's shard ids and the total, as checked command-line flags."""
    ids: list[int] | None = args.shard_ids
    count: int | None = args.shard_count
    if ids is not None and count is None:
        raise UsageError("--shard-ids needs --shard-count (the shards across all processes)")
    if ids is not None and count is not None and max(ids) >= count:
        raise UsageError(f"--shard-ids {max(ids)}: shard ids run from 0 to {count - 1}")
    return ids, count


def build_parser() -> argparse.ArgumentParser:
    common = _Parser(add_help=False)
    common.add_argument("--config", metavar="PATH", help="TOML config file (default: none)")
    common.add_argument(
        "--db",
        metavar="PATH",
        help="SQLite file or postgresql:// URL (default: [store] url, else [store] path)",
    )
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
    run.add_argument(
        "--shard-ids",
        type=_shard_ids,
        metavar="IDS",
        help="this process's shards, comma-separated, e.g. 0,1 (needs --shard-count)",
    )
    run.add_argument(
        "--shard-count",
        type=_shard_count,
        metavar="N",
        help="shards across all processes (default: as Discord recommends, all in this process)",
    )
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
    add.add_argument("--claimant", help="who made the claim (a person or a description)")
    add.add_argument("--url", action="append", default=[], help="a URL the claim appears at")
    add.add_argument("--source", action="append", default=[], help="a URL to read instead")
    add.add_argument("--json", action="store_true", help='print {"claim_id": N}')
    add.set_defaults(handler=cmd_claims_add)
    lst = claims_sub.add_parser("list", parents=[common, scoped], help="list active claims")
    lst.add_argument("--json", action="store_true")
    lst.add_argument(
        "--retired", action="store_true", help="list the retired claims instead (to restore)"
    )
    lst.set_defaults(handler=cmd_claims_list)
    edit = claims_sub.add_parser("edit", parents=[common, scoped], help="change a claim")
    edit.add_argument("claim_id", type=_claim_id, metavar="ID")
    edit.add_argument("--verdict", help=f"one of: {', '.join(VERDICTS)}")
    edit.add_argument("--note", help="what fact-checkers found")
    edit.add_argument("--claim", help="the claim as stated")
    edit.add_argument("--claimant", help="who made the claim; an empty value clears it")
    edit.set_defaults(handler=cmd_claims_edit)
    retire = claims_sub.add_parser("retire", parents=[common, scoped], help="stop matching a claim")
    retire.add_argument("claim_id", type=_claim_id, metavar="ID")
    retire.set_defaults(handler=cmd_claims_retire)
    restore = claims_sub.add_parser(
        "restore", parents=[common, scoped], help="match a retired claim again"
    )
    restore.add_argument("claim_id", type=_claim_id, metavar="ID")
    restore.set_defaults(handler=cmd_claims_restore)
    link = claims_sub.add_parser("link", parents=[common, scoped], help="attach a URL to a claim")
    link.add_argument("claim_id", type=_claim_id, metavar="ID")
    link.add_argument("url", metavar="URL")
    link.set_defaults(handler=cmd_claims_link)
    cshow = claims_sub.add_parser(
        "show", parents=[common, scoped], help="print a claim with its helpfulness tally"
    )
    cshow.add_argument("claim_id", type=_claim_id, metavar="ID")
    cshow.add_argument("--json", action="store_true")
    cshow.set_defaults(handler=cmd_claims_show)

    requests = sub.add_parser("requests", help="members' fact-check requests")
    requests_sub = requests.add_subparsers(dest="action", required=True, parser_class=_Parser)
    rlist = requests_sub.add_parser("list", parents=[common], help="a server's open requests")
    rlist.add_argument("--guild", type=_guild, metavar="ID", required=True, help="the server")
    rlist.add_argument("--json", action="store_true")
    rlist.add_argument(
        "--limit",
        type=_limit,
        default=REQUESTS_LISTED,
        metavar="N",
        help=f"list at most N requests (default: {REQUESTS_LISTED:,})",
    )
    rlist.add_argument(
        "--offset", type=_offset, default=0, metavar="N", help="pass over the first N requests"
    )
    rlist.set_defaults(handler=cmd_requests_list)

    forget = sub.add_parser(
        "forget", parents=[common], help="delete every row of a server now (global claims stay)"
    )
    forget.add_argument("--guild", type=_guild, metavar="ID", required=True, help="the server")
    forget.set_defaults(handler=cmd_forget)

    settings = sub.add_parser("settings", help="a server's settings (what /settings changes)")
    settings_sub = settings.add_subparsers(dest="action", required=True, parser_class=_Parser)
    in_server = _Parser(add_help=False)
    in_server.add_argument("--guild", type=_guild, metavar="ID", required=True, help="the server")
    in_server.add_argument("--channel", type=_channel, metavar="ID", help="one channel's overrides")
    show = settings_sub.add_parser("show", parents=[common, in_server], help="print the settings")
    show.add_argument("--json", action="store_true")
    show.set_defaults(handler=cmd_settings_show)
    sset_ = settings_sub.add_parser("set", parents=[common, in_server], help="change one setting")
    sset_.add_argument("key", metavar="KEY", help=", ".join(settings_model.GUILD_KEYS))
    sset_.add_argument("value", metavar="VALUE", help="ids comma-separated; all, none, default")
    sset_.set_defaults(handler=cmd_settings_set)

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
    slist.add_argument("--json", action="store_true")
    slist.set_defaults(handler=cmd_sources_list)

    imp = sub.add_parser("import", parents=[common, scoped], help="import ClaimReview JSON")
    imp.add_argument("file", metavar="FILE")
    imp.set_defaults(handler=cmd_import)

    exp = sub.add_parser("export", parents=[common, scoped], help="export claims as ClaimReview")
    exp.add_argument("-o", "--output", metavar="FILE", help="write here (default: stdout)")
    exp.set_defaults(handler=cmd_export)

    move = sub.add_parser(
        "migrate-store", help="copy a whole store to another (SQLite <-> PostgreSQL)"
    )
    move.add_argument("--config", metavar="PATH", help="TOML config file (default: none)")
    move.add_argument(
        "--from", dest="source", required=True, metavar="PATH_OR_URL", help="the store to copy"
    )
    move.add_argument(
        "--to", dest="target", required=True, metavar="PATH_OR_URL", help="where to copy it"
    )
    move.add_argument("--force", action="store_true", help="replace what a non-empty target holds")
    move.set_defaults(handler=cmd_migrate_store)

    ev = sub.add_parser("eval", help="measure matching on CLEF-style data (in a temporary store)")
    ev.add_argument("--config", metavar="PATH", help="TOML config file (default: none)")
    ev.add_argument("--claims", required=True, metavar="VCLAIMS.jsonl")
    ev.add_argument("--queries", required=True, metavar="QUERIES.jsonl")
    ev.add_argument("--run", metavar="RUN.tsv", help="write the top 10 per query as TREC lines")
    ev.add_argument(
        "--db",
        metavar="URL",
        help="evaluate on PostgreSQL: a temporary schema in this database (default: SQLite)",
    )
    ev.add_argument("--json", action="store_true")
    ev.add_argument(
        "--replies",
        metavar="FILE",
        help="write one JSON line a query: the claims the bot would reply with, and quotes",
    )
    ev.set_defaults(handler=cmd_eval)
    return parser


def _config(args: argparse.Namespace) -> Config:
    if args.config is not None:
        _given_path("--config", args.config)
    return load_config(args.config, os.environ)


def _given_path(flag: str, path: str) -> str:
    """A file named on the command line: an empty one (``-o "$UNSET"``) is a mistake, said so,
    not "no such file" nor, for an output, stdout."""
    if not path.strip():
        raise UsageError(f"{flag}: empty path")
    return path


def _db(args: argparse.Namespace, config: Config) -> str:
    return _store_place("--db", config.store.target if args.db is None else args.db)


def _store_place(flag: str, db: str) -> str:
    if is_postgres_url(db):
        return db
    _given_path(flag, db)
    if Path(db).is_dir():
        raise UsageError(f"{flag} {db}: is a folder, not a file")
    return db


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def _print_json(data: Any) -> None:
    print(_escape_for_terminal(json.dumps(data, ensure_ascii=False, indent=2)))


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
    _require_existing_db(db, "import claims first, or use --db PATH or --demo")
    async with open_services(config, db_path=db, fetch_pages=fetch, create=False) as services:
        result = await services.checker.check_text(args.text, guild_id=args.guild)
        if args.guild is not None:
            # As the bot in that server: its own reply threshold (/settings), if it set one.
            rows = await services.store.setting_rows(args.guild)
            current = settings_model.resolve(
                ((r.channel_id, r.key, r.value) for r in rows), defaults_from(config)
            )
            result = settings_model.with_threshold(
                result, current.threshold_for(()), services.checker.reply_threshold
            )
    reply = render_text(result, max_sources=config.replies.max_sources)
    if args.json:
        _print_json(check_json(result, reply))
    elif reply is None and not result.links:
        print("(no reply: no links in this text)", file=sys.stderr)
    elif reply is None:
        print("(no reply: nothing known about these links)", file=sys.stderr)
    else:
        print(terminal_text(reply, one_line=False))
    return 0


def _require_existing_db(db: str, hint: str = "import claims first, or use --db PATH") -> None:
    # A PostgreSQL store that is not there is refused by the engine (create=False).
    if not is_postgres_url(db) and not Path(db).exists():
        raise UsageError(f"no store at {db} ({hint})")


@asynccontextmanager
async def _opened_store(
    args: argparse.Namespace, config: Config, *, must_exist: bool = True
) -> AsyncIterator[Store]:
    """The store named by --db or the config; a read-only command never creates one."""
    db = _db(args, config)
    if must_exist:
        _require_existing_db(db)
    store = await open_store(db, create=not must_exist)
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
            claimant=args.claimant,
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
        claims = await store.list_claims(guild_id=args.guild, include_retired=args.retired)
    if args.retired:
        claims = [c for c in claims if not c.active]
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
            fields = (f"#{c.id}", c.verdict, scope, c.claim)
            print("\t".join(terminal_text(field) for field in fields))
    return 0


async def _own_claim(store: Store, args: argparse.Namespace) -> None:
    """Refuse, by name, a change in a server's scope to a global claim: the server's listing
    shows that claim, so the store's "not found" would read as a contradiction."""
    if args.guild is None:
        return
    try:
        claim = await store.get_claim(args.claim_id, guild_id=args.guild)
    except NotFound:
        return  # the change says so itself
    if claim.guild_id is None:
        raise UsageError(
            f"claim #{claim.id} is global: no server's scope changes it (drop --guild)"
        )


async def cmd_claims_edit(args: argparse.Namespace) -> int:
    config = _config(args)
    if args.verdict is None and args.note is None and args.claim is None and args.claimant is None:
        raise UsageError("nothing to change: give --verdict, --note, --claim or --claimant")
    verdict = None
    if args.verdict is not None:
        try:
            verdict = parse_verdict(args.verdict)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    async with _opened_store(args, config) as store:
        await _own_claim(store, args)
        claim = await store.edit_claim(
            args.claim_id,
            actor=_actor(),
            guild_id=args.guild,
            claim=args.claim,
            verdict=verdict,
            note=args.note,
            claimant=args.claimant,
        )
    print(claim.id)
    return 0


async def _set_claim_active(args: argparse.Namespace, active: bool) -> int:
    config = _config(args)
    async with _opened_store(args, config) as store:
        await _own_claim(store, args)
        claim = await store.set_active(args.claim_id, active, actor=_actor(), guild_id=args.guild)
    print(claim.id)
    return 0


async def cmd_claims_retire(args: argparse.Namespace) -> int:
    return await _set_claim_active(args, False)


async def cmd_claims_restore(args: argparse.Namespace) -> int:
    return await _set_claim_active(args, True)


async def cmd_claims_link(args: argparse.Namespace) -> int:
    config = _config(args)
    try:
        links.canonical_url(args.url)
    except links.InvalidURL as exc:
        raise UsageError(f"bad URL {args.url[:80]!r}: {exc}") from None
    async with _opened_store(args, config) as store:
        await _own_claim(store, args)
        claim = await store.link_url(args.claim_id, args.url, actor=_actor(), guild_id=args.guild)
    print(claim.id)
    return 0


async def cmd_claims_show(args: argparse.Namespace) -> int:
    config = _config(args)
    async with _opened_store(args, config) as store:
        claim = await store.get_claim(args.claim_id, guild_id=args.guild)
        tally = await store.vote_tally(claim.id, guild_id=args.guild)
    if args.json:
        data = claim.snapshot()
        data["votes"] = {
            "scope": "all servers" if args.guild is None else args.guild,
            "helpful": tally.helpful,
            "not_helpful": tally.not_helpful,
            "not_helpful_members": tally.not_helpful_members,
        }
        _print_json(data)
        return 0
    scope = "global" if claim.guild_id is None else f"server {claim.guild_id}"
    state = "active" if claim.active else "retired"
    print("\t".join(terminal_text(f) for f in (f"#{claim.id}", claim.verdict, scope, state)))
    print(terminal_text(claim.claim))
    if claim.claimant:
        print(terminal_text(f"claimant: {claim.claimant}"))
    if claim.claim_date:
        print(f"claimed on: {claim.claim_date}")
    if claim.note:
        print(terminal_text(f"note: {claim.note}"))
    for url in claim.urls:
        print(terminal_text(f"url: {url}"))
    for source in claim.sources:
        print(terminal_text(f"source ({source.kind}): {source.url} {source.title or ''}".rstrip()))
    where = "all servers" if args.guild is None else f"server {args.guild}"
    print(f"votes ({where}): {tally.helpful} helpful, {tally.not_helpful} not helpful")
    return 0


# --- requests and retention ------------------------------------------------------------------


async def cmd_requests_list(args: argparse.Namespace) -> int:
    config = _config(args)
    async with _opened_store(args, config) as store:
        requests = await store.open_requests(args.guild, limit=args.limit, offset=args.offset)
        total = await store.count_open_requests(args.guild)
    if args.json:
        _print_json(
            [
                {
                    "request_id": r.id,
                    "kind": r.kind,
                    "key": r.key,
                    "url": r.url,
                    "count": r.count,
                    "asked_at": r.asked_at,
                    "channel_id": r.channel_id,
                    "message_id": r.message_id,
                }
                for r in requests
            ]
        )
    else:
        for r in requests:
            print("\t".join(terminal_text(str(f)) for f in (f"#{r.id}", r.count, r.kind, r.key)))
    # On stderr, as import's "N more ... skipped": stdout keeps one request a line (or the
    # JSON list) for the scripts that read it.
    after = args.offset + len(requests)
    left = total - after
    if requests and left > 0:
        plural = "request" if left == 1 else "requests"
        print(
            f"{left} more open {plural} not listed ({total} in all): "
            f"--offset {after} lists the next",
            file=sys.stderr,
        )
    elif not requests and 0 < total <= args.offset:
        print(f"no open requests past the first {args.offset} ({total} in all)", file=sys.stderr)
    return 0


async def cmd_forget(args: argparse.Namespace) -> int:
    config = _config(args)
    async with _opened_store(args, config) as store:
        deleted = await store.forget_guild(args.guild, actor=_actor())
    for kind, count in deleted.items():
        print(f"{kind}\t{count}")
    return 0


# --- settings --------------------------------------------------------------------------------


async def cmd_settings_show(args: argparse.Namespace) -> int:
    from bot import matching

    config = _config(args)
    async with _opened_store(args, config) as store:
        rows = await store.setting_rows(args.guild)
    current = settings_model.resolve(
        ((r.channel_id, r.key, r.value) for r in rows), defaults_from(config)
    )
    threshold = config.matching.reply_threshold
    default_threshold = matching.DEFAULT_REPLY_THRESHOLD if threshold is None else threshold
    if args.json:
        _print_json(
            settings_model.settings_json(
                current, channel_id=args.channel, default_threshold=default_threshold
            )
        )
    else:
        for key, text in settings_model.settings_lines(
            current, channel_id=args.channel, default_threshold=default_threshold
        ):
            print(f"{key}\t{text}")
    return 0


async def cmd_settings_set(args: argparse.Namespace) -> int:
    config = _config(args)
    # Parsed before the store is opened: a typo changes nothing and creates nothing.
    try:
        value = settings_model.parse_value(args.key, args.value, channel=args.channel is not None)
    except settings_model.SettingError as exc:
        raise UsageError(str(exc)) from None
    async with _opened_store(args, config, must_exist=False) as store:
        await store.set_setting(
            args.guild, args.key, value, actor=_actor(), channel_id=args.channel
        )
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
        try:
            await store.clear_source_note(domain, actor=_actor(), guild_id=args.guild)
        except NotFound:
            # The server's listing shows global notes: "no note" would contradict it.
            if args.guild is not None and any(
                note.domain == domain and note.guild_id is None
                for note in await store.list_source_notes(guild_id=args.guild)
            ):
                raise UsageError(
                    f"the note on {domain} is global: no server's scope clears it (drop --guild)"
                ) from None
            raise
    return 0


async def cmd_sources_list(args: argparse.Namespace) -> int:
    config = _config(args)
    async with _opened_store(args, config) as store:
        notes = await store.list_source_notes(guild_id=args.guild)
    if args.json:
        _print_json(
            [
                {"domain": n.domain, "guild_id": n.guild_id, "rating": n.rating, "note": n.note}
                for n in notes
            ]
        )
        return 0
    for note in notes:
        scope = "global" if note.guild_id is None else f"server {note.guild_id}"
        fields = (note.domain, note.rating, scope, note.note)
        print("\t".join(terminal_text(field) for field in fields))
    return 0


# --- import and export -----------------------------------------------------------------------


async def cmd_import(args: argparse.Namespace) -> int:
    with _collector_paused():
        return await _import(args)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cycle collector off for a bulk job that makes millions of objects and no cycle
    among them: each time a generation fills, the collector walks every object in it, the
    records read included (20,000 records: 0.3 s of a 3.4 s import)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


async def _import(args: argparse.Namespace) -> int:
    config = _config(args)
    _given_path("FILE", args.file)
    # Checking and indexing a record is pure Python: a second process takes the batches it
    # reaches first (see claimreview.parse_file).
    workers = min(2, os.cpu_count() or 1)
    target = _db(args, config)
    # The SQLite store reuses the index terms; the PostgreSQL one indexes as it writes.
    terms = None if is_postgres_url(target) else INDEX_TERMS
    try:
        parsed = claimreview.parse_file(args.file, workers=workers, index_terms=terms)
    except claimreview.ImportFileError as exc:
        raise UsageError(str(exc)) from None
    for error in parsed.errors[:50]:
        print(terminal_text(f"{args.file}: {error} (skipped)"), file=sys.stderr)
    if len(parsed.errors) > 50:
        print(f"{args.file}: {len(parsed.errors) - 50} more bad records skipped", file=sys.stderr)
    for warning in parsed.warnings[:50]:
        print(f"{args.file}: {warning} (ignored, the rest imported)", file=sys.stderr)
    if len(parsed.warnings) > 50:
        print(f"{args.file}: {len(parsed.warnings) - 50} more parts ignored", file=sys.stderr)
    if not parsed.records:
        raise UsageError(f"{args.file}: no valid records ({len(parsed.errors)} bad)")
    # The sentence model (when installed) loads on another thread while the records go in:
    # the import keeps only one core busy.
    loading = asyncio.create_task(asyncio.to_thread(load_ranker, config))
    try:
        async with open_services(
            config, db_path=target, fetch_pages=False, ranker=Ranker()
        ) as services:
            result = await services.store.import_claims(
                parsed.records,
                actor=_actor(),
                guild_id=args.guild,
                progress=lambda done, total: show_progress("importing", done, total),
                url_keys=parsed.url_keys,
                index_terms=parsed.index_terms,
            )
            embedder = (await loading).embedder
            if embedder is not None:
                await embed_missing_claims(services.store, embedder, progress=True, workers=workers)
    finally:
        await asyncio.wait([loading])  # a thread cannot be cancelled: let it finish
        if not loading.cancelled() and loading.exception() is not None:
            log.debug("loading the sentence model failed", exc_info=loading.exception())
    print(
        f"imported {len(parsed.records)} records: {result.created} created, "
        f"{result.updated} updated, {result.unchanged} unchanged, "
        f"{len(parsed.errors)} skipped"
    )
    return 0


async def cmd_export(args: argparse.Namespace) -> int:
    config = _config(args)
    db = _db(args, config)
    if args.output is not None:
        _given_path("-o", args.output)
    if args.output is not None and _same_file(args.output, db):
        raise UsageError(f"-o {args.output}: that is the store itself")
    async with _opened_store(args, config) as store:
        claims = await store.list_claims(guild_id=args.guild, include_global=False)
    text = json.dumps(claimreview.export_document(claims), ensure_ascii=False, indent=2) + "\n"
    text = _escape_for_terminal(text)
    if args.output is not None:
        _write_output(args.output, text)
    else:
        sys.stdout.write(text)
    return 0


def _same_file(path: str, other: str) -> bool:
    try:
        return os.path.samefile(path, other)
    except OSError:
        return False


def _write_output(target: str, text: str) -> None:
    """Write ``text`` to ``target`` all or nothing, without replacing what is there by surprise.

    A symlink is written through (its target is replaced, not the link); a character device or
    a FIFO (``/dev/stdout``, a named pipe) is written to as it is; a regular file is replaced
    by a temporary file renamed over it, so a failed export never leaves half a file.
    """
    path = Path(os.path.realpath(target))
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        mode = None
    except OSError as exc:
        raise UsageError(f"cannot write {target}: {exc.strerror}") from None
    if mode is not None and (stat.S_ISCHR(mode) or stat.S_ISFIFO(mode)):
        try:
            with open(path, "w", encoding="utf-8") as fh:
                fh.write(text)
        except OSError as exc:
            raise UsageError(f"cannot write {target}: {exc.strerror}") from None
        return
    if mode is not None and not stat.S_ISREG(mode):
        raise UsageError(f"cannot write {target}: not a regular file")
    _write_atomically(path, text, shown=target)


def _write_atomically(path: Path, text: str, *, shown: str) -> None:
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise UsageError(f"cannot write {shown}: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp's 0600 is for the temporary name only
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise UsageError(f"cannot write {shown}: {exc.strerror}") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# --- eval ------------------------------------------------------------------------------------


async def cmd_eval(args: argparse.Namespace) -> int:
    from bot import evaluation

    config = _config(args)
    for flag in ("--claims", "--queries", "--run", "--replies"):
        given = getattr(args, flag[2:])
        if given is not None:
            _given_path(flag, given)
    for path in (args.claims, args.queries):
        if not Path(path).is_file():
            raise UsageError(f"{path}: no such file")
    if args.db is not None and not is_postgres_url(args.db):
        raise UsageError("eval --db: a postgresql:// URL (the SQLite store is a temporary file)")
    try:
        figures = await evaluation.evaluate(
            args.claims,
            args.queries,
            config=config,
            run_path=args.run,
            replies_path=args.replies,
            store_base=args.db,
        )
    except evaluation.EvaluationError as exc:
        raise UsageError(str(exc)) from None
    if args.json:
        print(json.dumps(figures))
    else:
        for key, value in figures.items():
            print(f"{key}\t{value}")
    return 0


# --- migrate-store ---------------------------------------------------------------------------


def _same_store(one: str, other: str) -> bool:
    if is_postgres_url(one) or is_postgres_url(other):
        return one == other
    return Path(one).resolve() == Path(other).resolve()


def _remove_store_files(path: str) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


async def cmd_migrate_store(args: argparse.Namespace) -> int:
    _config(args)  # a broken config is reported, as by every command
    source = _store_place("--from", args.source)
    target = _store_place("--to", args.target)
    if _same_store(source, target):
        raise UsageError("--from and --to name the same store")
    _require_existing_db(source, "--from must name an existing store")
    # A file this command creates is removed again if the copy fails: no empty store is left.
    fresh_file = not is_postgres_url(target) and not Path(target).exists()
    from_store = await open_store(source, create=False)
    try:
        try:
            to_store = await open_store(target)
            try:
                figures = await copy_store(from_store, to_store, force=args.force)
            finally:
                await to_store.close()
        except BaseException:
            if fresh_file:
                _remove_store_files(target)
            raise
        shown_from, shown_to = from_store.path, to_store.path
    finally:
        await from_store.close()
    for figure in figures:
        print(f"{figure.table}: {figure.rows} rows, sha256 {figure.checksum[:16]}")
    total = sum(f.rows for f in figures)
    print(
        terminal_text(
            f"copied {total} rows in {len(figures)} tables from {shown_from} to {shown_to}; "
            "row counts and checksums match"
        )
    )
    return 0


# --- run -------------------------------------------------------------------------------------


async def cmd_run(args: argparse.Namespace) -> int:
    shard_ids, shard_count = _shards(args)
    config = _config(args)
    if not config.discord.token:
        raise UsageError("no Discord token: set DISCORD_TOKEN (see README: 'Running the bot')")
    from bot.client import run_bot

    await run_bot(config, db_path=_db(args, config), shard_ids=shard_ids, shard_count=shard_count)
    return 0


# --- entry point -----------------------------------------------------------------------------


def _not_utf8(argv: Sequence[str]) -> int | None:
    """Position (1-based) of the first argument that was not valid UTF-8, if any."""
    for position, arg in enumerate(argv, start=1):
        # Python hands undecodable bytes over as lone surrogates (surrogateescape).
        if any("\ud800" <= ch <= "\udfff" for ch in arg):
            return position
    return None


def _error(message: str) -> int:
    """The one error path: one line on stderr, exit status 2."""
    print(f"factbot: error: {terminal_text(message)}", file=sys.stderr)
    return 2


def _silence_stdout() -> None:
    # What could not be written stays in stdout's buffer, and the interpreter would try again
    # (and print a second error) at exit.
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass  # not a real file (tests capture it): nothing is left to flush


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    bad = _not_utf8(argv)
    if bad is not None:
        return _error(f"argument {bad} is not valid UTF-8 text")
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, or a usage error already printed on one line
        return exc.code if isinstance(exc.code, int) else 2
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        code = asyncio.run(args.handler(args))
        sys.stdout.flush()  # a full disk or a closed pipe is this command's error, not exit's
        return int(code)
    except ConfigError as exc:
        return _error(f"config: {'; '.join(exc.problems)}")
    except (UsageError, StoreError) as exc:
        return _error(str(exc))
    except KeyboardInterrupt:
        return 130
    except OSError as exc:
        _silence_stdout()
        if exc.filename:
            return _error(f"{exc.filename}: {exc.strerror or exc}")
        return _error(f"cannot write output: {exc.strerror or exc}")
    except Exception as exc:
        # Whatever slipped through is still one line for scripts (the traceback: DEBUG log).
        log.debug("unexpected error", exc_info=True)
        return _error(f"unexpected {type(exc).__name__}: {exc}")


if __name__ == "__main__":
    sys.exit(main())
