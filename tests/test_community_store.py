"""Issue 11 in the store and the CLI: requests, votes and flags, retention and ``forget``.

Real SQLite files with the real migrations; the CLI through ``main``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import time
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from bot import links
from bot.cli import main
from bot.community import request_items
from bot.services import open_store
from bot.store import (
    InvalidInput,
    NewClaim,
    NotFound,
    ReplyRecord,
    RequestItem,
    RequestLimit,
    SeenLink,
    ShownLink,
    SQLiteStore,
    Store,
    VoteOutcome,
    is_postgres_url,
    validate_new_claim,
)

GUILD, OTHER = 111, 222
URL = "https://news.example.com/2024/moon-cheese"
COPY = "https://www.news.example.com/2024/moon-cheese?utm_source=x"


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "community.db"


@pytest.fixture
async def store(store_target: str) -> AsyncIterator[Store]:
    """The store on each engine (an SQLite file, a PostgreSQL schema)."""
    opened = await open_store(store_target)
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture
async def sqlite_store(db: Path) -> AsyncIterator[Store]:
    """For the tests that read the SQLite file behind the store's back."""
    opened = await SQLiteStore.open(db)
    try:
        yield opened
    finally:
        await opened.close()


async def file(
    store: Store, text: str, member: int, guild: int = GUILD, now: float | None = None, **kw: int
) -> list:
    return await store.file_requests(
        guild,
        request_items(text),
        member_id=member,
        channel_id=5,
        message_id=kw.pop("message_id", member * 10),
        per_hour=kw.pop("per_hour", 10),
        now=now,
    )


async def add_claim(store: Store, guild: int | None, urls: tuple[str, ...] = ()) -> int:
    claim = await store.add_claim(
        NewClaim(claim="The moon is cheese", verdict="false", urls=urls),
        actor="test",
        guild_id=guild,
    )
    return claim.id


async def test_two_members_on_two_copies_of_one_link_are_one_request(store: Store) -> None:
    await file(store, f"look {URL}", member=1)
    await file(store, f"and {COPY}", member=2)
    await file(store, f"again {URL}", member=2)  # asking twice counts once
    (request,) = await store.open_requests(GUILD)
    assert request.count == 2 and request.kind == "url" and request.url == URL
    assert await store.open_requests(OTHER) == []


async def test_a_message_without_links_is_filed_by_its_text(store: Store) -> None:
    await file(store, "The moon  is CHEESE", member=1)
    await file(store, "the moon is cheese", member=2)
    (request,) = await store.open_requests(GUILD)
    assert (request.kind, request.key, request.count) == ("text", "the moon is cheese", 2)


async def test_the_queue_is_most_asked_then_oldest(store: Store) -> None:
    await file(store, "https://a.example.com/1", member=1)
    await file(store, "https://b.example.com/2", member=1)
    await file(store, "https://b.example.com/2", member=2)
    await file(store, "https://c.example.com/3", member=3)
    keys = [r.url for r in await store.open_requests(GUILD)]
    assert keys == ["https://b.example.com/2", "https://a.example.com/1", "https://c.example.com/3"]


async def test_a_member_is_rate_limited(store: Store) -> None:
    await file(store, "https://a.example.com/1", member=1, per_hour=2)
    await file(store, "https://b.example.com/1", member=1, per_hour=2)
    with pytest.raises(RequestLimit):
        await file(store, "https://c.example.com/1", member=1, per_hour=2)
    assert len(await store.open_requests(GUILD)) == 2
    await file(store, "https://c.example.com/1", member=2, per_hour=2)  # others still can


async def test_a_members_request_limit_is_a_sliding_hour(store: Store) -> None:
    await file(store, "https://a.example.com/1", member=1, per_hour=1, now=1000.0)
    with pytest.raises(RequestLimit, match="1 checks in the last hour"):
        await file(store, "https://b.example.com/1", member=1, per_hour=1, now=4599.0)
    # An hour after the first ask (to the second), the member may ask again.
    await file(store, "https://b.example.com/1", member=1, per_hour=1, now=4600.0)
    assert len(await store.open_requests(GUILD)) == 2


async def test_a_claim_closes_requests_and_names_only_opted_in_askers(store: Store) -> None:
    await file(store, URL, member=1)
    await file(store, COPY, member=2)
    await file(store, URL, member=3, guild=OTHER)
    await store.set_notify(GUILD, 2, True)
    await store.set_notify(OTHER, 1, True)  # opted in elsewhere: not here
    claim_id = await add_claim(store, GUILD, (URL,))
    (closed,) = await store.close_covered_requests([claim_id])
    assert closed.request.guild_id == GUILD and closed.request.claim_id == claim_id
    assert closed.notify == (2,)
    assert await store.open_requests(GUILD) == []
    assert len(await store.open_requests(OTHER)) == 1  # a server's claim answers only there
    await add_claim(store, None, (URL,))  # while the bot was offline: no claim ids known
    (elsewhere,) = await store.close_covered_requests(None)
    assert elsewhere.request.guild_id == OTHER and elsewhere.notify == ()
    assert await store.close_covered_requests(None) == []


async def test_a_member_who_turns_notifications_off_is_named_no_more(store: Store) -> None:
    # /notify off in one server: no DM for answers there, still one where it stays on.
    await file(store, URL, member=2)
    await file(store, URL, member=2, guild=OTHER)
    await store.set_notify(GUILD, 2, True)
    await store.set_notify(OTHER, 2, True)
    await store.set_notify(GUILD, 2, False)
    await store.set_notify(GUILD, 2, False)  # already off: nothing to do
    (closed,) = await store.close_covered_requests([await add_claim(store, GUILD, (URL,))])
    assert closed.notify == ()
    (closed,) = await store.close_covered_requests([await add_claim(store, OTHER, (URL,))])
    assert (closed.request.guild_id, closed.notify) == (OTHER, (2,))


async def test_a_moderator_closes_a_request_from_the_queue(store: Store) -> None:
    (request,) = await file(store, "a text to check", member=1)
    await store.set_notify(GUILD, 1, True)
    other_claim = await add_claim(store, OTHER)
    with pytest.raises(NotFound):
        await store.close_request(request.id, guild_id=GUILD, claim_id=other_claim)
    with pytest.raises(NotFound):
        await store.close_request(request.id, guild_id=OTHER)
    closed = await store.close_request(request.id, guild_id=GUILD, now=1000.0)
    assert closed.notify == (1,) and closed.request.state == "closed"
    assert await store.forget_closed_requests(before=1000.0) == 0
    assert await store.forget_closed_requests(before=1001.0) == 1


# --- votes -----------------------------------------------------------------------------------


async def replied(store: Store, message_id: int, claim_ids: tuple[int, ...], guild=GUILD) -> None:
    await store.record_replies(
        [
            ReplyRecord(
                guild_id=guild,
                channel_id=5,
                message_id=message_id,
                reply_id=message_id + 1,
                style="full",
                links=(ShownLink(URL, tuple((c, "false", "url") for c in claim_ids)),),
                posted_at=time.time(),
            )
        ]
    )


async def test_replies_to_a_message_are_found_in_their_own_scope_only(store: Store) -> None:
    # The "Details" button finds the bot's reply to a message: in its server, or outside any.
    claim_id = await add_claim(store, None)
    await replied(store, 1000, (claim_id,), guild=None)
    await replied(store, 2000, (claim_id,))
    assert [r.reply_id for r in await store.replies_to_message(1000, guild_id=None)] == [1001]
    assert await store.replies_to_message(1000, guild_id=GUILD) == []
    assert [r.reply_id for r in await store.replies_to_message(2000, guild_id=GUILD)] == [2001]
    assert await store.replies_to_message(2000, guild_id=OTHER) == []
    assert await store.replies_to_message(2000, guild_id=None) == []


async def test_votes_are_one_per_member_and_changeable(store: Store) -> None:
    claim_id = await add_claim(store, None)
    await replied(store, 1000, (claim_id,))
    assert (await store.record_vote(GUILD, 1000, 7, True, flag_min_members=3)).changed
    assert not (await store.record_vote(GUILD, 1000, 7, True, flag_min_members=3)).changed
    tally = await store.vote_tally(claim_id, guild_id=GUILD)
    assert (tally.helpful, tally.not_helpful) == (1, 0)
    await store.record_vote(GUILD, 1000, 7, False, flag_min_members=3)
    tally = await store.vote_tally(claim_id, guild_id=GUILD)
    assert (tally.helpful, tally.not_helpful) == (0, 1)
    assert (await store.vote_tally(claim_id, guild_id=OTHER)).total == 0
    for bad in (0, -1):  # a caller's bad server id is refused, never read as "every server"
        with pytest.raises(InvalidInput, match=f"^not a server id: {bad}$"):
            await store.vote_tally(claim_id, guild_id=bad)
    # Another server's member cannot vote on this reply; the member is told why.
    with pytest.raises(NotFound, match=r"^This reply is too old to vote on\.$"):
        await store.record_vote(OTHER, 1000, 8, True, flag_min_members=3)


async def test_notify_refuses_a_bad_server_id(store: Store) -> None:
    for bad in (0, -1):  # never read as "every server"
        with pytest.raises(InvalidInput, match=f"^not a server id: {bad}$"):
            await store.set_notify(bad, 7, True)


async def test_the_flag_fires_once_at_the_threshold(store: Store) -> None:
    claim_id = await add_claim(store, None)
    for message_id in (1000, 2000):
        await replied(store, message_id, (claim_id,))
    await store.record_vote(GUILD, 1000, 1, True, flag_min_members=3)
    flags = []
    for member in (2, 3, 4):
        outcome = await store.record_vote(GUILD, 1000, member, False, flag_min_members=3)
        flags.append(outcome.flagged)
    assert flags == [(), (), (claim_id,)]  # 3 members, 3 of 4 votes
    more = await store.record_vote(GUILD, 2000, 5, False, flag_min_members=3)
    assert more.flagged == ()  # once
    entries = [e for e in await store.changes_since(0) if e.action == "flag"]
    assert len(entries) == 1 and entries[0].guild_id == GUILD
    # The moderators' record of why: the votes at the moment the flag fired.
    assert entries[0].after == {"helpful": 1, "not_helpful": 3, "not_helpful_members": 3}


async def test_no_flag_while_not_helpful_is_half_or_less(store: Store) -> None:
    claim_id = await add_claim(store, None)
    await replied(store, 1000, (claim_id,))
    for member in (1, 2, 3):
        await store.record_vote(GUILD, 1000, member, True, flag_min_members=3)
    for member in (4, 5, 6):
        outcome = await store.record_vote(GUILD, 1000, member, False, flag_min_members=3)
        assert outcome.flagged == ()


# --- retention ---------------------------------------------------------------------------------


def rows_of(db: Path, guild: int) -> dict[str, int]:
    """Rows naming ``guild`` in every table with a guild_id column."""
    counts = {}
    with sqlite3.connect(db) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            columns = [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]
            if "guild_id" in columns:
                (counts[table],) = conn.execute(
                    f"SELECT count(*) FROM {table} WHERE guild_id = ?", (guild,)
                ).fetchone()
    conn.close()
    return counts


async def fill(store: Store, guild: int) -> int:
    claim_id = await add_claim(store, guild, (f"https://{guild}.example.com/a",))
    await store.set_source_note(f"{guild}.example.net", "tabloid", "", actor="t", guild_id=guild)
    await store.set_setting(guild, "reply_style", "compact", actor="t")
    await replied(store, guild * 100, (claim_id,), guild=guild)
    now = time.time()
    await store.remember_links([SeenLink(guild, 5, guild * 100, URL, now, now + 3600)])
    await file(store, URL, member=1, guild=guild)
    await store.set_notify(guild, 1, True)
    await store.record_vote(guild, guild * 100, 1, False, flag_min_members=1)
    await store.schedule_forget(guild, grace_s=3600)
    return claim_id


async def test_forgetting_a_server_reports_what_went_per_kind(store: Store) -> None:
    # The operator's report (and its audit row) counts what a moderator knows as kinds: not
    # the search index entries or the pending departure that go with them.
    await fill(store, GUILD)
    deleted = await store.forget_guild(GUILD, actor="cli:test")
    kinds = "claims source_notes settings reply_records seen_links requests notify_opt_ins votes"
    assert sorted(deleted) == sorted([*kinds.split(), "vote_claims", "flags", "audit_rows"])
    last = (await store.changes_since(0))[-1]
    assert (last.action, last.guild_id, last.after) == (
        "forget",
        None,
        {"guild_id": GUILD, "deleted": deleted},
    )


async def test_forget_removes_every_row_of_a_server_and_none_of_another(
    sqlite_store: Store, db: Path
) -> None:
    store = sqlite_store
    mine = await fill(store, GUILD)
    await fill(store, OTHER)
    glob = await add_claim(store, None, (URL,))
    before_other = rows_of(db, OTHER)
    present = rows_of(db, GUILD)
    assert present.pop("guild_erasures") == 0  # only inside forget's transaction
    assert all(present.values())  # every kind is there to delete
    deleted = await store.forget_guild(GUILD, actor="cli:test")
    assert deleted["claims"] == 1 and deleted["votes"] == 1 and deleted["reply_records"] == 1
    assert not any(rows_of(db, GUILD).values())
    assert rows_of(db, OTHER) == before_other
    conn = sqlite3.connect(db)  # rows without a guild_id column went with their parents
    for table in ("request_askers", "reply_claims", "claim_urls"):
        (left,) = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
        assert left == (2 if table == "claim_urls" else 1), table  # OTHER's (and the global)
    conn.close()
    assert (await store.get_claim(glob, guild_id=None)).id == glob  # global claims stay
    with sqlite3.connect(db) as conn:  # nor is its text left in the search index
        assert (
            conn.execute("SELECT count(*) FROM claim_search WHERE rowid = ?", (mine,)).fetchone()[0]
            == 0
        )
    conn.close()
    (audit,) = [e for e in await store.changes_since(0) if e.action == "forget"]
    assert audit.guild_id is None and audit.after == {"guild_id": GUILD, "deleted": deleted}
    conn = sqlite3.connect(db)
    with pytest.raises(sqlite3.IntegrityError):  # the audit log is append-only otherwise
        conn.execute("DELETE FROM audit_log WHERE guild_id = ?", (OTHER,))
    conn.close()


async def test_leaving_schedules_deletion_and_coming_back_cancels_it(store: Store) -> None:
    at = await store.schedule_forget(GUILD, grace_s=3600, now=1000.0)
    assert at == 4600.0 and await store.due_forgets(now=4599.0) == []
    assert await store.due_forgets(now=4600.0) == [GUILD]
    assert await store.cancel_forget(GUILD)
    assert await store.due_forgets(now=9999.0) == []
    for bad in (0, -1):  # a caller's bad server id is refused, never read as "every server"
        with pytest.raises(InvalidInput, match=f"^not a server id: {bad}$"):
            await store.cancel_forget(bad)


async def test_closing_a_request_names_what_was_not_found(store: Store) -> None:
    # The moderator is told which number was wrong: the request's, or the claim's.
    (request,) = await file(store, "a text to check", member=1)
    missing = request.id + 1
    with pytest.raises(NotFound, match=rf"^no open request #{missing}$"):
        await store.close_request(missing, guild_id=GUILD)
    with pytest.raises(NotFound, match=r"^no claim #999999$"):
        await store.close_request(request.id, guild_id=GUILD, claim_id=999999)
    for bad in (0, -1):  # never read as "outside any server"
        with pytest.raises(InvalidInput, match=f"^not a server id: {bad}$"):
            await store.close_request(request.id, guild_id=bad)
    assert [r.id for r in await store.open_requests(GUILD)] == [request.id]


async def test_the_queue_is_read_a_page_at_a_time(store: Store) -> None:
    for member, text in enumerate(("first text to check", "second one", "third one"), start=1):
        await file(store, text, member=member, now=1000.0 + member)
    queue = [r.id for r in await store.open_requests(GUILD)]
    assert len(queue) == 3
    assert [r.id for r in await store.open_requests(GUILD, limit=2)] == queue[:2]
    assert [r.id for r in await store.open_requests(GUILD, limit=2, offset=2)] == queue[2:]
    for bad in (0, -1):  # never another server's queue, nor every server's
        with pytest.raises(InvalidInput, match=f"^not a server id: {bad}$"):
            await store.open_requests(bad)


async def test_a_bad_server_id_schedules_and_forgets_nothing(store: Store) -> None:
    glob = await add_claim(store, None, (URL,))
    for bad in (0, -1):  # 0 would be read as "outside any server": the global records
        with pytest.raises(InvalidInput, match=f"^not a server id: {bad}$"):
            await store.schedule_forget(bad, grace_s=60)
        with pytest.raises(InvalidInput, match=f"^not a server id: {bad}$"):
            await store.forget_guild(bad, actor="cli:test")
    assert await store.scheduled_forgets() == {}
    assert (await store.get_claim(glob, guild_id=None)).id == glob
    assert [e.action for e in await store.changes_since(0)] == ["create"]


async def test_a_vote_with_a_bad_server_id_is_refused(store: Store) -> None:
    claim_id = await add_claim(store, None)
    await replied(store, 1000, (claim_id,))
    for bad in (0, -1):
        with pytest.raises(InvalidInput, match=f"^not a server id: {bad}$"):
            await store.record_vote(bad, 1000, 7, False, flag_min_members=1)
    assert (await store.vote_tally(claim_id, guild_id=None)).total == 0


async def test_a_repeated_vote_changes_nothing_and_names_its_claims(store: Store) -> None:
    claim_id = await add_claim(store, None)
    await replied(store, 1000, (claim_id,))
    await store.record_vote(GUILD, 1000, 7, False, flag_min_members=3)
    again = await store.record_vote(GUILD, 1000, 7, False, flag_min_members=3)
    assert again == VoteOutcome(changed=False, claim_ids=(claim_id,))


async def test_the_operators_tally_sums_every_server(store: Store) -> None:
    claim_id = await add_claim(store, None)
    await replied(store, 1000, (claim_id,))
    await replied(store, 2000, (claim_id,), guild=OTHER)
    await store.record_vote(GUILD, 1000, 1, True, flag_min_members=3)
    await store.record_vote(GUILD, 1000, 2, False, flag_min_members=3)
    await store.record_vote(OTHER, 2000, 2, False, flag_min_members=3)
    tally = await store.vote_tally(claim_id, guild_id=None)
    # Member 2 of each server is two members: ids are only unique within a server's votes here.
    assert (tally.helpful, tally.not_helpful, tally.not_helpful_members) == (1, 2, 2)


async def test_each_claim_a_reply_showed_is_flagged_on_its_own_votes(store: Store) -> None:
    # A vote on a reply that showed several claims weighs each claim: one not past the
    # threshold (too few members, or not more than half) does not keep the next from a flag.
    few, split, judged, disputed = [await add_claim(store, None) for _ in range(4)]
    await replied(store, 1000, (few, judged))
    await replied(store, 2000, (judged,))
    await store.record_vote(GUILD, 2000, 1, False, flag_min_members=2)
    outcome = await store.record_vote(GUILD, 1000, 2, False, flag_min_members=2)
    assert outcome.flagged == (judged,)  # few: one member's vote

    await replied(store, 3000, (split, disputed))
    await replied(store, 4000, (split,))
    await replied(store, 5000, (disputed,))
    for member in (3, 4):
        await store.record_vote(GUILD, 4000, member, True, flag_min_members=2)
    await store.record_vote(GUILD, 4000, 5, False, flag_min_members=2)
    await store.record_vote(GUILD, 5000, 7, False, flag_min_members=2)
    outcome = await store.record_vote(GUILD, 3000, 6, False, flag_min_members=2)
    assert outcome.flagged == (disputed,)  # split: 2 of its 4 votes not helpful


async def test_a_helpful_vote_never_flags_a_claim(store: Store) -> None:
    # After the operator lowers the flag threshold, a member saying "helpful" does not flag the
    # claim those before said was not: only a "not helpful" vote can.
    claim_id = await add_claim(store, None)
    await replied(store, 1000, (claim_id,))
    for member in (1, 2):
        await store.record_vote(GUILD, 1000, member, False, flag_min_members=3)
    outcome = await store.record_vote(GUILD, 1000, 3, True, flag_min_members=2)
    assert outcome.changed and outcome.flagged == ()
    assert [e.action for e in await store.changes_since(0)] == ["create"]


async def test_a_reply_outside_any_server_shows_only_global_claims_again(store: Store) -> None:
    # A correction re-reads the claims a reply showed, in the reply's own scope: outside any
    # server, a server's own claim (never shown there) is not read back.
    glob = await add_claim(store, None)
    mine = await add_claim(store, GUILD)
    assert [c.id for c in await store.claims_by_id([glob, mine], guild_id=None)] == [glob]
    assert [c.id for c in await store.claims_by_id([glob, mine], guild_id=GUILD)] == [glob, mine]
    assert [c.id for c in await store.claims_by_id([glob, mine], guild_id=OTHER)] == [glob]


# --- the CLI twins -------------------------------------------------------------------------------


async def _filled_for_cli(db: Path) -> int:
    async with await SQLiteStore.open(db) as store:
        await file(store, URL, member=1)
        await file(store, COPY, member=2)
        claim_id = await add_claim(store, None)
        await replied(store, 1000, (claim_id,))
        await store.record_vote(GUILD, 1000, 1, False, flag_min_members=3)
        await store.record_vote(GUILD, 1000, 2, True, flag_min_members=3)
    return claim_id


def test_cli_requests_list_claims_show_and_forget(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    claim_id = asyncio.run(_filled_for_cli(db))

    assert main(["requests", "list", "--guild", str(GUILD), "--db", str(db), "--json"]) == 0
    (item,) = json.loads(capsys.readouterr().out)
    assert item["count"] == 2 and item["url"] == URL and item["key"]
    assert main(["requests", "list", "--guild", str(GUILD), "--db", str(db)]) == 0
    assert capsys.readouterr().out.startswith(f"#{item['request_id']}\t2\turl\t")

    show = ["claims", "show", str(claim_id), "--db", str(db)]
    assert main([*show, "--guild", str(GUILD), "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["votes"]["helpful"] == 1 and shown["votes"]["not_helpful"] == 1
    assert main([*show, "--guild", str(OTHER)]) == 0
    assert "0 helpful, 0 not helpful" in capsys.readouterr().out

    assert main(["forget", "--guild", str(GUILD), "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert "requests\t1" in out and "votes\t2" in out
    assert main(["requests", "list", "--guild", str(GUILD), "--db", str(db), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []


async def test_a_global_claims_history_shows_a_server_its_own_flags_and_not_anothers(
    store: Store,
) -> None:
    from bot.store import NewClaim, ReplyRecord, ShownLink

    claim = await store.add_claim(
        NewClaim(claim="The moon is cheese", verdict="false", urls=("https://example.com/a",)),
        actor="cli:op",
        guild_id=None,
    )
    shown = (ShownLink("https://example.com/a", ((claim.id, "false", "url"),)),)
    await store.record_replies(
        [ReplyRecord(1111, 6, 7, 8, "full", links=shown, posted_at=time.time())]
    )
    for member in (101, 102):
        outcome = await store.record_vote(1111, 7, member, False, flag_min_members=2)
    assert outcome.flagged
    flagging = await store.claim_history(claim.id, guild_id=1111)
    other = await store.claim_history(claim.id, guild_id=2222)
    assert [e.action for e in flagging][-1] == "flag"
    assert [e.action for e in other] == [e.action for e in flagging][:-1]
    assert all(e.guild_id in (None, 2222) for e in other)


async def test_a_process_takes_only_its_own_shards_requests_for_the_mod_log(store: Store) -> None:
    on_shard_0, on_shard_1 = 4 << 22, 5 << 22  # (guild_id >> 22) % 2: 0 and 1
    await file(store, "https://unknown.example.net/story/a", 1, guild=on_shard_0)
    await file(store, "https://unknown.example.net/story/b", 2, guild=on_shard_1)
    taken = await store.take_unlogged_requests(shards=([1], 2))
    assert [r.guild_id for r in taken] == [on_shard_1]
    assert [r.guild_id for r in await store.take_unlogged_requests()] == [on_shard_0]


# --- what members, moderators and operators would notice going wrong --------------------------


async def test_a_bad_server_id_files_no_request(store: Store) -> None:
    for bad in (0, -1):  # never read as "outside any server", nor as another server's queue
        with pytest.raises(InvalidInput, match=f"^not a server id: {bad}$"):
            await file(store, URL, member=1, guild=bad)
    assert await store.take_unlogged_requests() == []


async def test_a_request_a_claim_answers_is_closed_at_the_time_given(store: Store) -> None:
    # Closed requests are kept for a while after they close, then forgotten: from when they closed.
    await file(store, URL, member=1, now=500.0)
    claim_id = await add_claim(store, GUILD, (URL,))
    (closed,) = await store.close_covered_requests([claim_id], now=1000.0)
    assert (closed.request.state, closed.request.closed_at) == ("closed", 1000.0)
    assert await store.forget_closed_requests(before=1000.0) == 0
    assert await store.forget_closed_requests(before=1001.0) == 1


async def test_a_process_on_two_shards_takes_the_requests_of_both(store: Store) -> None:
    guilds = {shard: (8 + shard) << 22 for shard in range(4)}  # (guild_id >> 22) % 4 == shard
    for shard, guild in guilds.items():
        await file(store, f"https://unknown.example.net/story/{shard}", shard + 1, guild=guild)
    taken = await store.take_unlogged_requests(shards=([0, 2], 4))
    assert sorted(r.guild_id for r in taken) == [guilds[0], guilds[2]]
    rest = await store.take_unlogged_requests()
    assert sorted(r.guild_id for r in rest) == [guilds[1], guilds[3]]


async def test_a_reply_voted_on_still_takes_votes_after_its_record_is_forgotten(
    store: Store,
) -> None:
    # The claims a reply showed are kept with its first vote: later votes still count for them
    # once the reply record itself has gone (past the corrections horizon).
    claim_id = await add_claim(store, None)
    await replied(store, 1000, (claim_id,))
    await store.record_vote(GUILD, 1000, 1, True, flag_min_members=3)
    assert await store.forget_replies(before=time.time() + 60) == 1
    outcome = await store.record_vote(GUILD, 1000, 2, False, flag_min_members=3)
    assert outcome.changed and outcome.claim_ids == (claim_id,)
    tally = await store.vote_tally(claim_id, guild_id=GUILD)
    assert (tally.helpful, tally.not_helpful) == (1, 1)


async def test_forgetting_a_server_is_logged_for_the_operator(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    await fill(store, GUILD)
    with caplog.at_level(logging.INFO, logger="bot.store"):
        deleted = await store.forget_guild(GUILD, actor="cli:test")
    assert f"forgot guild {GUILD}: {deleted}" in caplog.messages


async def _write_setting_rows(target: str, rows: list[tuple[int, int, str, str]]) -> None:
    """Settings rows written behind factbot's back (by hand, or by a newer factbot)."""
    sql = (
        "INSERT INTO guild_settings (guild_id, channel_id, key, value, updated_by, updated_at) "
        "VALUES ({}, 'hand', 'now')"
    )
    if is_postgres_url(target):
        conn = await asyncpg.connect(target)
        try:
            await conn.executemany(sql.format("$1, $2, $3, $4"), rows)
        finally:
            await conn.close()
        return
    with sqlite3.connect(target) as db:
        db.executemany(sql.format("?, ?, ?, ?"), rows)
    db.close()


async def test_stored_settings_factbot_cannot_use_are_skipped_with_a_warning(
    store: Store, store_target: str, caplog: pytest.LogCaptureFixture
) -> None:
    await store.set_setting(GUILD, "reply_style", "compact", actor="t")
    await _write_setting_rows(
        store_target,
        [
            (GUILD, 0, "backfill_hours", "999"),  # out of range
            (GUILD, 5, "watch", "[7]"),  # a server-wide setting on one channel
            (GUILD, 6, "reply_style", '"off"'),  # a channel's own reply style: fine
        ],
    )
    with caplog.at_level(logging.WARNING, logger="bot.store"):
        rows = await store.setting_rows(GUILD)
    assert [(r.channel_id, r.key, r.value) for r in rows] == [
        (0, "reply_style", "compact"),
        (6, "reply_style", "off"),
    ]
    assert [r.getMessage() for r in caplog.records if r.name.startswith("bot.store")] == [
        f"ignoring stored setting backfill_hours of guild {GUILD}",
        f"ignoring stored setting watch of guild {GUILD}",
    ]


async def test_a_servers_cleared_source_note_shows_in_its_own_history(store: Store) -> None:
    await store.set_source_note("tabloid.example", "tabloid", "", actor="mod", guild_id=GUILD)
    start = await store.latest_change_id()
    await store.clear_source_note("tabloid.example", actor="mod", guild_id=GUILD)
    (entry,) = await store.changes_since(start)
    assert (entry.action, entry.guild_id, entry.domain, entry.actor) == (
        "source-clear",
        GUILD,
        "tabloid.example",
        "mod",
    )
    assert entry.before is not None and entry.before["rating"] == "tabloid"
    assert entry.after is None


async def test_each_sighting_is_found_once_however_many_links_are_looked_up(
    store: Store,
) -> None:
    # Backfill answers each earlier message once: a sighting found twice would be answered twice.
    now = time.time()
    keys = [f"news.example.com/story/{n}" for n in range(600)]
    await store.remember_links(
        [SeenLink(GUILD, 5, 1000 + n, key, now, now + 3600) for n, key in enumerate(keys)]
    )
    found = await store.seen_with_keys(keys, guild_id=GUILD, now=now)
    assert [s.message_id for s in found] == list(range(1000, 1600))
    two = await store.seen_with_keys(keys[:2], guild_id=None, now=now)
    assert [s.message_id for s in two] == [1000, 1001]


async def test_the_links_of_many_new_claims_are_each_listed_once(store: Store) -> None:
    # What backfill looks for after an import: each claim's link once, however many claims.
    urls = [f"https://news.example.com/story/{n}" for n in range(501)]
    records = [
        validate_new_claim(NewClaim(f"Claim number {n}", "false", urls=(url,)))
        for n, url in enumerate(urls)
    ]
    imported = await store.import_claims(records, actor="t", guild_id=GUILD)
    found = await store.url_keys_of_claims(imported.claim_ids)
    assert sorted(found) == sorted((GUILD, links.canonical_url(url)) for url in urls)


async def test_a_request_closed_without_a_time_given_is_closed_now_and_forgotten_later(
    store: Store,
) -> None:
    # The queue's "close" button gives no time: the request is closed as of now, so the
    # retention sweep forgets it in due course instead of keeping it for ever.
    (request,) = await file(store, "a text to check", member=1)
    before = time.time()
    closed = await store.close_request(request.id, guild_id=GUILD)
    assert closed.request.closed_at is not None and closed.request.closed_at >= before
    assert await store.forget_closed_requests(before=before - 60) == 0
    assert await store.forget_closed_requests(before=time.time() + 60) == 1


async def test_closing_a_request_names_what_is_missing(store: Store) -> None:
    # A moderator is shown these words when two of them close one request, or when the claim
    # they chose is gone or belongs to another server.
    (request,) = await file(store, "a text to check", member=1)
    other_claim = await add_claim(store, OTHER)
    with pytest.raises(NotFound, match=rf"^no claim #{other_claim}$"):
        await store.close_request(request.id, guild_id=GUILD, claim_id=other_claim)
    await store.close_request(request.id, guild_id=GUILD)
    with pytest.raises(NotFound, match=rf"^no open request #{request.id}$"):
        await store.close_request(request.id, guild_id=GUILD)


@pytest.mark.parametrize("bad", [0, -1, True])
async def test_a_bad_server_id_neither_lists_nor_closes_a_servers_requests(
    store: Store, bad: int
) -> None:
    # True would read as server 1: its queue must not be listed or closed through a typo.
    (request,) = await file(store, "a text to check", member=1, guild=1)
    with pytest.raises(InvalidInput, match=f"^not a server id: {bad}$"):
        await store.open_requests(bad)
    with pytest.raises(InvalidInput, match=f"^not a server id: {bad}$"):
        await store.close_request(request.id, guild_id=bad)
    assert [r.id for r in await store.open_requests(1)] == [request.id]


@pytest.mark.parametrize("bad", [0, -1, True])
async def test_forgetting_a_bad_server_id_is_refused_and_deletes_nothing(
    store: Store, bad: int
) -> None:
    # 0 is how unique indexes spell "global": forgetting it would erase the global notes.
    await store.set_source_note("tabloid.example", "tabloid", "", actor="t", guild_id=None)
    await fill(store, 1)
    with pytest.raises(InvalidInput, match=f"^not a server id: {bad}$"):
        await store.forget_guild(bad, actor="cli:test")
    (note,) = await store.list_source_notes(guild_id=None)
    assert note.rating == "tabloid"
    assert len(await store.open_requests(1)) == 1


async def test_the_request_listing_stops_at_a_thousand_most_asked_first(store: Store) -> None:
    # `factbot requests list` prints at most 1,000 requests: the most asked ones.
    await file(store, "the most asked text", member=2)
    items = [RequestItem("text", f"text {n}", None) for n in range(1000)]
    await store.file_requests(GUILD, items, member_id=1, channel_id=5, message_id=10, per_hour=10)
    await file(store, "the most asked text", member=3)
    listed = await store.open_requests(GUILD)
    assert len(listed) == 1000
    assert (listed[0].key, listed[0].count) == ("the most asked text", 2)
    assert await store.count_open_requests(GUILD) == 1001


async def test_a_claim_closes_a_request_whose_number_is_not_the_claims(store: Store) -> None:
    # Requests and claims are numbered apart: the request the new claim covers is the one
    # closed and named, with that claim, however their numbers differ.
    for n in range(3):
        await add_claim(store, GUILD, (f"https://other.example.com/{n}",))
    await file(store, URL, member=1)
    (request,) = await store.open_requests(GUILD)
    claim_id = await add_claim(store, GUILD, (URL,))
    assert claim_id != request.id
    (closed,) = await store.close_covered_requests([claim_id])
    assert (closed.request.id, closed.request.claim_id) == (request.id, claim_id)
    assert await store.open_requests(GUILD) == []


async def test_one_members_not_helpful_votes_on_two_replies_are_two_votes_of_one_member(
    store: Store,
) -> None:
    # The flag needs enough members, not just enough votes: one member's two votes count once.
    claim_id = await add_claim(store, None)
    for message_id in (1000, 2000):
        await replied(store, message_id, (claim_id,))
        await store.record_vote(GUILD, message_id, 7, False, flag_min_members=3)
    tally = await store.vote_tally(claim_id, guild_id=GUILD)
    assert (tally.helpful, tally.not_helpful, tally.not_helpful_members) == (0, 2, 1)


async def test_sightings_count_until_their_window_ends_and_the_tidy_up_forgets_them(
    store: Store,
) -> None:
    # Backfill answers the messages whose links it saw inside their window, as of the time it
    # asks about; the tidy-up deletes the sightings whose window has passed, and says how many.
    now = time.time()
    await store.remember_links(
        [
            SeenLink(GUILD, 5, 1000, "news.example.com/a", now, now + 3600),
            SeenLink(GUILD, 5, 1001, "news.example.com/b", now, now + 10_000),
        ]
    )
    keys = ["news.example.com/a", "news.example.com/b"]
    later = await store.seen_with_keys(keys, guild_id=GUILD, now=now + 7200)
    assert [s.message_id for s in later] == [1001]
    assert await store.forget_links(now=now + 7200) == 1
    assert await store.forget_links(now=now + 7200) == 0
    found = await store.seen_with_keys(keys, guild_id=GUILD, now=now)
    assert [s.message_id for s in found] == [1001]
