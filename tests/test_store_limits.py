"""The store's limits hold exactly where they say, and the claim edits change what they name.

A limit one off lets a moderator store what a Discord modal or embed cannot show, or refuses
what the command's help promises; an edit that loses a URL or a source loses a moderator's work.
"""

from __future__ import annotations

import logging
import sqlite3
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot import links
from bot.store import (
    MAX_CLAIM_CHARS,
    MAX_NOTE_CHARS,
    MAX_RATING_CHARS,
    MAX_SOURCES_PER_CLAIM,
    MAX_TITLE_CHARS,
    MAX_URLS_PER_CLAIM,
    InvalidInput,
    NewClaim,
    NotFound,
    ReplyRecord,
    ShownLink,
    Source,
    SQLiteStore,
    Store,
    StoreError,
    is_postgres_url,
    redacted_url,
    validate_new_claim,
    validate_source_note,
)
from bot.store.copying import TableCopy, check_copied, copy_store, table_checksum
from bot.store.validation import checked_guild
from bot.verdicts import VERDICTS

GUILD = 111


def claim_with(**kw: object) -> NewClaim:
    fields: dict[str, object] = {"claim": "The moon is made of cheese", "verdict": "false"}
    fields.update(kw)
    return NewClaim(**fields)  # type: ignore[arg-type]


def urls(n: int) -> tuple[str, ...]:
    return tuple(f"https://news.example/story-{i}" for i in range(n))


def sources(n: int) -> tuple[Source, ...]:
    return tuple(Source(f"https://fc.example/check-{i}", f"Check {i}") for i in range(n))


@pytest.mark.parametrize(
    ("field", "limit", "what"),
    [
        ("claim", MAX_CLAIM_CHARS, "claim"),
        ("note", MAX_NOTE_CHARS, "note"),
        ("context", MAX_NOTE_CHARS, "context"),
    ],
)
def test_text_fields_take_their_limit_and_not_one_more(field: str, limit: int, what: str) -> None:
    assert getattr(validate_new_claim(claim_with(**{field: "x" * limit})), field) == "x" * limit
    with pytest.raises(InvalidInput, match=f"^{what} is longer than {limit} characters$"):
        validate_new_claim(claim_with(**{field: "x" * (limit + 1)}))


def test_surrounding_spaces_are_dropped_and_do_not_count_against_the_limit() -> None:
    padded = " \n" + "x" * MAX_CLAIM_CHARS + "\t "
    stored = validate_new_claim(claim_with(claim=padded, note="  a note  ", context=" ctx "))
    assert (stored.claim, stored.note, stored.context) == ("x" * MAX_CLAIM_CHARS, "a note", "ctx")


def test_a_claim_of_spaces_is_empty_but_an_empty_note_is_fine() -> None:
    with pytest.raises(InvalidInput, match=r"^claim is empty$"):
        validate_new_claim(claim_with(claim=" \u200b "))
    assert validate_new_claim(claim_with(note="   ")).note == ""


def test_source_notes_take_their_limits_and_need_a_rating() -> None:
    assert validate_source_note("  unreliable ", " n ") == ("unreliable", "n")
    assert validate_source_note("r" * MAX_RATING_CHARS, "n" * MAX_NOTE_CHARS)[0] == "r" * 60
    with pytest.raises(InvalidInput, match=f"^rating is longer than {MAX_RATING_CHARS} char"):
        validate_source_note("r" * (MAX_RATING_CHARS + 1), "")
    with pytest.raises(InvalidInput, match=f"^note is longer than {MAX_NOTE_CHARS} char"):
        validate_source_note("r", "n" * (MAX_NOTE_CHARS + 1))
    with pytest.raises(InvalidInput, match=r"^rating is empty$"):
        validate_source_note("  ", "a note")


def test_a_claim_takes_50_urls_and_20_sources_and_not_one_more() -> None:
    full = validate_new_claim(
        claim_with(urls=urls(MAX_URLS_PER_CLAIM), sources=sources(MAX_SOURCES_PER_CLAIM))
    )
    assert (len(full.urls), len(full.sources)) == (MAX_URLS_PER_CLAIM, MAX_SOURCES_PER_CLAIM)
    with pytest.raises(InvalidInput, match=f"^more than {MAX_URLS_PER_CLAIM} URLs$"):
        validate_new_claim(claim_with(urls=urls(MAX_URLS_PER_CLAIM + 1)))
    with pytest.raises(InvalidInput, match=f"^more than {MAX_SOURCES_PER_CLAIM} sources$"):
        validate_new_claim(claim_with(sources=sources(MAX_SOURCES_PER_CLAIM + 1)))


def test_source_titles_take_their_limit_and_an_empty_title_is_none() -> None:
    long = Source("https://fc.example/a", "t" * MAX_TITLE_CHARS, "fact-check")
    (kept,) = validate_new_claim(claim_with(sources=(long,))).sources
    assert kept == long
    with pytest.raises(InvalidInput, match=f"^source title is longer than {MAX_TITLE_CHARS}"):
        validate_new_claim(claim_with(sources=(Source("https://fc.example/a", "t" * 301),)))
    untitled = Source("https://fc.example/b", "  ")
    (untitled,) = validate_new_claim(claim_with(sources=(untitled,))).sources
    assert untitled == Source("https://fc.example/b", None, "alternative")


def test_one_article_spelled_twice_is_kept_once_as_first_entered() -> None:
    stored = validate_new_claim(
        claim_with(
            urls=(
                " https://www.example.com/news/a?utm_source=x ",
                "http://example.com/news/a/",
                "https://example.com/news/b",
            ),
            sources=(
                Source("https://fc.example/a", "Old title"),
                Source("https://fc.example/a", "New title", "fact-check"),
            ),
        )
    )
    assert stored.urls == (
        "https://www.example.com/news/a?utm_source=x",
        "https://example.com/news/b",
    )
    assert stored.sources == (Source("https://fc.example/a", "New title", "fact-check"),)


def test_a_bad_url_is_named_in_at_most_80_characters() -> None:
    bad = "not a url " + "y" * 500
    with pytest.raises(InvalidInput) as caught:
        validate_new_claim(claim_with(urls=(bad,)))
    assert str(caught.value).startswith(f"bad URL {bad[:80]!r}: ")
    for source in (Source(bad), Source("https://a.example@b.example/" + "z" * 500)):
        with pytest.raises(InvalidInput) as caught:
            validate_new_claim(claim_with(sources=(source,)))
        assert str(caught.value).startswith(f"bad URL {source.url[:80]!r}: ")
    with pytest.raises(InvalidInput, match=r"^unknown source kind 'opinion'; use fact-check"):
        validate_new_claim(claim_with(sources=(Source("https://fc.example/", None, "opinion"),)))


def test_a_source_link_up_to_the_url_limit_is_kept() -> None:
    base = "https://fc.example/"
    longest = base + "a" * (links.MAX_URL_LENGTH - len(base))
    (kept,) = validate_new_claim(claim_with(sources=(Source(longest),))).sources
    assert kept.url == longest
    with pytest.raises(InvalidInput, match="not an http"):
        validate_new_claim(claim_with(sources=(Source(longest + "a"),)))
    with pytest.raises(InvalidInput, match="not an http"):
        validate_new_claim(claim_with(sources=(Source("https://fc.example/a b"),)))


@pytest.mark.parametrize("guild", [1, 2**63 - 1])
async def test_the_smallest_and_largest_server_ids_are_servers(store: Store, guild: int) -> None:
    mine = await store.add_claim(claim_with(), actor="t", guild_id=guild)
    assert (await store.get_claim(mine.id, guild_id=guild)).guild_id == guild
    with pytest.raises(NotFound):
        await store.get_claim(mine.id, guild_id=None)


async def test_edits_to_the_limit_are_kept_and_one_more_is_refused(store: Store) -> None:
    claim = await store.add_claim(
        claim_with(urls=urls(MAX_URLS_PER_CLAIM - 1)), actor="t", guild_id=GUILD
    )
    await store.link_url(claim.id, "https://news.example/last", actor="t", guild_id=GUILD)
    with pytest.raises(InvalidInput, match=f"^claim #{claim.id} already has 50 URLs$"):
        await store.link_url(claim.id, "https://news.example/one-more", actor="t", guild_id=GUILD)
    # A URL the claim has already is no change, even when full.
    same = await store.link_url(claim.id, "http://news.example/last/", actor="t", guild_id=GUILD)
    assert len(same.urls) == MAX_URLS_PER_CLAIM

    for source in sources(MAX_SOURCES_PER_CLAIM):
        claim = await store.add_source(claim.id, source, actor="t", guild_id=GUILD)
    extra = Source("https://fc.example/extra", "Extra")
    with pytest.raises(InvalidInput, match=f"^claim #{claim.id} already has 20 sources$"):
        await store.add_source(claim.id, extra, actor="t", guild_id=GUILD)
    # Retitling a source the full claim has replaces it in place of adding one.
    retitled = Source("https://fc.example/check-0", "Better title", "fact-check")
    after = await store.add_source(claim.id, retitled, actor="t", guild_id=GUILD)
    assert len(after.sources) == MAX_SOURCES_PER_CLAIM
    assert retitled in after.sources
    assert Source("https://fc.example/check-0", "Check 0") not in after.sources

    text = "y" * MAX_CLAIM_CHARS
    edited = await store.edit_claim(claim.id, actor="t", guild_id=GUILD, claim=f" {text} ")
    assert edited.claim == text
    with pytest.raises(InvalidInput, match=r"^claim is longer than 1000 characters$"):
        await store.edit_claim(claim.id, actor="t", guild_id=GUILD, claim=text + "y")
    with pytest.raises(InvalidInput, match=r"^note is longer than 4000 characters$"):
        await store.edit_claim(claim.id, actor="t", guild_id=GUILD, note="n" * 4001)
    with pytest.raises(InvalidInput, match=r"^claim is empty$"):
        await store.edit_claim(claim.id, actor="t", guild_id=GUILD, claim=" \u200b ")
    assert await store.get_claim(claim.id, guild_id=GUILD) == edited


async def test_an_edit_that_changes_nothing_writes_nothing(store: Store) -> None:
    claim = await store.add_claim(
        claim_with(note="Rock.", sources=sources(1)), actor="t", guild_id=GUILD
    )
    rows = await store.audit_count()
    for unchanged in (
        store.edit_claim(claim.id, actor="m", guild_id=GUILD, note=" Rock. ", verdict="false"),
        store.add_source(claim.id, sources(1)[0], actor="m", guild_id=GUILD),
        store.set_active(claim.id, True, actor="m", guild_id=GUILD),
    ):
        assert await unchanged == claim
    assert await store.audit_count() == rows
    with pytest.raises(InvalidInput, match=r"^nothing to change$"):
        await store.edit_claim(claim.id, actor="m", guild_id=GUILD)
    # Only what changed is changed: the note edit keeps the imported label.
    labelled = await store.add_claim(
        claim_with(rating_label="Pants on fire"), actor="t", guild_id=GUILD
    )
    noted = await store.edit_claim(labelled.id, actor="m", guild_id=GUILD, note="New note")
    assert (noted.note, noted.rating_label, noted.updated_by) == ("New note", "Pants on fire", "m")


async def test_unlinking_removes_only_that_article_and_is_audited(store: Store) -> None:
    claim = await store.add_claim(
        claim_with(urls=("https://www.example.com/news/a?utm_source=x", "https://example.com/b")),
        actor="t",
        guild_id=GUILD,
    )
    after = await store.unlink_url(
        claim.id, "http://example.com/news/a/", actor="m", guild_id=GUILD
    )
    assert after.urls == ("https://example.com/b",)
    key = links.canonical_url("https://example.com/news/a")
    assert await store.claims_for_url_keys([key], guild_id=GUILD) == {}
    missing = "https://example.com/" + "z" * 200
    with pytest.raises(NotFound) as not_there:
        await store.unlink_url(claim.id, missing, actor="m", guild_id=GUILD)
    assert str(not_there.value) == f"claim #{claim.id} has no URL {missing[:80]}"
    (*_, last) = await store.claim_history(claim.id, guild_id=GUILD)
    assert (last.action, last.actor) == ("unlink", "m")
    assert last.after is not None and last.after["urls"] == ["https://example.com/b"]


async def test_retiring_and_restoring_are_audited_as_such(store: Store) -> None:
    claim = await store.add_claim(claim_with(), actor="t", guild_id=GUILD)
    await store.set_active(claim.id, False, actor="m", guild_id=GUILD)
    restored = await store.set_active(claim.id, True, actor="m", guild_id=GUILD)
    assert restored.active is True
    history = await store.claim_history(claim.id, guild_id=GUILD)
    assert [e.action for e in history] == ["create", "retire", "restore"]
    # /claim history shows when and where each change was made.
    created = history[0]
    assert (created.at, created.guild_id, created.claim_id) == (claim.created_at, GUILD, claim.id)
    assert history[-1].at == restored.updated_at
    assert history[-1].before is not None and history[-1].before["active"] is False


@pytest.mark.parametrize(
    ("target", "postgres"),
    [
        ("postgresql://bot@db/factbot", True),
        ("POSTGRES://bot@db/factbot", True),
        ("postgresql", False),  # a file named so, in the working folder
        ("postgres:/db", False),
        ("mysql://db/factbot", False),
        ("data/postgresql://x.db", False),
        ("postgresql://bot@db/f?application_name=a://b", True),
    ],
)
def test_only_a_postgresql_url_selects_postgresql(target: str, postgres: bool) -> None:
    assert is_postgres_url(target) is postgres


def test_a_shown_database_url_hides_every_password_and_keeps_the_rest() -> None:
    assert redacted_url("postgresql://:pw@db/f") == "postgresql://:***@db/f"
    # A user name may hold "@" (a cloud login): the password after it is hidden all the same.
    assert redacted_url("postgresql://me@corp:pw@db/f") == "postgresql://me@corp:***@db/f"
    assert (
        redacted_url("postgresql://a@b@db/f?PassWord=pw&sslmode=require&x=")
        == "postgresql://a@b@db/f?PassWord=***&sslmode=require&x="
    )
    assert redacted_url("postgresql://bot:p%40ss@db:5432/f?application_name=x") == (
        "postgresql://bot:***@db:5432/f?application_name=x"
    )


def test_a_copy_that_differs_names_the_table_and_what_differs() -> None:
    columns = ("id", "claim")
    rows = [(1, "The moon is cheese"), (2, "Rock")]
    copy = TableCopy("claims", columns, rows, 2, table_checksum(columns, rows))
    check_copied(copy, ("claim", "id"), [("Rock", 2), ("The moon is cheese", 1)])
    with pytest.raises(StoreError, match="differs"):
        check_copied(copy, ("id", "claims"), rows)  # renamed, same order
    with pytest.raises(StoreError) as short:
        check_copied(copy, columns, rows[:1])
    assert str(short.value) == "copy of claims has 1 rows, the source 2: nothing copied"
    with pytest.raises(StoreError) as changed:
        check_copied(copy, columns, [(1, "The moon is cheese"), (2, "Rocks")])
    assert str(changed.value) == "copy of claims differs from the source: nothing copied"
    # Times (floats), flags and vectors are compared by value, whatever the engine's type.
    kinds = ("posted_at", "active", "vector")
    values: list[tuple[object, ...]] = [(1700000000.25, True, b"\x00\x01")]
    copy = TableCopy("bot_replies", kinds, values, 1, table_checksum(kinds, values))
    check_copied(copy, kinds, [(1700000000.25, 1, memoryview(b"\x00\x01"))])
    for changed_row in [(1700000000.5, 1, b"\x00\x01"), (1700000000.25, 1, b"\x00\x02")]:
        with pytest.raises(StoreError, match="differs"):
            check_copied(copy, kinds, [changed_row])


async def test_a_reply_record_reads_back_as_it_was_written(store: Store) -> None:
    shown = (
        ShownLink("https://example.com/a", ((7, "false", "url"), (9, "misleading", "content"))),
        ShownLink("https://tabloid.example/b", (), "tabloid.example"),
    )
    record = ReplyRecord(
        guild_id=GUILD,
        channel_id=5,
        message_id=100,
        reply_id=101,
        style="compact",
        links=shown,
        posted_at=1_700_000_000.5,
    )
    await store.record_replies([record])
    (stored,) = await store.replies_to_message(100, guild_id=GUILD)
    assert stored.id is not None
    assert replace(stored, id=None) == record
    assert stored.claim_ids == (7, 9)
    # A correction records when it was made and what the reply shows now.
    now_shown = (ShownLink("https://example.com/a", ((7, "true", "url"),)),)
    await store.mark_reply(stored.id, corrected_at=1_700_000_100.0, links=now_shown)
    (corrected,) = await store.replies_to_message(100, guild_id=GUILD)
    assert corrected == replace(stored, corrected_at=1_700_000_100.0, links=now_shown)


async def test_a_copy_into_a_store_with_other_columns_is_refused_and_logged_when_done(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    source = await SQLiteStore.open(tmp_path / "source.db")
    await source.add_claim(claim_with(urls=urls(2)), actor="t", guild_id=GUILD)
    odd_path = tmp_path / "odd.db"
    await (await SQLiteStore.open(odd_path)).close()
    with sqlite3.connect(odd_path) as db:
        db.execute("ALTER TABLE claims ADD COLUMN extra TEXT")
    odd = await SQLiteStore.open(odd_path)
    fresh = await SQLiteStore.open(tmp_path / "fresh.db")
    try:
        with pytest.raises(StoreError) as refused:
            await copy_store(source, odd, force=True)
        assert str(refused.value) == "table claims has other columns in the target: nothing copied"
        assert await odd.count_claims() == 0
        with caplog.at_level(logging.INFO, logger="bot.store.copying"):
            await copy_store(source, fresh, force=False)
        assert "copied 4 rows in 20 tables" in caplog.messages
        assert await fresh.list_claims(guild_id=GUILD) == await source.list_claims(guild_id=GUILD)
    finally:
        for store in (source, odd, fresh):
            await store.close()


async def test_a_server_with_the_smallest_id_keeps_its_notes_apart_from_global(
    store: Store,
) -> None:
    await store.set_source_note("example.com", "global rating", "", actor="t", guild_id=None)
    await store.set_source_note("example.com", "server rating", "", actor="t", guild_id=1)
    await store.set_source_note("example.com", "global again", "", actor="t", guild_id=None)
    mine = await store.source_note_for(["example.com"], guild_id=1)
    theirs = await store.source_note_for(["example.com"], guild_id=2)
    assert mine is not None and (mine.rating, mine.guild_id) == ("server rating", 1)
    assert theirs is not None and (theirs.rating, theirs.guild_id) == ("global again", None)
    await store.clear_source_note("example.com", actor="t", guild_id=1)
    assert [n.rating for n in await store.list_source_notes(guild_id=1)] == ["global again"]


async def test_changes_are_stamped_in_utc_to_the_second(store: Store) -> None:
    claim = await store.add_claim(claim_with(), actor="t", guild_id=GUILD)
    stamp = datetime.fromisoformat(claim.created_at)
    assert stamp.utcoffset() == timedelta(0)
    assert stamp.microsecond == 0
    assert abs(datetime.now(UTC) - stamp) < timedelta(minutes=5)


def test_a_verdict_typo_lists_the_verdicts_and_a_bad_server_id_is_named() -> None:
    with pytest.raises(InvalidInput) as typo:
        validate_new_claim(claim_with(verdict="flase"))
    assert str(typo.value) == f"unknown verdict 'flase'; use one of: {', '.join(VERDICTS)}"
    with pytest.raises(InvalidInput, match=r"^not a server id: True$"):
        checked_guild(True)
    with pytest.raises(InvalidInput, match=r"^not a server id: '5'$"):
        checked_guild("5")  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match=r"^not a server id: 0$"):
        checked_guild(0)


async def test_a_cleared_note_reads_back_in_the_change_feed(store: Store) -> None:
    # The live follower reads every change; a clearing has nothing after it.
    start = await store.latest_change_id()
    await store.set_source_note("example.com", "tabloid", "", actor="t", guild_id=GUILD)
    await store.clear_source_note("example.com", actor="m", guild_id=GUILD)
    set_row, cleared = await store.changes_since(start)
    assert (cleared.actor, cleared.domain, cleared.after) == ("m", "example.com", None)
    assert cleared.before is not None and cleared.before["rating"] == "tabloid"
    assert set_row.after is not None and set_row.before is None


@pytest.mark.parametrize(
    ("link", "reason"),
    [
        ("https://[::1/check", "not an http(s) link"),  # does not parse
        ("https://fc.example/a b", "not an http(s) link"),
        ("https://trusted.example@evil.example/", "credentials (user@) in URL"),
        # Discord would show the bell raw, and the link's site could not be named.
        ("https://fc.example/a\x07b", "control characters in URL"),
        ("https://fc.example/\x7f", "control characters in URL"),
        # A long link is quoted by its first 80 characters: the line stays one line.
        ("https://fc.example/" + "a" * 90 + "\x07", "control characters in URL"),
        ("https://fc.example/" + "a" * 90 + " b", "not an http(s) link"),
        ("https://[::1/" + "a" * 90, "not an http(s) link"),
    ],
)
def test_a_bad_source_link_is_one_clear_line(link: str, reason: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        validate_new_claim(claim_with(sources=(Source(link),)))
    assert str(refused.value) == f"bad URL {link[:80]!r}: {reason}"


def test_urls_keyed_once_per_file_stay_distinct_in_later_records() -> None:
    keys: dict[str, str] = {}
    two = ("https://example.com/a", "https://example.com/b")
    assert validate_new_claim(claim_with(urls=two), url_keys=keys).urls == two
    assert validate_new_claim(claim_with(urls=two), url_keys=keys).urls == two
    assert keys == {u: links.canonical_url(u) for u in two}


async def test_the_audit_row_records_a_claims_sources_and_a_refused_link_is_clipped(
    store: Store,
) -> None:
    claim = await store.add_claim(claim_with(sources=sources(1)), actor="t", guild_id=GUILD)
    (created,) = await store.claim_history(claim.id, guild_id=GUILD)
    assert created.after is not None
    assert created.after["sources"] == [
        {"url": "https://fc.example/check-0", "title": "Check 0", "kind": "alternative"}
    ]
    odd = "ftp://fc.example/" + "q" * 200
    with pytest.raises(InvalidInput) as refused:
        validate_new_claim(claim_with(sources=(Source(odd),)))
    assert str(refused.value) == f"bad URL {odd[:80]!r}: not an http(s) link"
