"""``factbot migrate-store``: a whole store copied SQLite -> PostgreSQL -> SQLite, refusals."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path

import asyncpg
import pytest

from bot.cli import main
from bot.community import request_items
from bot.links import canonical_url
from bot.services import open_store
from bot.store import CachedPage, NewClaim, ReplyRecord, SeenLink, ShownLink, Source, Store
from bot.store.copying import COPIED_TABLES, NOT_COPIED, read_tables

GUILD = 111
URL = "https://news.example.com/2024/moon-cheese"


async def fill(store: Store) -> int:
    """One or more rows in every copied table, as the bot and moderators would write them."""
    claim = await store.add_claim(
        NewClaim(
            claim="The moon is made of cheese",
            verdict="false",
            note="Rock, says NASA.",
            urls=(URL,),
            sources=(Source(url="https://factcheck.example.org/moon", kind="fact-check"),),
            claimant="Moon sceptics",
            claim_date="1969-07-21",
        ),
        actor="test",
        guild_id=None,
    )
    await store.add_claim(
        NewClaim(claim="Ünïcode claim about bridges", verdict="mixed"), actor="t", guild_id=GUILD
    )
    await store.set_source_note(
        "tabloid.example", "tabloid", "often wrong", actor="t", guild_id=None
    )
    await store.set_setting(GUILD, "reply_style", "compact", actor="discord:1")
    now = time.time()
    await store.record_replies(
        [
            ReplyRecord(
                guild_id=GUILD,
                channel_id=5,
                message_id=1000,
                reply_id=1001,
                style="full",
                links=(ShownLink(URL, ((claim.id, "false", "url"),)),),
                posted_at=now,
            )
        ]
    )
    await store.remember_links([SeenLink(GUILD, 5, 1000, "news.example.com/x", now, now + 600)])
    await store.file_requests(
        GUILD,
        request_items("https://unknown.example.net/story"),
        member_id=7,
        channel_id=5,
        message_id=2000,
        per_hour=10,
    )
    await store.set_notify(GUILD, 7, True)
    await store.record_vote(GUILD, 1000, 8, False, flag_min_members=1)
    await store.cache_page(
        CachedPage(url_key="news.example.com/x", expires_at=now + 60, title="X", fingerprint=2**62),
        final_key="news.example.com/x",
    )
    await store.put_vectors("minilm", [(claim.id, b"\x00\x01\xff")])
    await store.schedule_forget(GUILD + 1, grace_s=3600)
    return claim.id


async def figures(target: str) -> dict[str, tuple[int, str]]:
    store = await open_store(target, create=False)
    try:
        return {c.table: (c.count, c.checksum) for c in await read_tables(store)}
    finally:
        await store.close()


async def test_every_table_is_copied_or_rebuilt(postgres_url: str, tmp_path: Path) -> None:
    # A table a later migration adds must be named in one list or the other, on both engines.
    store = await open_store(str(tmp_path / "s.db"))
    await store.close()
    with sqlite3.connect(tmp_path / "s.db") as db:
        sqlite_tables = {
            r[0]
            for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            if not r[0].startswith("sqlite_")
        }
    db.close()
    pg = await open_store(postgres_url)
    await pg.close()
    conn = await asyncpg.connect(postgres_url.split("?", 1)[0])
    try:
        schema = postgres_url.split("search_path=", 1)[1]
        pg_tables = {
            r[0]
            for r in await conn.fetch(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = $1", schema
            )
        }
    finally:
        await conn.close()
    for tables in (sqlite_tables, pg_tables):
        assert tables - NOT_COPIED == set(COPIED_TABLES)


async def test_sqlite_to_postgresql_and_back(
    postgres_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    original = str(tmp_path / "original.db")
    store = await open_store(original)
    try:
        claim_id = await fill(store)
    finally:
        await store.close()
    with sqlite3.connect(original) as db:
        # Only ever filled for the moment a server is being forgotten; a copy keeps it too.
        db.execute("INSERT INTO guild_erasures (guild_id) VALUES (999)")
    db.close()
    before = await figures(original)
    empty = [table for table, (rows, _) in before.items() if not rows]
    assert empty == [], empty  # the test covers every table

    code = await asyncio.to_thread(
        main, ["migrate-store", "--from", original, "--to", postgres_url]
    )
    out, err = capsys.readouterr()
    assert (code, err) == (0, "")
    assert "row counts and checksums match" in out
    assert "claims: 2 rows" in out
    assert await figures(postgres_url) == before

    back = str(tmp_path / "back.db")
    code = await asyncio.to_thread(main, ["migrate-store", "--from", postgres_url, "--to", back])
    assert code == 0
    assert await figures(back) == before

    for target in (postgres_url, back):
        store = await open_store(target)
        try:
            # The copy answers like the original: the URL, the search index, the history.
            key = canonical_url(URL)
            found = await store.claims_for_url_keys([key], guild_id=None)
            assert [c.id for c in found[key]] == [claim_id]
            hits = await store.search_claims('"moon"', guild_id=None, limit=5)
            assert [h[0] for h in hits] == [claim_id]
            history = await store.claim_history(claim_id, guild_id=None)
            assert [e.action for e in history] == ["create", "flag"]
            # New rows get new ids, past the copied ones.
            added = await store.add_claim(
                NewClaim(claim="Later", verdict="true"), actor="t", guild_id=None
            )
            assert added.id > claim_id + 1
        finally:
            await store.close()


async def test_a_non_empty_target_is_refused_unless_forced(
    postgres_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = str(tmp_path / "source.db")
    store = await open_store(source)
    try:
        await fill(store)
    finally:
        await store.close()
    target = await open_store(postgres_url)
    try:
        await target.add_claim(
            NewClaim(claim="Already here", verdict="true"), actor="t", guild_id=None
        )
    finally:
        await target.close()
    kept = await figures(postgres_url)

    code = await asyncio.to_thread(main, ["migrate-store", "--from", source, "--to", postgres_url])
    out, err = capsys.readouterr()
    assert (code, out) == (2, "")
    assert "the target is not empty (claims, audit_log): use --force to replace it" in err
    assert err.count("\n") == 1
    assert await figures(postgres_url) == kept

    argv = ["migrate-store", "--from", source, "--to", postgres_url, "--force"]
    assert await asyncio.to_thread(main, argv) == 0
    assert await figures(postgres_url) == await figures(source)


async def test_a_row_the_target_cannot_hold_leaves_it_as_it_was(
    postgres_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = str(tmp_path / "source.db")
    store = await open_store(source)
    try:
        await fill(store)
    finally:
        await store.close()
    # SQLite keeps a NUL inside text; PostgreSQL refuses it. (Written past the store's own
    # validation, as an older version or a hand edit might have.)
    with sqlite3.connect(source) as db:
        db.execute("UPDATE claims SET note = ? WHERE id = 1", ("bad\x00note",))
    db.close()
    target = await open_store(postgres_url)
    await target.close()
    kept = await figures(postgres_url)

    code = await asyncio.to_thread(main, ["migrate-store", "--from", source, "--to", postgres_url])
    out, err = capsys.readouterr()
    assert (code, out) == (2, "")
    assert err.startswith("factbot: error: ") and err.count("\n") == 1
    assert await figures(postgres_url) == kept


async def test_a_failed_copy_to_a_new_file_leaves_no_file(
    postgres_url: str, tmp_path: Path
) -> None:
    pg = await open_store(postgres_url)
    try:
        await pg.set_source_note("a.example", "x", "", actor="t", guild_id=None)
    finally:
        await pg.close()
    conn = await asyncpg.connect(postgres_url.split("?", 1)[0])
    try:
        schema = postgres_url.split("search_path=", 1)[1]
        # A value no SQLite column check accepts: the copy must fail on the target.
        await conn.execute(f"ALTER TABLE {schema}.claims DROP CONSTRAINT claims_verdict_check")
        await conn.execute(
            f"INSERT INTO {schema}.claims (claim, verdict, created_by, created_at, updated_by, "
            "updated_at) VALUES ('x', 'bogus', 't', 'now', 't', 'now')"
        )
    finally:
        await conn.close()
    target = tmp_path / "new.db"
    code = await asyncio.to_thread(
        main, ["migrate-store", "--from", postgres_url, "--to", str(target)]
    )
    assert code == 2
    assert list(tmp_path.iterdir()) == []


async def test_a_forced_copy_over_an_sqlite_store_keeps_its_audit_log_append_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Replacing a store that has a history must empty its audit log (the one delete allowed),
    # and the copy's own history must be as undeletable afterwards as before.
    source, target = str(tmp_path / "source.db"), str(tmp_path / "target.db")
    for path in (source, target):
        store = await open_store(path)
        try:
            await fill(store)
        finally:
            await store.close()
    argv = ["migrate-store", "--from", source, "--to", target, "--force"]
    code = await asyncio.to_thread(main, argv)
    out, err = capsys.readouterr()
    assert (code, err) == (0, "")
    assert "row counts and checksums match" in out
    assert await figures(target) == await figures(source)
    db = sqlite3.connect(target)
    try:
        with pytest.raises(sqlite3.IntegrityError, match=r"^audit_log is append-only$"):
            db.execute("DELETE FROM audit_log")
    finally:
        db.close()
    assert (await figures(target))["audit_log"] == (await figures(source))["audit_log"]
