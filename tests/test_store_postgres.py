"""What only the PostgreSQL engine has: schemas instead of files, a server, several processes.

The behaviour both engines share runs on both through the ``store`` fixture (tests/conftest.py);
these are the PostgreSQL twins of test_store.py's SQLite-file tests, and the shared-store cases.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import pytest

from bot import links, matching
from bot.community import request_items
from bot.services import open_store
from bot.store import (
    InvalidInput,
    NewClaim,
    ReplyRecord,
    ShownLink,
    StoreBusy,
    StoreError,
    open_target,
    postings,
    redacted_url,
)
from bot.store.postgres import PostgresStore, once
from bot.store.postgres.audit import _AUDIT_LOCK
from bot.store.postgres.connection import latest_version
from bot.store.postgres.search import tsvector_text
from tests.postgres_server import PASSWORD_ROLE, password_role

URL = "https://www.example.com/news/story?utm_source=x"
# What a member or moderator reads when another process holds what a change needs.
BUSY = r"^the database is busy \(locked by another process\); try again$"


def new_claim(text: str = "The moon is made of cheese", **kw: object) -> NewClaim:
    fields: dict[str, object] = {"claim": text, "verdict": "false", "note": "It is rock."}
    fields.update(kw)
    return NewClaim(**fields)  # type: ignore[arg-type]


async def _tables(url: str) -> set[str]:
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
        )
    finally:
        await conn.close()
    return {r[0] for r in rows}


async def _execute(url: str, *statements: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        for sql in statements:
            await conn.execute(sql)
    finally:
        await conn.close()


async def test_migrations_from_an_empty_schema(postgres_url: str) -> None:
    store = await PostgresStore.open(postgres_url)
    await store.add_claim(new_claim(), actor="t", guild_id=None)
    await store.close()
    tables = await _tables(postgres_url)
    assert {"claims", "claim_urls", "claim_sources", "source_notes", "audit_log"} <= tables
    conn = await asyncpg.connect(postgres_url)
    assert await conn.fetchval("SELECT version FROM factbot_schema") == latest_version()
    await conn.close()
    # Opening again applies nothing and keeps the data.
    store = await PostgresStore.open(postgres_url)
    assert await store.count_claims() == 1
    await store.close()


async def test_two_processes_opening_a_new_store_at_once_migrate_it_once(
    postgres_url: str,
) -> None:
    stores = await asyncio.gather(*(PostgresStore.open(postgres_url) for _ in range(3)))
    for store in stores:
        await store.close()
    conn = await asyncpg.connect(postgres_url)
    assert await conn.fetchval("SELECT count(*) FROM factbot_schema") == 1
    await conn.close()


async def test_newer_schema_is_refused(postgres_url: str) -> None:
    await (await PostgresStore.open(postgres_url)).close()
    await _execute(postgres_url, "UPDATE factbot_schema SET version = 999")
    with pytest.raises(StoreError, match="newer than this factbot"):
        await PostgresStore.open(postgres_url)


async def test_another_applications_schema_is_refused_untouched(postgres_url: str) -> None:
    await _execute(postgres_url, "CREATE TABLE invoices (id INTEGER PRIMARY KEY)")
    for create in (True, False):
        with pytest.raises(StoreError, match="not a factbot database"):
            await PostgresStore.open(postgres_url, create=create)
    assert await _tables(postgres_url) == {"invoices"}


async def test_opening_without_create_needs_a_factbot_store(postgres_url: str) -> None:
    with pytest.raises(StoreError, match="no store at"):
        await open_target(postgres_url, create=False)
    assert await _tables(postgres_url) == set()
    await (await open_target(postgres_url)).close()
    opened = await open_target(postgres_url, create=False)
    assert await opened.count_claims() == 0
    await opened.close()


async def test_a_server_that_is_not_there_is_a_clear_error_without_the_password() -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"postgresql://bot:s3cret-pw@127.0.0.1:{port}/factbot"
    with pytest.raises(StoreError, match="cannot connect to") as raised:
        await PostgresStore.open(url)
    assert "s3cret-pw" not in str(raised.value)
    assert str(port) in str(raised.value)


def test_urls_are_shown_without_their_password() -> None:
    assert redacted_url("postgresql://bot:pw@db:5432/f") == "postgresql://bot:***@db:5432/f"
    assert "pw" not in redacted_url("postgresql://bot@db/f?password=pw&sslmode=require")
    assert redacted_url("postgresql://bot@db/f") == "postgresql://bot@db/f"


async def test_the_password_can_come_from_the_environment(postgres_url: str) -> None:
    admin = postgres_url.split("?")[0]
    role = password_role()
    await _execute(
        admin, f"CREATE ROLE {role} LOGIN PASSWORD 'from-env' SUPERUSER IN ROLE {PASSWORD_ROLE}"
    )
    try:
        url = postgres_url.replace("postgresql://postgres@", f"postgresql://{role}@")
        # The operator reads why: the server's own reason.
        refused = "cannot connect to .*: password authentication failed for user"
        with pytest.raises(StoreError, match=refused) as raised:
            await PostgresStore.open(url, environ={"FACTBOT_DB_PASSWORD": "wrong-one"})
        assert "wrong-one" not in str(raised.value)
        store = await PostgresStore.open(url, environ={"FACTBOT_DB_PASSWORD": "from-env"})
        assert await store.count_claims() == 0
        assert "from-env" not in store.path
        await store.close()
        # A password in the URL wins over the environment's.
        own = url.replace(f"postgresql://{role}@", f"postgresql://{role}:from-env@")
        store = await PostgresStore.open(own, environ={"FACTBOT_DB_PASSWORD": "wrong-one"})
        assert await store.count_claims() == 0
        await store.close()
    finally:
        await _execute(admin, f"DROP OWNED BY {role}", f"DROP ROLE {role}")


async def test_locked_rows_give_a_short_error_and_change_nothing(postgres_url: str) -> None:
    store = await PostgresStore.open(postgres_url, busy_timeout_ms=50)
    claim = await store.add_claim(new_claim(), actor="t", guild_id=None)
    other = await asyncpg.connect(postgres_url)
    tx = other.transaction()
    await tx.start()
    await other.execute("SELECT 1 FROM claims WHERE id = $1 FOR UPDATE", claim.id)
    try:
        with pytest.raises(StoreBusy, match=BUSY):
            await store.edit_claim(claim.id, actor="t", guild_id=None, note="changed")
    finally:
        await tx.rollback()
        await other.close()
    assert (await store.get_claim(claim.id, guild_id=None)).note == "It is rock."
    assert await store.audit_count() == 1
    await store.close()


async def test_two_processes_share_one_store(postgres_url: str) -> None:
    first, second = await open_store(postgres_url), await open_store(postgres_url)
    try:
        added = await asyncio.gather(
            *(
                (first if i % 2 else second).add_claim(
                    new_claim(f"Claim number {i} about cheese", urls=(f"{URL}&n={i}",)),
                    actor="t",
                    guild_id=None,
                )
                for i in range(20)
            )
        )
        assert await first.count_claims() == await second.count_claims() == 20
        assert await first.audit_count() == 20
        key = links.canonical_url(f"{URL}&n=3")
        found = await second.claims_for_url_keys([key], guild_id=None)
        assert [c.id for c in found[key]] == [added[3].id]
        # An edit through one is what the other reads next.
        await first.edit_claim(added[3].id, actor="t", guild_id=None, verdict="mixed")
        assert (await second.get_claim(added[3].id, guild_id=None)).verdict == "mixed"
    finally:
        await first.close()
        await second.close()


async def test_old_url_keys_are_rekeyed_on_open(
    postgres_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    store = await open_store(postgres_url)
    claim = await store.add_claim(new_claim(urls=(URL,)), actor="t", guild_id=None)
    await store.close()
    # As if written by an older canonicaliser, before an upgrade.
    await _execute(postgres_url, "UPDATE claim_urls SET url_key = 'stale-key', key_version = 0")
    with caplog.at_level(logging.INFO, logger="bot.store"):
        store = await open_store(postgres_url)
    # The operator sees why this start took longer.
    assert f"re-keying 1 claim URLs to link key version {links.LINK_KEY_VERSION}" in caplog.messages
    key = links.canonical_url(URL)
    found = await store.claims_for_url_keys([key], guild_id=None)
    assert [c.id for c in found[key]] == [claim.id]
    await store.close()


async def test_search_index_is_rebuilt_when_the_normaliser_changes(
    postgres_url: str, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Postings counted a claim a batch, as a store bigger than one batch (4,096 claims) is.
    monkeypatch.setattr(postings, "_MANY", 1)
    store = await open_store(postgres_url)
    claim = await store.add_claim(new_claim("Vaccines cause autism"), actor="t", guild_id=None)
    other = await store.add_claim(new_claim("Vaccines are safe"), actor="t", guild_id=None)
    await store.close()
    await _execute(
        postgres_url,
        "DELETE FROM claim_search",  # as if built by an older, different normaliser
        "UPDATE meta SET value = 'old' WHERE key = 'index_terms_version'",
    )
    with caplog.at_level(logging.INFO, logger="bot.store"):
        store = await open_store(postgres_url)
    # The operator sees why this start took longer.
    assert f"rebuilding the search index for normaliser version {matching.INDEX_TERMS_VERSION}" in (
        caplog.messages
    )
    expr = matching.match_expression("do vaccines cause autism?")
    assert expr is not None
    found = await store.search_claims(expr, guild_id=None, limit=5)
    assert [claim_id for claim_id, _ in found] == [claim.id, other.id]  # both read back whole
    total, counts = await store.term_document_counts(["vaccin", "autism", "cheese"])
    assert (total, counts) == (2, {"vaccin": 2, "autism": 1})
    await store.close()
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="bot.store"):
        await (await open_store(postgres_url)).close()
    assert not [m for m in caplog.messages if "rebuilding" in m]  # once: the next start is quick


async def test_a_search_is_an_or_of_quoted_terms_only(postgres_url: str) -> None:
    store = await open_store(postgres_url)
    try:
        with pytest.raises(StoreError, match="OR of quoted terms"):
            await store.search_claims("vaccin AND autism", guild_id=None, limit=5)
    finally:
        await store.close()


async def test_two_processes_setting_one_new_note_do_not_collide(postgres_url: str) -> None:
    first, second = await open_store(postgres_url), await open_store(postgres_url)
    try:
        for round_ in range(5):
            domain = f"outlet{round_}.example"
            await asyncio.gather(
                first.set_source_note(domain, "satire", "", actor="a", guild_id=7),
                second.set_source_note(domain, "state media", "", actor="b", guild_id=7),
            )
            notes = [n for n in await first.list_source_notes(guild_id=7) if n.domain == domain]
            assert len(notes) == 1 and notes[0].rating in ("satire", "state media")
        assert await first.audit_count() == 10
    finally:
        await first.close()
        await second.close()


async def test_forget_removes_every_row_of_a_server_and_none_of_another(postgres_url: str) -> None:
    from tests.test_community_store import GUILD, OTHER, fill

    store = await open_store(postgres_url)
    conn = await asyncpg.connect(postgres_url)
    try:
        await fill(store, GUILD)
        await fill(store, OTHER)
        tables = [
            r[0]
            for r in await conn.fetch(
                "SELECT table_name FROM information_schema.columns "
                "WHERE table_schema = current_schema() AND column_name = 'guild_id'"
            )
        ]

        async def rows(guild: int) -> dict[str, int]:
            return {
                t: await conn.fetchval(f"SELECT count(*) FROM {t} WHERE guild_id = $1", guild)
                for t in tables
            }

        before_other = await rows(OTHER)
        deleted = await store.forget_guild(GUILD, actor="cli:test")
        assert deleted["claims"] == 1 and deleted["votes"] == 1 and deleted["reply_records"] == 1
        assert not any((await rows(GUILD)).values())
        assert await rows(OTHER) == before_other
        total, _ = await store.term_document_counts([])
        assert total == await store.count_claims() == 1  # the index forgot the claim too
        with pytest.raises(asyncpg.RaiseError, match="append-only"):
            await conn.execute("DELETE FROM audit_log WHERE guild_id = $1", OTHER)
    finally:
        await conn.close()
        await store.close()


async def test_a_claims_tsvector_is_the_one_postgresql_builds_from_its_words(
    postgres_url: str,
) -> None:
    # The stored tsvector (for the vocabulary counts and an operator's own searches) holds each
    # word at the positions PostgreSQL's own to_tsvector gives it, the first word at 1.
    text = "dam flood the dam"
    vector, count = tsvector_text(text)
    conn = await asyncpg.connect(postgres_url)
    try:
        ours = await conn.fetchval("SELECT $1::tsvector::text", vector)
        theirs = await conn.fetchval("SELECT to_tsvector('simple', $1)::text", text)
    finally:
        await conn.close()
    assert (ours, count) == (theirs, 4) == ("'dam':1,4 'flood':2 'the':3", 4)


async def test_tsvector_input_keeps_quotes_and_backslashes_as_written(postgres_url: str) -> None:
    vector, _ = tsvector_text("it's a\\b")
    conn = await asyncpg.connect(postgres_url)
    try:
        lexemes = await conn.fetchval("SELECT tsvector_to_array($1::tsvector)", vector)
    finally:
        await conn.close()
    assert sorted(lexemes) == ["a\\b", "it's"]


async def test_a_claim_id_that_is_not_a_number_is_refused(postgres_url: str) -> None:
    store = await open_store(postgres_url)
    try:
        with pytest.raises(InvalidInput, match=r"^not a claim id: '7'$"):
            await store.get_claim("7", guild_id=None)  # type: ignore[arg-type]
    finally:
        await store.close()


async def test_a_store_damaged_behind_its_back_gives_the_servers_reason(postgres_url: str) -> None:
    # One line with PostgreSQL's own reason (the CLI prints it, exit 2), not a traceback.
    store = await open_store(postgres_url)
    try:
        await _execute(postgres_url, "DROP TABLE claims CASCADE")
        with pytest.raises(StoreError, match=r'^database error: relation "claims" does not exist'):
            await store.get_claim(1, guild_id=None)
    finally:
        await store.close()


@asynccontextmanager
async def _another_process_holding(
    url: str, lock_key_sql: str, *args: object
) -> AsyncIterator[None]:
    """Another process in the middle of a write that holds the advisory lock ``lock_key_sql``."""
    conn = await asyncpg.connect(url)
    tx = conn.transaction()
    await tx.start()
    try:
        await conn.execute(f"SELECT pg_advisory_xact_lock({lock_key_sql})", *args)
        yield
    finally:
        await tx.rollback()
        await conn.close()


async def test_a_members_fetch_check_waits_for_that_member_only(postgres_url: str) -> None:
    # Another process counting member 7's fetches: 7's next check waits its turn (here: busy,
    # as the wait is short), while member 8's goes ahead.
    store = await PostgresStore.open(postgres_url, busy_timeout_ms=50)
    try:
        async with _another_process_holding(
            postgres_url, "hashtextextended($1, 0)", "factbot:member:7"
        ):
            with pytest.raises(StoreBusy, match=BUSY):
                await store.allow_member_fetch(7, per_minute=5)
            assert await store.allow_member_fetch(8, per_minute=5)
        assert await store.allow_member_fetch(7, per_minute=5)
    finally:
        await store.close()


async def test_a_notes_change_waits_for_another_process_changing_that_note(
    postgres_url: str,
) -> None:
    store = await PostgresStore.open(postgres_url, busy_timeout_ms=50)
    try:
        for guild in (None, 111, 222):
            await store.set_source_note("tabloid.example", "tabloid", "", actor="m", guild_id=guild)
        async with _another_process_holding(
            postgres_url, "hashtextextended($1, $2)", "tabloid.example", 111
        ):
            with pytest.raises(StoreBusy, match=BUSY):
                await store.clear_source_note("tabloid.example", actor="m", guild_id=111)
            with pytest.raises(StoreBusy, match=BUSY):  # re-rating it waits too
                await store.set_source_note(
                    "tabloid.example", "satire", "", actor="m", guild_id=111
                )
            # Another server's note, and the global one, are not held up.
            await store.set_source_note("tabloid.example", "satire", "", actor="m", guild_id=222)
            await store.clear_source_note("tabloid.example", actor="m", guild_id=222)
            await store.clear_source_note("tabloid.example", actor="m", guild_id=None)
        note = await store.source_note_for(["tabloid.example"], guild_id=111)
        # the busy clear and re-rating changed nothing
        assert note is not None and (note.guild_id, note.rating) == (111, "tabloid")
        await store.clear_source_note("tabloid.example", actor="m", guild_id=111)
    finally:
        await store.close()


async def test_a_settings_change_waits_for_another_process_changing_that_setting(
    postgres_url: str,
) -> None:
    # Two moderators changing one server's setting at once: the second compares with the
    # first's result. Another setting, or another server's, is not held up.
    store = await PostgresStore.open(postgres_url, busy_timeout_ms=50)
    try:
        async with _another_process_holding(postgres_url, "hashtextextended($1, $2)", "watch", 111):
            with pytest.raises(StoreBusy, match=BUSY):
                await store.set_setting(111, "watch", [5], actor="m")
            assert await store.set_setting(222, "watch", [5], actor="m")
            assert await store.set_setting(111, "ignore", [6], actor="m")
        assert [r.key for r in await store.setting_rows(111)] == ["ignore"]
    finally:
        await store.close()


async def test_a_request_waits_for_another_process_filing_that_servers_requests(
    postgres_url: str,
) -> None:
    # A member's asks are counted one transaction at a time across processes; another
    # server's members are not held up.
    store = await PostgresStore.open(postgres_url, busy_timeout_ms=50)
    try:
        items = request_items(URL)
        async with _another_process_holding(postgres_url, "hashtextextended('requests', $1)", 111):
            with pytest.raises(StoreBusy, match=BUSY):
                await store.file_requests(
                    111, items, member_id=1, channel_id=5, message_id=10, per_hour=10
                )
            await store.file_requests(
                222, items, member_id=1, channel_id=5, message_id=10, per_hour=10
            )
        assert await store.open_requests(111) == []
    finally:
        await store.close()


async def test_an_audited_change_waits_for_another_process_writing_its_audit_row(
    postgres_url: str,
) -> None:
    # Audit rows commit in id order across processes (the change feed never skips one): a
    # change waits while another process is writing its audit row.
    store = await PostgresStore.open(postgres_url, busy_timeout_ms=50)
    try:
        async with _another_process_holding(postgres_url, "$1::bigint", _AUDIT_LOCK):
            with pytest.raises(StoreBusy, match=BUSY):
                await store.set_source_note("a.example", "tabloid", "", actor="m", guild_id=None)
        assert await store.audit_count() == 0
    finally:
        await store.close()


async def test_a_vote_waits_for_another_process_counting_that_servers_votes(
    postgres_url: str,
) -> None:
    store = await PostgresStore.open(postgres_url, busy_timeout_ms=50)
    try:
        claim = await store.add_claim(new_claim(urls=(URL,)), actor="t", guild_id=None)
        shown = (ShownLink(links.canonical_url(URL), ((claim.id, "false", "url"),)),)
        await store.record_replies(
            [ReplyRecord(111, 5, 1000, 1001, "full", links=shown, posted_at=time.time())]
        )
        async with _another_process_holding(postgres_url, "hashtextextended('votes', $1)", 111):
            with pytest.raises(StoreBusy, match=BUSY):
                await store.record_vote(111, 1000, 7, False, flag_min_members=1)
        assert (await store.vote_tally(claim.id, guild_id=111)).total == 0
        assert (await store.record_vote(111, 1000, 7, False, flag_min_members=1)).changed
    finally:
        await store.close()


async def test_a_connection_the_server_drops_is_a_one_line_error(postgres_url: str) -> None:
    # The database restarts (or an administrator ends a session) while a page is being read:
    # that check fails with a one-line store error, not a traceback, and the store carries on.
    store = await PostgresStore.open(postgres_url)
    admin = await asyncpg.connect(postgres_url)
    try:
        with pytest.raises(StoreError, match=r"^database error: "):
            async with store.page_fetch_turn("news.example.com/story"):
                ended = await admin.fetchval(
                    "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid, 10000)) "
                    "FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                    "AND query LIKE 'SELECT pg_advisory_lock(%'"
                )
                assert ended == 1
        assert await store.count_claims() == 0
    finally:
        await admin.close()
        await store.close()


async def test_tidying_the_repeat_window_forgets_only_what_no_window_still_needs(
    postgres_url: str,
) -> None:
    # A bot that runs for months must not keep every link it ever answered nor every page fetch
    # (the tables would only grow); tidying them up must never let a link still in its window
    # be answered twice, nor forget a member's fetches of the last minute.
    store = await open_store(postgres_url)
    try:
        tidy_at = 10_000.0  # the time of the claim that makes this process tidy up
        assert await store.claim_first_reply(1, "example.com/old", window_s=60, now=1000.0)
        assert await store.allow_member_fetch(7, per_minute=1, now=tidy_at - 60)
        assert await store.allow_member_fetch(8, per_minute=1, now=tidy_at - 50)
        for n in range(once._PRUNE_EVERY - 2):
            assert await store.claim_first_reply(
                2, f"example.com/{n}", window_s=60, now=tidy_at - 30
            )
        assert await store.claim_first_reply(3, "example.com/last", window_s=60, now=tidy_at)
        conn = await asyncpg.connect(postgres_url)
        try:
            kept = {r[0] for r in await conn.fetch("SELECT url_key FROM reply_window")}
            fetches = [r[0] for r in await conn.fetch("SELECT member_id FROM member_fetches")]
        finally:
            await conn.close()
        assert "example.com/old" not in kept
        assert len(kept) == once._PRUNE_EVERY - 1
        assert fetches == [8]
        assert not await store.claim_first_reply(2, "example.com/0", window_s=60, now=tidy_at + 1)
        assert not await store.allow_member_fetch(8, per_minute=1, now=tidy_at + 1)
    finally:
        await store.close()
