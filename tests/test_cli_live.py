"""The issue-10 CLI twins: ``claims edit|retire|link`` and ``settings show|set``, exactly as
named; bad input exits 2 with one line and changes nothing."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from bot.cli import main
from bot.services import open_store


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def db(store_target: str) -> str:
    """The CLI's store, on each engine (an SQLite file, a PostgreSQL schema)."""
    return store_target


def audit_rows(db: str) -> int:
    async def count() -> int:
        store = await open_store(db)
        try:
            return await store.audit_count()
        finally:
            await store.close()

    return asyncio.run(count())


def add(capsys: pytest.CaptureFixture[str], db: str, *extra: str) -> int:
    code, out, _ = run(
        capsys,
        "claims",
        "add",
        "--db",
        db,
        "--claim",
        "Moon is cheese",
        "--verdict",
        "false",
        *extra,
    )
    assert code == 0
    return int(out)


def test_a_claims_claimant_is_added_shown_changed_and_cleared(
    capsys: pytest.CaptureFixture[str], db: str
) -> None:
    claim_id = add(capsys, db, "--claimant", "  Jane   Doe ")
    code, out, _ = run(capsys, "claims", "show", str(claim_id), "--db", db)
    assert code == 0 and out.splitlines()[1:3] == ["Moon is cheese", "claimant: Jane Doe"]
    edit = ("claims", "edit", str(claim_id), "--db", db, "--claimant")
    assert run(capsys, *edit, "John Roe") == (0, f"{claim_id}\n", "")
    code, out, _ = run(capsys, "claims", "show", str(claim_id), "--json", "--db", db)
    assert json.loads(out)["claimant"] == "John Roe"
    code, _, err = run(capsys, *edit, "x" * 201)
    assert (code, err) == (2, "factbot: error: claimant is longer than 200 characters\n")
    assert run(capsys, *edit, "") == (0, f"{claim_id}\n", "")
    code, out, _ = run(capsys, "claims", "show", str(claim_id), "--json", "--db", db)
    assert json.loads(out)["claimant"] is None
    assert run(capsys, *edit, "Jane") == (0, f"{claim_id}\n", "")
    assert run(capsys, *edit, "-") == (0, f"{claim_id}\n", "")  # "-": nobody known, as in Discord
    code, out, _ = run(capsys, "claims", "show", str(claim_id), "--json", "--db", db)
    assert json.loads(out)["claimant"] is None
    code, _, err = run(capsys, *edit, "Jane\x1bDoe")
    assert (code, err) == (
        2,
        "factbot: error: claimant holds a control character or a lone surrogate\n",
    )
    assert audit_rows(db) == 5  # added, changed, cleared, set, cleared: refused edits wrote nothing


def test_claims_edit_retire_link(capsys: pytest.CaptureFixture[str], db: str) -> None:
    claim_id = add(capsys, db, "--guild", "5")
    assert run(
        capsys,
        "claims",
        "edit",
        str(claim_id),
        "--verdict",
        "Mostly False",
        "--note",
        "Rock.",
        "--claim",
        "The moon is cheese",
        "--guild",
        "5",
        "--db",
        db,
    ) == (0, f"{claim_id}\n", "")
    code, _, _ = run(
        capsys,
        "claims",
        "link",
        str(claim_id),
        "https://news.example.com/a?utm_source=x",
        "--guild",
        "5",
        "--db",
        db,
    )
    assert code == 0
    assert run(capsys, "claims", "retire", str(claim_id), "--guild", "5", "--db", db)[0] == 0
    code, out, _ = run(capsys, "claims", "list", "--guild", "5", "--json", "--db", db)
    assert json.loads(out) == []  # retired
    assert audit_rows(db) == 4


NO_SERVER_CHANGES_IT = "no server's scope changes it (drop --guild)"


def test_a_claim_retired_by_mistake_is_restored(
    capsys: pytest.CaptureFixture[str], db: str
) -> None:
    # Retiring is "kept, with its history": the operator can take it back.
    claim_id = add(capsys, db, "--url", "https://news.example.com/moon")
    check = ("check", "--no-fetch", "--json", "https://news.example.com/moon", "--db", db)
    assert run(capsys, "claims", "retire", str(claim_id), "--db", db)[0] == 0
    assert json.loads(run(capsys, *check)[1])["links"][0]["matches"] == []
    assert run(capsys, "claims", "restore", str(claim_id), "--db", db) == (0, f"{claim_id}\n", "")
    (match,) = json.loads(run(capsys, *check)[1])["links"][0]["matches"]
    assert match["claim_id"] == claim_id
    _, out, _ = run(capsys, "claims", "show", str(claim_id), "--db", db)
    assert out.splitlines()[0].endswith("\tactive")
    # The retired ones are listed apart, in the listing's own form, to find what to restore.
    other = add(capsys, db)
    assert run(capsys, "claims", "retire", str(other), "--db", db)[0] == 0
    _, out, _ = run(capsys, "claims", "list", "--retired", "--db", db)
    assert out == f"#{other}\tfalse\tglobal\tMoon is cheese\n"
    _, out, _ = run(capsys, "claims", "list", "--retired", "--json", "--db", db)
    assert [c["claim_id"] for c in json.loads(out)] == [other]
    _, out, _ = run(capsys, "claims", "list", "--db", db)
    assert out == f"#{claim_id}\tfalse\tglobal\tMoon is cheese\n"
    # Restoring an active claim changes nothing; another server's is not found.
    before = audit_rows(db)
    assert run(capsys, "claims", "restore", str(claim_id), "--db", db)[0] == 0
    assert audit_rows(db) == before == 5
    code, _, err = run(capsys, "claims", "restore", str(claim_id), "--guild", "5", "--db", db)
    assert code == 2
    assert err == f"factbot: error: claim #{claim_id} is global: {NO_SERVER_CHANGES_IT}\n"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("claims", "edit", "1", "--verdict", "flase"), "unknown verdict 'flase'"),
        (("claims", "edit", "1"), "nothing to change"),
        (("claims", "edit", "x", "--note", "n"), "not a claim id: 'x'"),
        (("claims", "edit", "1_0", "--note", "n"), "not a claim id: '1_0'"),  # not claim #10
        # `claims list --guild 9` lists global claim #1: "not found" would contradict it.
        (("claims", "edit", "1", "--note", "n", "--guild", "9"), "claim #1 is global"),
        (("claims", "retire", "1", "--guild", "9"), "claim #1 is global"),
        (("claims", "link", "1", "https://x.example.com/a", "--guild", "9"), "claim #1 is global"),
        (("claims", "edit", "2", "--note", "n", "--guild", "9"), "claim #2 not found"),
        (("claims", "retire", "99"), "claim #99 not found"),
        (("claims", "link", "1", "not a url"), "bad URL 'not a url'"),
        (("claims", "link", "1", "https://x.example.com", "--guild", "0"), "not a server id"),
        (("settings", "set", "--guild", "1", "colour", "red"), "unknown setting 'colour'"),
        (("settings", "set", "--guild", "1", "ignore", "11,x"), "not a channel id: 'x'"),
        (("settings", "set", "--guild", "1", "reply_threshold", "2"), "from 0 to 1"),
        (("settings", "set", "--guild", "1", "--channel", "3", "watch", "all"), "per channel"),
        (("settings", "set", "--guild", "1", "--channel", "c", "reply_style", "off"), "channel"),
        (("settings", "set", "ignore", "11"), "--guild"),
        (("settings", "show", "--guild", "x"), "not a server id"),
    ],
)
def test_bad_input_is_one_line_and_changes_nothing(
    capsys: pytest.CaptureFixture[str], db: str, argv: tuple[str, ...], message: str
) -> None:
    add(capsys, db)
    before = audit_rows(db)
    code, out, err = run(capsys, *argv, "--db", db)
    assert code == 2 and out == ""
    assert message in err and err.count("\n") == 1
    assert audit_rows(db) == before


def test_settings_set_and_show(capsys: pytest.CaptureFixture[str], db: str) -> None:
    assert run(capsys, "settings", "set", "--guild", "1", "ignore", "11,12", "--db", db)[0] == 0
    assert (
        run(capsys, "settings", "set", "--guild", "1", "reply_style", "compact", "--db", db)[0] == 0
    )
    assert (
        run(
            capsys,
            "settings",
            "set",
            "--guild",
            "1",
            "--channel",
            "11",
            "reply_threshold",
            "0.5",
            "--db",
            db,
        )[0]
        == 0
    )
    _, out, _ = run(capsys, "settings", "show", "--guild", "1", "--json", "--db", db)
    data = json.loads(out)
    assert (data["watch"], data["ignore"], data["reply_style"]) == ("all", [11, 12], "compact")
    assert data["backfill_hours"] == 24.0 and data["mod_log"] is None
    assert data["channels"] == {"11": {"reply_threshold": 0.5}}
    _, out, _ = run(
        capsys, "settings", "show", "--guild", "1", "--channel", "11", "--json", "--db", db
    )
    assert json.loads(out) == {
        "channel_id": 11,
        "watched": False,
        "reply_style": "compact",
        "reply_threshold": 0.5,
        "overridden": ["reply_threshold"],
    }
    _, out, _ = run(capsys, "settings", "show", "--guild", "1", "--db", db)
    assert "ignore\t11, 12 (set)" in out.splitlines()
    # Another server's settings are its own.
    _, out, _ = run(capsys, "settings", "show", "--guild", "2", "--json", "--db", db)
    assert json.loads(out)["overridden"] == []
    assert run(capsys, "settings", "set", "--guild", "1", "ignore", "none", "--db", db)[0] == 0
    _, out, _ = run(capsys, "settings", "show", "--guild", "1", "--json", "--db", db)
    assert json.loads(out)["ignore"] == []


def test_settings_show_needs_a_store(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(capsys, "settings", "show", "--guild", "1", "--db", str(tmp_path / "no.db"))
    assert code == 2 and "no store at" in err
    assert not (tmp_path / "no.db").exists()


def test_an_imported_claims_date_is_shown(
    capsys: pytest.CaptureFixture[str], db: str, tmp_path: Path
) -> None:
    feed = tmp_path / "feed.json"
    review = {
        "@type": "ClaimReview",
        "@id": "dated-1",
        "claimReviewed": "Moon is cheese",
        "reviewRating": {"alternateName": "False"},
        "itemReviewed": {"@type": "Claim", "datePublished": "2016-06-20T09:00:00Z"},
    }
    feed.write_text(json.dumps(review), encoding="utf-8")
    assert run(capsys, "import", str(feed), "--db", db)[0] == 0
    code, out, _ = run(capsys, "claims", "show", "1", "--db", db)
    assert code == 0 and out.splitlines()[1:3] == ["Moon is cheese", "claimed on: 2016-06-20"]
    code, out, _ = run(capsys, "claims", "show", "1", "--json", "--db", db)
    assert json.loads(out)["claim_date"] == "2016-06-20"
    add(capsys, db)  # a moderator's claim says no date
    code, out, _ = run(capsys, "claims", "show", "2", "--db", db)
    assert "claimed on" not in out
