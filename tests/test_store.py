from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from dataclasses import asdict
from datetime import datetime, timedelta, tzinfo
from pathlib import Path

import asyncpg
import pytest

from bot import links
from bot.services import open_store
from bot.store import (
    CachedPage,
    InvalidInput,
    NewClaim,
    NotFound,
    ReplyRecord,
    ShownLink,
    Source,
    SQLiteStore,
    Store,
    StoreBusy,
    StoreError,
    is_postgres_url,
    validate_new_claim,
    validation,
)
from bot.store.sqlite.claims import POINT_READ_ROWS

GUILD_A = 111
BUSY = r"^the database is busy \(locked by another process\); try again$"
GUILD_B = 222
URL = "https://www.example.com/news/story?utm_source=x"


def new_claim(text: str = "The moon is made of cheese", **kw: object) -> NewClaim:
    fields: dict[str, object] = {"claim": text, "verdict": "false", "note": "It is rock."}
    fields.update(kw)
    return NewClaim(**fields)  # type: ignore[arg-type]


async def test_migrations_from_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    store = await SQLiteStore.open(path)
    await store.close()
    db = sqlite3.connect(path)
    version = db.execute("PRAGMA user_version").fetchone()[0]
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    mode = db.execute("PRAGMA journal_mode").fetchone()[0]
    db.close()
    assert version >= 1
    assert {"claims", "claim_urls", "claim_sources", "source_notes", "audit_log"} <= tables
    assert mode == "wal"
    # Opening again applies nothing and keeps the data.
    store = await SQLiteStore.open(path)
    await store.add_claim(new_claim(), actor="t", guild_id=None)
    await store.close()
    store = await SQLiteStore.open(path)
    assert await store.count_claims() == 1
    await store.close()


async def test_a_new_store_logs_each_migration_it_applies(
    store_target: str, caplog: pytest.LogCaptureFixture
) -> None:
    # The operator's record of what a start did to the schema: one line a migration, in order.
    with caplog.at_level(logging.INFO, logger="bot.store"):
        opened = await open_store(store_target)
    await opened.close()
    applied = [m for m in caplog.messages if m.startswith("applying store migration")]
    assert applied[:2] == ["applying store migration V1", "applying store migration V2"]
    assert applied == [f"applying store migration V{n}" for n in range(1, len(applied) + 1)]


async def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "future.db"
    sqlite3.connect(path).execute("PRAGMA user_version = 999").connection.close()
    with pytest.raises(StoreError, match="newer than this factbot"):
        await SQLiteStore.open(path)


async def test_a_new_store_another_process_holds_is_busy_not_a_crash(tmp_path: Path) -> None:
    # Two processes creating one store at once: the second is told the file is busy, in one
    # line, and leaves it as it was.
    path = tmp_path / "new.db"
    path.touch()
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(StoreBusy, match=BUSY):
            await SQLiteStore.open(path, busy_timeout_ms=20)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert path.stat().st_size == 0


async def test_a_store_opens_and_reads_while_another_process_writes_to_it(tmp_path: Path) -> None:
    # `factbot claims list` during the bot's (or an import's) write: opening writes nothing.
    path = tmp_path / "store.db"
    store = await SQLiteStore.open(path)
    claim = await store.add_claim(new_claim(), actor="t", guild_id=None)
    await store.close()
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        store = await SQLiteStore.open(path, busy_timeout_ms=20, create=False)
        try:
            assert await store.get_claim(claim.id, guild_id=None) == claim
        finally:
            await store.close()
    finally:
        holder.execute("ROLLBACK")
        holder.close()


async def test_not_a_database_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "junk.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="not a factbot database"):
        await SQLiteStore.open(path)


async def test_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="does not exist"):
        await SQLiteStore.open(tmp_path / "nope" / "x.db")


async def test_claim_found_by_canonical_url(store: Store) -> None:
    claim = await store.add_claim(
        new_claim(
            urls=(URL,), sources=(Source("https://factcheck.example.org/a", "FC", "fact-check"),)
        ),
        actor="t",
        guild_id=None,
    )
    key = links.canonical_url("http://example.com/news/story/")
    found = await store.claims_for_url_keys([key], guild_id=GUILD_A)
    assert [c.id for c in found[key]] == [claim.id]
    assert found[key][0].sources[0].kind == "fact-check"


async def test_servers_see_own_and_global_claims_only(store: Store) -> None:
    a = await store.add_claim(new_claim("A's claim", urls=(URL,)), actor="a", guild_id=GUILD_A)
    g = await store.add_claim(new_claim("global claim", urls=(URL,)), actor="op", guild_id=None)
    key = links.canonical_url(URL)
    seen_by_a = {c.id for c in (await store.claims_for_url_keys([key], guild_id=GUILD_A))[key]}
    seen_by_b = {c.id for c in (await store.claims_for_url_keys([key], guild_id=GUILD_B))[key]}
    assert seen_by_a == {a.id, g.id}
    assert seen_by_b == {g.id}
    with pytest.raises(NotFound):
        await store.get_claim(a.id, guild_id=GUILD_B)


@pytest.mark.parametrize("operation", ["edit", "retire", "link", "source"])
async def test_other_scopes_cannot_change_a_claim(store: Store, operation: str) -> None:
    a = await store.add_claim(new_claim("A's claim"), actor="a", guild_id=GUILD_A)
    g = await store.add_claim(new_claim("global claim"), actor="op", guild_id=None)
    audit_before = await store.audit_count()
    for target in (a, g):
        with pytest.raises(NotFound, match="not found"):
            if operation == "edit":
                await store.edit_claim(target.id, actor="b", guild_id=GUILD_B, verdict="true")
            elif operation == "retire":
                await store.set_active(target.id, False, actor="b", guild_id=GUILD_B)
            elif operation == "link":
                await store.link_url(target.id, URL, actor="b", guild_id=GUILD_B)
            else:
                await store.add_source(
                    target.id, Source("https://x.example/"), actor="b", guild_id=GUILD_B
                )
    assert await store.get_claim(a.id, guild_id=GUILD_A) == a
    assert await store.get_claim(g.id, guild_id=None) == g
    assert await store.audit_count() == audit_before


async def test_every_change_writes_exactly_one_audit_row(store: Store) -> None:
    claim = await store.add_claim(new_claim(), actor="mod:1", guild_id=GUILD_A)
    await store.edit_claim(claim.id, actor="mod:2", guild_id=GUILD_A, verdict="mostly-false")
    await store.link_url(claim.id, URL, actor="mod:2", guild_id=GUILD_A)
    await store.add_source(
        claim.id,
        Source("https://fc.example/x", "FC", "fact-check"),
        actor="mod:2",
        guild_id=GUILD_A,
    )
    await store.set_active(claim.id, False, actor="mod:3", guild_id=GUILD_A)
    # No-ops change nothing and write nothing.
    await store.link_url(claim.id, "http://example.com/news/story/", actor="m", guild_id=GUILD_A)
    await store.set_active(claim.id, False, actor="m", guild_id=GUILD_A)
    history = await store.claim_history(claim.id, guild_id=GUILD_A)
    assert [e.action for e in history] == ["create", "edit", "link", "source", "retire"]
    assert [e.actor for e in history] == ["mod:1", "mod:2", "mod:2", "mod:2", "mod:3"]
    assert history[1].before is not None and history[1].before["verdict"] == "false"
    assert history[1].after is not None and history[1].after["verdict"] == "mostly-false"
    assert history[0].before is None


async def test_audit_log_is_append_only(store: Store, store_target: str) -> None:
    await store.add_claim(new_claim(), actor="t", guild_id=None)
    if is_postgres_url(store_target):
        # Another client of the same database: the rule lives in the schema, not in factbot.
        conn = await asyncpg.connect(store_target)
        try:
            with pytest.raises(asyncpg.RaiseError, match="append-only"):
                await conn.execute("DELETE FROM audit_log")
            with pytest.raises(asyncpg.RaiseError, match="append-only"):
                await conn.execute("UPDATE audit_log SET actor = 'someone else'")
        finally:
            await conn.close()
        return
    db = sqlite3.connect(store_target)
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.execute("DELETE FROM audit_log")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.execute("UPDATE audit_log SET actor = 'someone else'")
    db.close()


async def test_retired_claims_are_not_matched_and_can_be_restored(store: Store) -> None:
    claim = await store.add_claim(new_claim(urls=(URL,)), actor="t", guild_id=GUILD_A)
    key = links.canonical_url(URL)
    await store.set_active(claim.id, False, actor="t", guild_id=GUILD_A)
    assert await store.claims_for_url_keys([key], guild_id=GUILD_A) == {}
    assert (await store.get_claim(claim.id, guild_id=GUILD_A)).active is False
    await store.set_active(claim.id, True, actor="t", guild_id=GUILD_A)
    assert key in await store.claims_for_url_keys([key], guild_id=GUILD_A)


async def test_edit_changes_fields_and_rejects_bad_values(store: Store) -> None:
    claim = await store.add_claim(new_claim(), actor="t", guild_id=GUILD_A)
    edited = await store.edit_claim(
        claim.id, actor="t", guild_id=GUILD_A, note="New note", claim="Moon is cheese"
    )
    assert (edited.claim, edited.note, edited.verdict) == ("Moon is cheese", "New note", "false")
    with pytest.raises(InvalidInput, match="unknown verdict"):
        await store.edit_claim(claim.id, actor="t", guild_id=GUILD_A, verdict="fasle")
    with pytest.raises(InvalidInput, match="empty"):
        await store.edit_claim(claim.id, actor="t", guild_id=GUILD_A, claim="   ")
    assert await store.get_claim(claim.id, guild_id=GUILD_A) == edited


@pytest.mark.parametrize(
    "bad",
    [
        {"claim": ""},
        {"verdict": "very false"},
        {"urls": ("not a url",)},
        {"urls": ("ftp://example.com/x",)},
        {"sources": (Source("javascript:alert(1)"),)},
        {"sources": (Source("https://ok.example/", None, "opinion"),)},
        {"note": "x" * 5000},
    ],
)
async def test_bad_claims_are_refused_and_nothing_is_written(store: Store, bad: dict) -> None:
    with pytest.raises(InvalidInput):
        await store.add_claim(new_claim(**bad), actor="t", guild_id=None)
    assert await store.count_claims() == 0
    assert await store.audit_count() == 0


async def test_source_notes_most_specific_host_first_and_scoped(store: Store) -> None:
    await store.set_source_note("example.com", "tabloid", "", actor="t", guild_id=None)
    await store.set_source_note("news.example.com", "newsroom", "", actor="t", guild_id=None)
    await store.set_source_note("example.com", "server says", "", actor="t", guild_id=GUILD_A)

    async def rating(url: str, guild: int | None) -> str | None:
        note = await store.source_note_for(links.host_candidates(url), guild_id=guild)
        return None if note is None else note.rating

    assert await rating("https://news.example.com/a", GUILD_B) == "newsroom"
    assert await rating("https://www.example.com/a", GUILD_B) == "tabloid"
    assert await rating("https://www.example.com/a", GUILD_A) == "server says"
    assert await rating("https://other.example.org/a", GUILD_A) is None


async def test_domain_notes_do_not_cross_registrable_domains(store: Store) -> None:
    await store.set_source_note("a.blogspot.com", "hoaxes", "", actor="t", guild_id=None)
    assert (
        await store.source_note_for(
            links.host_candidates("https://b.blogspot.com/x"), guild_id=None
        )
        is None
    )
    assert (
        await store.source_note_for(
            links.host_candidates("https://a.blogspot.com/x"), guild_id=None
        )
        is not None
    )


async def test_a_source_note_set_is_reported_and_audited_as_stored(store: Store) -> None:
    # What the moderator is told, and what the audit keeps, is the note as stored: its time too.
    first = await store.set_source_note("example.com", "tabloid", "", actor="t", guild_id=None)
    note = await store.set_source_note("example.com", "satire", "", actor="t", guild_id=None)
    (stored,) = await store.list_source_notes(guild_id=None)
    assert note == stored and stored.updated_at
    change = (await store.changes_since(0))[-1]
    assert (change.before, change.after) == (asdict(first), asdict(stored))


async def test_a_missing_claim_is_named_in_the_error(store: Store) -> None:
    with pytest.raises(NotFound, match=r"^claim #4242 not found$"):
        await store.get_claim(4242, guild_id=None)


async def test_source_note_clear_is_scoped(store: Store) -> None:
    await store.set_source_note("example.com", "tabloid", "", actor="t", guild_id=None)
    with pytest.raises(NotFound, match=r"^no note on example\.com$"):  # what the moderator reads
        await store.clear_source_note("example.com", actor="b", guild_id=GUILD_B)
    await store.clear_source_note("example.com", actor="t", guild_id=None)
    assert await store.list_source_notes(guild_id=None) == []
    assert await store.audit_count() == 2


async def test_concurrent_writers_never_lose_or_mix_work(store: Store) -> None:
    async def add(i: int) -> int:
        claim = await store.add_claim(
            new_claim(f"claim {i}", urls=(f"https://example.com/{i}",)), actor="t", guild_id=None
        )
        return claim.id

    ids = await asyncio.gather(*(add(i) for i in range(50)))
    assert len(set(ids)) == 50
    assert await store.count_claims() == 50
    assert await store.audit_count() == 50
    for i, claim_id in enumerate(ids):
        claim = await store.get_claim(claim_id, guild_id=None)
        assert claim.claim == f"claim {i}"
        assert claim.urls == (f"https://example.com/{i}",)


async def test_locked_database_gives_a_short_error_and_changes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "locked.db"
    store = await SQLiteStore.open(path, busy_timeout_ms=50)
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        # The whole line the moderator or operator reads:
        with pytest.raises(StoreBusy, match=BUSY):
            await store.add_claim(new_claim(), actor="t", guild_id=None)
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert await store.count_claims() == 0
    await store.add_claim(new_claim(), actor="t", guild_id=None)
    assert await store.count_claims() == 1
    await store.close()


async def test_a_link_shared_by_many_claims_finds_every_one_with_its_urls(store: Store) -> None:
    # More claims than a lookup reads on the event loop's own thread (SQLite): all still come.
    shared = "https://www.example.com/front-page"
    records = [
        validate_new_claim(
            new_claim(f"claim {n}", urls=(shared, f"https://example.org/{n}"), external_id=f"f:{n}")
        )
        for n in range(POINT_READ_ROWS + 6)
    ]
    ids = (await store.import_claims(records, actor="t", guild_id=None)).claim_ids
    few = await store.add_claim(new_claim(urls=(URL,)), actor="t", guild_id=None)
    key, other = links.canonical_url(shared), links.canonical_url(URL)
    found = await store.claims_for_url_keys([key, other], guild_id=None)
    assert [c.id for c in found[key]] == ids
    assert found[key][-1].urls == (shared, f"https://example.org/{POINT_READ_ROWS + 5}")
    assert [c.id for c in found[other]] == [few.id]


async def test_a_listing_of_more_than_500_claims_gives_each_its_own_urls(store: Store) -> None:
    # Claims' URLs are read 500 claims a query: an export of a bigger store must still give
    # every claim its URLs, the ones either side of each 500 included.
    records = [
        validate_new_claim(new_claim(f"claim {n}", urls=(f"https://example.org/{n}",)))
        for n in range(502)
    ]
    await store.import_claims(records, actor="t", guild_id=None)
    listed = await store.list_claims(guild_id=None)
    assert [c.urls for c in listed] == [(f"https://example.org/{n}",) for n in range(502)]


async def test_copies_of_a_page_are_looked_for_among_pages_sharing_a_band(store: Store) -> None:
    # A fetched article's copies are the pages sharing one of its fingerprint's four 16-bit
    # bands (any band: the first, the last); a page sharing none is not even read.
    near = 0xF234_5678_9ABC_DEF0
    pages = {
        "same": near,
        "low-band": 0x0000_0000_0000_DEF0,
        "high-band": 0xF234_0000_0000_0000,
        "none": 0x0002_0004_0006_0008,  # even bands, as the first three of `near`
        "near-miss": 0xF235_0001_0003_0005,  # the top band one bit off: no band shared
    }
    for key, fingerprint in pages.items():
        await store.cache_page(CachedPage(key, expires_at=1e12, fingerprint=fingerprint))
    found = sorted(await store.similar_fingerprints(near))
    assert found == sorted((k, k, f) for k, f in pages.items() if k not in ("none", "near-miss"))


async def test_a_cached_page_reads_back_as_it_was_cached(store: Store) -> None:
    # Everything the reply and the copy check use of a page read earlier comes back whole.
    page = CachedPage(
        "https://news.example/full",
        expires_at=1e12,
        final_url="https://www.news.example/full",
        title="Title",
        site_name="News",
        description="What it says",
        published="2026-01-02",
        lead="The lead.",
        canonical_url="https://news.example/canonical",
        og_url="https://news.example/og",
        error=None,
        fingerprint=0x1234,
        text="The main text.",
    )
    await store.cache_page(page)
    assert await store.cached_page(page.url_key) == page


async def test_old_url_keys_are_rekeyed_on_open(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "old.db"
    store = await open_store(str(path))
    claim = await store.add_claim(new_claim(urls=(URL,)), actor="t", guild_id=None)
    await store.close()
    db = sqlite3.connect(path)
    # As if written by an older canonicaliser, before an upgrade.
    db.execute("UPDATE claim_urls SET url_key = 'stale-key', key_version = 0")
    db.commit()
    db.close()
    with caplog.at_level(logging.INFO, logger="bot.store"):
        store = await open_store(str(path))
    # The operator sees why this start took longer.
    assert f"re-keying 1 claim URLs to link key version {links.LINK_KEY_VERSION}" in caplog.messages
    key = links.canonical_url(URL)
    found = await store.claims_for_url_keys([key], guild_id=None)
    assert [c.id for c in found[key]] == [claim.id]
    await store.close()


async def test_import_is_idempotent(store: Store) -> None:
    records = [new_claim(f"claim {i}", external_id=f"x:{i}") for i in range(3)]
    first = await store.import_claims(records, actor="t", guild_id=None)
    again = await store.import_claims(records, actor="t", guild_id=None)
    assert (first.created, first.updated, first.unchanged) == (3, 0, 0)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)
    assert await store.audit_count() == 3
    changed = [new_claim("claim 0", external_id="x:0", verdict="true")]
    third = await store.import_claims(changed, actor="t", guild_id=None)
    assert third.updated == 1
    assert await store.audit_count() == 4


async def test_an_import_audits_each_new_claim_and_reports_progress_once_when_small(
    store: Store,
) -> None:
    records = [validate_new_claim(new_claim(f"claim {i}", external_id=f"x:{i}")) for i in range(3)]
    seen: list[tuple[int, int]] = []
    await store.import_claims(
        records, actor="t", guild_id=None, progress=lambda done, total: seen.append((done, total))
    )
    assert seen == [(3, 3)]  # a few records: one line at the end, not one a record
    assert [e.after for e in await store.changes_since(0)] == [
        {"claim": f"claim {i}", "verdict": "false", "external_id": f"x:{i}"} for i in range(3)
    ]


async def test_search_index_is_rebuilt_when_the_normaliser_changes(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from bot import matching

    path = tmp_path / "index.db"
    store = await open_store(str(path))
    claim = await store.add_claim(new_claim("Vaccines cause autism"), actor="t", guild_id=None)
    await store.close()
    db = sqlite3.connect(path)
    db.execute("DELETE FROM claim_search")  # as if built by an older, different normaliser
    db.execute("UPDATE meta SET value = 'old' WHERE key = 'index_terms_version'")
    db.commit()
    db.close()
    with caplog.at_level(logging.INFO, logger="bot.store"):
        store = await open_store(str(path))
    # The operator sees why this start took longer.
    assert f"rebuilding the search index for normaliser version {matching.INDEX_TERMS_VERSION}" in (
        caplog.messages
    )
    expr = matching.match_expression("do vaccines cause autism?")
    assert expr is not None
    found = await store.search_claims(expr, guild_id=None, limit=5)
    assert [claim_id for claim_id, _ in found] == [claim.id]
    await store.close()


async def test_reimport_with_url_spellings_of_one_article_changes_nothing(store: Store) -> None:
    record = new_claim(
        external_id="feed:1",
        urls=("https://news.example.com/a?utm_source=x", "https://www.news.example.com/a"),
    )
    await store.import_claims([validate_new_claim(record)], actor="t", guild_id=None)
    again = await store.import_claims([validate_new_claim(record)], actor="t", guild_id=None)
    assert (again.updated, again.unchanged) == (0, 1)
    assert await store.audit_count() == 1


async def test_reimport_does_not_bring_back_a_retired_claim(store: Store) -> None:
    record = validate_new_claim(new_claim(external_id="feed:1", urls=(URL,)))
    (claim_id,) = (await store.import_claims([record], actor="t", guild_id=None)).claim_ids
    await store.set_active(claim_id, False, actor="mod", guild_id=None)
    await store.import_claims([record], actor="t", guild_id=None)
    assert (await store.get_claim(claim_id, guild_id=None)).active is False


async def test_changing_the_verdict_drops_the_imported_label(store: Store) -> None:
    record = validate_new_claim(new_claim(rating_label="Pants on Fire", external_id="feed:1"))
    (claim_id,) = (await store.import_claims([record], actor="t", guild_id=None)).claim_ids
    edited = await store.edit_claim(claim_id, actor="mod", guild_id=None, verdict="mostly-true")
    assert (edited.verdict, edited.rating_label) == ("mostly-true", None)


async def test_one_identity_twice_in_one_import_is_one_claim(store: Store) -> None:
    first = validate_new_claim(new_claim("first wording", external_id="feed:1"))
    second = validate_new_claim(new_claim("second wording", external_id="feed:1"))
    result = await store.import_claims([first, second], actor="t", guild_id=None)
    assert (result.created, result.updated) == (1, 1)
    (claim,) = await store.list_claims(guild_id=None)
    assert claim.claim == "second wording"


async def test_a_servers_import_that_repeats_an_identity_audits_every_update_as_its_own(
    store: Store,
) -> None:
    # A repeated identity makes the import write the updates before it at once: those rows
    # must carry the server too, or its history and its forget would miss them.
    records = [new_claim(f"claim {i}", external_id=f"feed:{i}") for i in (1, 2)]
    await store.import_claims(records, actor="t", guild_id=GUILD_A)
    start = await store.latest_change_id()
    again = [
        new_claim("claim 1 reworded", external_id="feed:1"),
        new_claim("claim 2 reworded", external_id="feed:2"),
        new_claim("claim 2 reworded twice", external_id="feed:2"),
    ]
    result = await store.import_claims(
        [validate_new_claim(r) for r in again], actor="t", guild_id=GUILD_A
    )
    assert (result.created, result.updated, result.unchanged) == (0, 3, 0)
    updates = await store.changes_since(start)
    assert [(e.action, e.guild_id) for e in updates] == [("import", GUILD_A)] * 3
    assert sorted(c.claim for c in await store.list_claims(guild_id=GUILD_A)) == [
        "claim 1 reworded",
        "claim 2 reworded twice",
    ]


@pytest.mark.parametrize("guild", [0, -5, 2**63, True])
async def test_a_server_id_that_cannot_be_one_is_refused(store: Store, guild: int) -> None:
    # 0 is how unique indexes spell "global": as a server it would read and write global notes.
    await store.set_source_note("example.com", "global", "", actor="t", guild_id=None)
    with pytest.raises(InvalidInput, match="not a server id"):
        await store.set_source_note("example.com", "hijacked", "", actor="t", guild_id=guild)
    with pytest.raises(InvalidInput, match="not a server id"):
        await store.clear_source_note("example.com", actor="t", guild_id=guild)
    with pytest.raises(InvalidInput, match="not a server id"):
        await store.add_claim(new_claim(), actor="t", guild_id=guild)
    with pytest.raises(InvalidInput, match="not a server id"):
        await store.list_claims(guild_id=guild)
    with pytest.raises(InvalidInput, match="not a server id"):
        await store.source_note_for(["example.com"], guild_id=guild)
    shared = validate_new_claim(new_claim(external_id="fc:1"))
    await store.import_claims([shared], actor="t", guild_id=None)
    changed = validate_new_claim(new_claim(external_id="fc:1", verdict="true"))
    with pytest.raises(InvalidInput, match="not a server id"):
        await store.import_claims([changed], actor="t", guild_id=guild)
    (kept,) = await store.list_claims(guild_id=None)
    assert kept.verdict == "false"
    (note,) = await store.list_source_notes(guild_id=None)
    assert note.rating == "global"
    assert await store.count_claims() == 1


async def test_opening_without_create_needs_a_factbot_store(tmp_path: Path) -> None:
    missing = tmp_path / "missing.db"
    with pytest.raises(StoreError, match="no store at"):
        await SQLiteStore.open(missing, create=False)
    assert not missing.exists()

    other = tmp_path / "other.db"
    con = sqlite3.connect(other)
    con.execute("CREATE TABLE t (x)")
    con.commit()
    con.close()
    before = other.read_bytes()
    for create in (False, True):
        with pytest.raises(StoreError, match="not a factbot database"):
            await SQLiteStore.open(other, create=create)
    assert other.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other.db"]

    made = tmp_path / "made.db"
    await (await SQLiteStore.open(made)).close()
    opened = await SQLiteStore.open(made, create=False)
    await opened.close()


async def test_a_folder_is_not_a_store(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="it is a folder"):
        await SQLiteStore.open(tmp_path)


@pytest.mark.parametrize(
    "bad",
    [
        {"claim": "\u200b\u200b\u200b"},
        {"claim": "\u202e \u2066\ufeff"},
        {"sources": (Source("https://example.com:99999/"),)},
        {"sources": (Source("https://trusted.example@evil.example.net/"),)},
        {"urls": ("https://user:secret@example.com/a",)},
    ],
)
async def test_invisible_claims_bad_ports_and_credentials_are_refused(
    store: Store, bad: dict
) -> None:
    with pytest.raises(InvalidInput):
        await store.add_claim(new_claim(**bad), actor="t", guild_id=None)
    assert await store.count_claims() == 0


async def test_a_claim_reads_back_field_for_field_however_it_is_read(store: Store) -> None:
    # What a moderator sees in /claim show, what check --json prints and what an export
    # writes all come from one row reader: every field must come from its own column.
    imported = await store.import_claims(
        [
            validate_new_claim(
                NewClaim(
                    claim="The tram cost 40 million",
                    verdict="false",
                    note="It cost 4 million.",
                    urls=(URL,),
                    sources=(Source("https://fc.example.org/tram", "FC", "fact-check"),),
                    rating_label="Pants on Fire",
                    context="Harbour tram budget",
                    external_id="feed:tram",
                    claimant="Jane Doe",
                )
            )
        ],
        actor="importer",
        guild_id=None,
    )
    (claim_id,) = imported.claim_ids
    first = await store.get_claim(claim_id, guild_id=None)
    assert (first.claim, first.verdict, first.note, first.rating_label, first.context) == (
        "The tram cost 40 million",
        "false",
        "It cost 4 million.",
        "Pants on Fire",
        "Harbour tram budget",
    )
    assert (first.external_id, first.claimant, first.active) == ("feed:tram", "Jane Doe", True)
    assert (first.created_by, first.updated_by) == ("importer", "importer")
    assert first.created_at == first.updated_at
    assert first.urls == (URL,)
    assert first.sources == (Source("https://fc.example.org/tram", "FC", "fact-check"),)
    key = links.canonical_url(URL)
    assert (await store.claims_for_url_keys([key], guild_id=None))[key] == [first]
    assert await store.get_claims([claim_id], guild_id=None) == [first]
    edited = await store.edit_claim(claim_id, actor="mod", guild_id=None, note="About 4 million.")
    await store.set_active(claim_id, False, actor="mod", guild_id=None)
    for claim in (edited, await store.get_claim(claim_id, guild_id=None)):
        assert claim.note == "About 4 million."
        assert (claim.created_by, claim.created_at) == ("importer", first.created_at)
        assert claim.updated_by == "mod" and claim.updated_at >= first.updated_at
        assert (claim.rating_label, claim.context) == ("Pants on Fire", "Harbour tram budget")
        assert (claim.urls, claim.sources) == (first.urls, first.sources)
        assert claim.claimant == "Jane Doe"
    assert not (await store.get_claim(claim_id, guild_id=None)).active


async def test_a_page_fetched_again_is_kept_until_its_new_expiry_whatever_its_fingerprint(
    store: Store,
) -> None:
    # A page read again replaces the cached one whole, its expiry included; a fingerprint
    # with the top bit set (PostgreSQL keeps it as a signed 64-bit number) reads back as made.
    key, now = "https://news.example/a", time.time()
    await store.cache_page(CachedPage(key, expires_at=now - 10, title="Old"))  # kept a day
    assert await store.cached_page(key, now=now) is None  # expired
    fingerprint = (1 << 64) - 2
    await store.cache_page(CachedPage(key, expires_at=1e12, title="New", fingerprint=fingerprint))
    page = await store.cached_page(key, now=now)
    assert page is not None
    assert (page.title, page.expires_at, page.fingerprint) == ("New", 1e12, fingerprint)


async def test_expired_pages_are_cleared_a_day_after_they_expire(store: Store) -> None:
    # The page cache does not grow without bound: the next page cached clears out entries
    # more than a day past their expiry; an article's fingerprint outlives its cache entry.
    now = time.time()
    old, recent = "https://news.example/old", "https://news.example/recent"
    await store.cache_page(CachedPage(old, expires_at=now - 86400.5, fingerprint=0xABC))
    await store.cache_page(CachedPage(recent, expires_at=now - 86400 + 60))
    assert await store.cached_page(old, now=0.0) is None
    assert await store.cached_page(recent, now=0.0) is not None
    assert (old, old, 0xABC) in await store.similar_fingerprints(0xABC)


async def test_only_the_store_tables_are_ever_copied(store: Store) -> None:
    # Table names are spliced into SQL by the copy (``migrate-store``): anything else is refused.
    with pytest.raises(ValueError, match=r"^not a copied table: claims; DROP TABLE claims$"):
        await store.table_row_count("claims; DROP TABLE claims")
    assert await store.table_row_count("claims") == 0


async def test_a_reimport_that_changes_a_claim_records_what_it_was(store: Store) -> None:
    # The claim's history shows a moderator what a feed's update changed: before and after.
    record = NewClaim("The tram cost 40 million", "false", note="Old note.", external_id="f:1")
    (claim_id,) = (await store.import_claims([record], actor="feed", guild_id=None)).claim_ids
    (created,) = await store.claim_history(claim_id, guild_id=None)
    assert created.at == (await store.get_claim(claim_id, guild_id=None)).created_at
    changed = NewClaim("The tram cost 40 million", "false", note="New note.", external_id="f:1")
    result = await store.import_claims([changed], actor="feed", guild_id=None)
    assert result.updated == 1
    entry = (await store.claim_history(claim_id, guild_id=None))[-1]
    assert entry.action == "import"
    assert entry.before is not None and entry.before["note"] == "Old note."
    assert entry.after is not None and entry.after["note"] == "New note."
    assert entry.at == (await store.get_claim(claim_id, guild_id=None)).updated_at


@pytest.mark.parametrize("path", [":memory:", "file:factbot.db?mode=memory&cache=shared"])
async def test_a_store_that_is_not_a_file_is_refused_in_one_line(
    path: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Two connections must see one database: an in-memory or URI "path" would give each its own.
    monkeypatch.chdir(tmp_path)  # were it taken as a file name, the file lands here
    with pytest.raises(StoreError, match=r"^the store must be a file path$"):
        await SQLiteStore.open(path)


async def test_a_store_made_by_the_first_release_opens_upgraded_with_its_claims(
    tmp_path: Path,
) -> None:
    from bot import matching
    from bot.store.sqlite.connection import _migrations

    path = tmp_path / "v1.db"
    db = sqlite3.connect(path, isolation_level=None)
    migrations = _migrations()
    db.executescript(f"BEGIN;\n{migrations[0][1]}\nPRAGMA user_version = 1;\nCOMMIT;")
    db.execute(
        "INSERT INTO claims (id, claim, verdict, external_id, created_by, created_at, "
        "updated_by, updated_at) VALUES (1, 'Sharks never get cancer', 'false', 'x:1', 't', "
        "'2024-01-01T00:00:00Z', 't', '2024-01-01T00:00:00Z')"
    )
    db.execute(
        "INSERT INTO claim_urls (claim_id, url, url_key, key_version) VALUES (1, ?, ?, ?)",
        (URL, links.canonical_url(URL), links.LINK_KEY_VERSION),
    )
    db.execute(
        "INSERT INTO claim_search (rowid, claim, context) VALUES (1, ?, '')",
        (matching.index_terms("Sharks never get cancer"),),
    )
    db.close()
    store = await open_store(str(path))
    try:
        key = links.canonical_url(URL)
        (found,) = (await store.claims_for_url_keys([key], guild_id=None))[key]
        assert (found.id, found.claim, found.urls) == (1, "Sharks never get cancer", (URL,))
        hits = await store.search_claims('"shark"', guild_id=None, limit=5)
        assert [i for i, _ in hits] == [1]
    finally:
        await store.close()
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == migrations[-1][0]
    db.close()


async def test_imported_claims_are_numbered_on_from_the_existing_ones(store: Store) -> None:
    # Moderators name claims by number (/claim show 2): an import takes the next numbers, no gap.
    first = await store.add_claim(new_claim(), actor="t", guild_id=None)
    records = [validate_new_claim(new_claim(f"claim {n}", external_id=f"x:{n}")) for n in (1, 2)]
    imported = await store.import_claims(records, actor="t", guild_id=None)
    assert imported.claim_ids == [first.id + 1, first.id + 2]
    assert [c.id for c in await store.list_claims(guild_id=None)] == [
        first.id,
        first.id + 1,
        first.id + 2,
    ]


async def test_a_copy_found_by_fingerprint_names_the_page_read_after_a_redirect(
    store: Store,
) -> None:
    # A shortened link's page was read at the article's own address: a copy found later points
    # to that address (its claims), not to the short link it was posted as.
    fingerprint = 0x1234_5678_9ABC_DEF0
    await store.cache_page(
        CachedPage("short.example/abc", expires_at=1e12, fingerprint=fingerprint),
        final_key="news.example.com/2024/story",
    )
    assert await store.similar_fingerprints(fingerprint) == [
        ("short.example/abc", "news.example.com/2024/story", fingerprint)
    ]


async def test_a_reimport_that_moves_a_claim_to_new_links_matches_it_there_only(
    store: Store,
) -> None:
    # A fact-checker's feed corrects the article a claim is about: the bot must answer the
    # new link, and stop answering the old one (and show the new source).
    old_url, new_url = "https://news.example.com/old-story", "https://news.example.com/new-story"
    old_source = Source(url="https://factcheck.example.org/old", kind="fact-check")
    new_source = Source(url="https://factcheck.example.org/new", kind="fact-check")
    first = new_claim(external_id="f:1", urls=(old_url,), sources=(old_source,))
    (claim_id,) = (await store.import_claims([first], actor="feed", guild_id=None)).claim_ids
    moved = new_claim(external_id="f:1", urls=(new_url,), sources=(new_source,))
    assert (await store.import_claims([moved], actor="feed", guild_id=None)).updated == 1
    old_key, new_key = links.canonical_url(old_url), links.canonical_url(new_url)
    found = await store.claims_for_url_keys([old_key, new_key], guild_id=None)
    assert not found.get(old_key)
    (claim,) = found[new_key]
    assert (claim.id, claim.urls, claim.sources) == (claim_id, (new_url,), (new_source,))


def _reply(guild: int | None, message_id: int, claim_ids: tuple[int, ...]) -> ReplyRecord:
    key = f"news.example.com/story/{message_id}"
    shown = (ShownLink(key, tuple((c, "false", "url") for c in claim_ids)),)
    return ReplyRecord(guild, 5, message_id, message_id + 1, "full", shown, time.time())


async def test_a_correction_outside_any_server_finds_every_claim_its_reply_showed(
    store: Store,
) -> None:
    # A reply in a DM showed two global claims: a correction re-reads both (and never a
    # server's own claim); in a server, its own claims too.
    first = await store.add_claim(new_claim("first claim"), actor="t", guild_id=None)
    second = await store.add_claim(new_claim("second claim"), actor="t", guild_id=None)
    own = await store.add_claim(new_claim("a server's claim"), actor="t", guild_id=GUILD_A)
    ids = [first.id, second.id, own.id]
    found = await store.claims_by_id(ids, guild_id=None)
    assert sorted(c.id for c in found) == [first.id, second.id]
    found = await store.claims_by_id(ids, guild_id=GUILD_A)
    assert sorted(c.id for c in found) == sorted(ids)
    assert sorted(c.id for c in await store.claims_by_id(ids, guild_id=GUILD_B)) == [
        first.id,
        second.id,
    ]


async def test_a_changed_claim_finds_every_reply_that_showed_any_of_the_claims(
    store: Store,
) -> None:
    # Two claims change in one import: every live reply that showed either one is corrected.
    first = await store.add_claim(new_claim("first claim"), actor="t", guild_id=None)
    second = await store.add_claim(new_claim("second claim"), actor="t", guild_id=None)
    other = await store.add_claim(new_claim("other claim"), actor="t", guild_id=None)
    await store.record_replies(
        [_reply(GUILD_A, 100, (first.id,)), _reply(GUILD_A, 200, (second.id,))]
    )
    await store.record_replies([_reply(GUILD_A, 300, (other.id,))])
    records = await store.replies_showing([first.id, second.id], since=0.0)
    assert [r.message_id for r in records] == [100, 200]


async def test_backfill_over_many_messages_skips_every_one_already_answered(
    store: Store,
) -> None:
    # After a long outage backfill looks at well over a thousand messages: each one the bot
    # answered already, wherever it falls in the list, must not be answered twice.
    message_ids = list(range(10_000, 11_200))
    answered = [message_ids[0], message_ids[500], message_ids[999], message_ids[1100]]
    await store.record_replies([_reply(GUILD_A, m, ()) for m in answered])
    keys = await store.replied_keys(message_ids)
    assert keys == {(m, f"news.example.com/story/{m}") for m in answered}


class _TickingClock(datetime):
    """A clock a second further on at every reading: a time read twice for one change shows."""

    readings = 0

    @classmethod
    def now(cls, tz: tzinfo | None = None) -> _TickingClock:
        cls.readings += 1
        return cls(2026, 1, 1, tzinfo=tz) + timedelta(seconds=cls.readings)


async def test_an_imports_history_shows_the_times_its_claims_show_while_the_clock_moves_on(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A moderator lines a claim's history up with the claim: the entries of an import carry
    # the claim's own created and updated times, however long the import takes.
    monkeypatch.setattr(validation, "datetime", _TickingClock)
    first = NewClaim("The tram cost 40 million", "false", note="Old note.", external_id="f:1")
    (claim_id,) = (await store.import_claims([first], actor="feed", guild_id=GUILD_A)).claim_ids
    (created,) = await store.claim_history(claim_id, guild_id=GUILD_A)
    claim = await store.get_claim(claim_id, guild_id=GUILD_A)
    assert (created.at, created.guild_id) == (claim.created_at, GUILD_A)
    changed = NewClaim("The tram cost 40 million", "false", note="New note.", external_id="f:1")
    await store.import_claims([changed], actor="feed", guild_id=GUILD_A)
    updated = (await store.claim_history(claim_id, guild_id=GUILD_A))[-1]
    claim = await store.get_claim(claim_id, guild_id=GUILD_A)
    assert (updated.at, updated.guild_id) == (claim.updated_at, GUILD_A)
    assert claim.created_at == created.at != claim.updated_at


async def test_an_import_that_changes_a_claim_and_then_changes_it_back_leaves_the_last_copy(
    store: Store,
) -> None:
    # A feed's file may hold one identity twice (a correction, then its withdrawal): the claim
    # says what the last copy says, and its history shows both steps.
    original = NewClaim("The tram cost 40 million", "false", note="Old note.", external_id="f:1")
    (claim_id,) = (await store.import_claims([original], actor="feed", guild_id=None)).claim_ids
    corrected = NewClaim(
        "The tram cost 40 million",
        "false",
        note="New note.",
        rating_label="Wrong",
        external_id="f:1",
    )
    result = await store.import_claims([corrected, original], actor="feed", guild_id=None)
    assert result.claim_ids == [claim_id, claim_id]
    assert (result.created, result.updated, result.unchanged) == (0, 2, 0)
    claim = await store.get_claim(claim_id, guild_id=None)
    assert (claim.note, claim.rating_label) == ("Old note.", None)
    steps = (await store.claim_history(claim_id, guild_id=None))[-2:]
    assert [(e.before or {}).get("note") for e in steps] == ["Old note.", "New note."]
    assert [(e.after or {}).get("note") for e in steps] == ["New note.", "Old note."]
    assert [(e.after or {}).get("rating_label") for e in steps] == ["Wrong", None]


async def test_a_large_import_reports_its_progress_on_the_way(store: Store) -> None:
    # The operator importing a big file sees how far it got, before it is done.
    records = [
        validate_new_claim(new_claim(f"claim number {i}", external_id=f"x:{i}"))
        for i in range(2001)
    ]
    result = await store.import_claims(records, actor="t", guild_id=None)
    assert result.created == 2001
    seen: list[tuple[int, int]] = []
    again = await store.import_claims(
        records, actor="t", guild_id=None, progress=lambda done, total: seen.append((done, total))
    )
    assert again.unchanged == 2001
    assert seen[-1] == (2001, 2001)
    assert len(seen) > 1 and all(0 < done < 2001 for done, _ in seen[:-1])
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)
    assert {total for _, total in seen} == {2001}


async def test_a_claims_history_shows_the_times_the_claim_shows_while_the_clock_moves_on(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A moderator lines a claim's history up with the claim: adding and editing it are recorded
    # at the claim's own created and updated times, even when the clock ticks during the change.
    monkeypatch.setattr(validation, "datetime", _TickingClock)
    claim = await store.add_claim(new_claim(), actor="t", guild_id=GUILD_A)
    edited = await store.edit_claim(claim.id, actor="t", guild_id=GUILD_A, verdict="true")
    added, changed = await store.claim_history(claim.id, guild_id=GUILD_A)
    assert (added.action, added.at) == ("create", claim.created_at)
    assert changed.at == edited.updated_at != claim.created_at


async def test_copies_are_found_by_each_middle_band_and_by_the_sign_bit(store: Store) -> None:
    # Each 16-bit band is its own: a page sharing only the second (or third) band with an
    # article is looked at even when the bits just above that band differ; a fingerprint with
    # only its top bit set is stored and found like any other.
    near = 0xF234_5678_9ABC_DEF0
    pages = {
        "second-band": 0x0000_0001_9ABC_0000,
        "third-band": 0x0001_5678_0000_0000,
        "sign-bit": 1 << 63,
    }
    for key, fingerprint in pages.items():
        await store.cache_page(CachedPage(key, expires_at=1e12, fingerprint=fingerprint))
    found = sorted(await store.similar_fingerprints(near))
    assert found == sorted((k, k, f) for k, f in pages.items() if k != "sign-bit")
    assert ("sign-bit", "sign-bit", 1 << 63) in await store.similar_fingerprints(1 << 63)


async def test_a_servers_changed_source_note_is_its_own_and_leaves_the_global_one(
    store: Store,
) -> None:
    # A server re-rating a domain changes its own note: the global note on that domain stays,
    # and the moderator is told of the server's note.
    glob = await store.set_source_note("example.com", "tabloid", "global", actor="t", guild_id=None)
    await store.set_source_note("example.com", "satire", "ours", actor="m", guild_id=GUILD_A)
    note = await store.set_source_note(
        "example.com", "tabloid", "ours", actor="m", guild_id=GUILD_A
    )
    assert (note.guild_id, note.rating, note.note) == (GUILD_A, "tabloid", "ours")
    assert await store.list_source_notes(guild_id=None) == [glob]
    mine = await store.list_source_notes(guild_id=GUILD_A)
    assert sorted(mine, key=lambda n: n.guild_id or 0) == [glob, note]


async def test_a_claim_number_past_64_bits_is_no_claim(store: Store) -> None:
    # A moderator's typo of a huge claim number reads as "not found", never as another claim.
    claim = await store.add_claim(new_claim(), actor="t", guild_id=None)
    for number in (2**63, 2**64, -(2**63) - 1):
        with pytest.raises(NotFound, match=f"^claim #{number} not found$"):
            await store.get_claim(number, guild_id=None)
    assert await store.get_claims([2**63, claim.id, -(2**63) - 1], guild_id=None) == [claim]


async def test_claims_read_by_number_are_those_the_server_may_see_in_the_order_asked(
    store: Store,
) -> None:
    # A reply's "Details" reads the claims it showed: a server gets its own and the global
    # ones, in the order asked; never another server's, nor a retired one.
    mine = await store.add_claim(new_claim("ours"), actor="t", guild_id=GUILD_A)
    glob = await store.add_claim(new_claim("everyone's"), actor="t", guild_id=None)
    theirs = await store.add_claim(new_claim("theirs"), actor="t", guild_id=GUILD_B)
    retired = await store.add_claim(new_claim("old"), actor="t", guild_id=GUILD_A)
    await store.set_active(retired.id, False, actor="t", guild_id=GUILD_A)
    asked = [glob.id, theirs.id, retired.id, mine.id]
    assert await store.get_claims(asked, guild_id=GUILD_A) == [glob, mine]
    assert await store.get_claims(asked, guild_id=None) == [glob]


async def test_a_page_that_could_not_be_read_is_cached_with_its_reason(store: Store) -> None:
    # A link that failed is not fetched again until it expires: the reply says why, as before.
    page = CachedPage("https://news.example/gone", expires_at=1e12, error="HTTP 404")
    await store.cache_page(page)
    assert await store.cached_page(page.url_key) == page


async def test_a_migration_that_fails_names_the_reason_and_leaves_the_store_as_it_was(
    tmp_path: Path,
) -> None:
    # A store whose schema already has what its next migration adds (changed by hand): the
    # operator reads SQLite's own reason in one line, and the file keeps its version.
    path = tmp_path / "hand-made.db"
    await (await SQLiteStore.open(path)).close()
    db = sqlite3.connect(path)
    db.execute("PRAGMA user_version = 9")  # V10 adds claims.claim_date, which the file has
    db.commit()
    db.close()
    with pytest.raises(StoreError, match=r"^database error: duplicate column name: claim_date$"):
        await SQLiteStore.open(path)
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == 9
    db.close()


async def test_a_word_too_long_to_index_leaves_the_claims_other_words_counted(
    store: Store,
) -> None:
    # PostgreSQL's tsvector holds no lexeme over 2 KiB; the words after such a "word" still count.
    word = "東" * 700  # 2,100 bytes in UTF-8
    await store.add_claim(new_claim(f"{word} vaccines cause autism"), actor="t", guild_id=None)
    total, counts = await store.term_document_counts(["vaccin", "autism"])
    assert (total, counts) == (1, {"vaccin": 1, "autism": 1})


async def test_claim_vectors_are_kept_per_claim_and_model(store: Store) -> None:
    # What the semantic stage stores and reads back (its own tests need the semantic extra).
    a = await store.add_claim(new_claim("A claim"), actor="t", guild_id=None)
    b = await store.add_claim(new_claim("B claim"), actor="t", guild_id=None)
    await store.put_vectors("model-1", [(a.id, b"\x00\x01"), (b.id, b"\xff")])
    assert await store.get_vectors("model-1", [a.id, b.id]) == {a.id: b"\x00\x01", b.id: b"\xff"}
    assert await store.get_vectors("model-2", [a.id, b.id]) == {}
    await store.put_vectors("model-2", [(a.id, b"\x02")])  # a claim's vector is its model's
    assert await store.get_vectors("model-2", [a.id, b.id]) == {a.id: b"\x02"}
    assert await store.get_vectors("model-1", [a.id]) == {}
