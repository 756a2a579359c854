from __future__ import annotations

import asyncio
import gc
import json
import os
import re
import socket
import sqlite3
import stat
import threading
from pathlib import Path

import asyncpg
import pytest

from bot.cli import main
from bot.services import open_store
from bot.store import RequestItem, is_postgres_url
from tests.postgres_server import PostgresCluster

ARTICLE = "https://www.example.com/news/moon-hoax?utm_source=twitter&fbclid=abc"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def db(store_target: str) -> str:
    """Where the CLI's store goes (``--db``): an SQLite file, then a PostgreSQL URL."""
    return store_target


@pytest.fixture
def sqlite_db(tmp_path: Path) -> str:
    return str(tmp_path / "cli.db")


def store_made(db: str) -> bool:
    """Whether anything was written where the store goes (a file; tables in the schema)."""
    if not is_postgres_url(db):
        return Path(db).exists()

    async def tables() -> int:
        conn = await asyncpg.connect(db)
        try:
            return int(
                await conn.fetchval(
                    "SELECT count(*) FROM information_schema.tables "
                    "WHERE table_schema = current_schema()"
                )
            )
        finally:
            await conn.close()

    return asyncio.run(tables()) > 0


def add_moon_claim(capsys: pytest.CaptureFixture[str], db: str, *extra: str) -> int:
    code, out, err = run(
        capsys,
        "claims",
        "add",
        "--db",
        db,
        "--claim",
        "The moon landing was staged",
        "--verdict",
        "false",
        "--note",
        "Hundreds of kilos of moon rock say otherwise.",
        "--url",
        "http://example.com/news/moon-hoax/",
        "--source",
        "https://factcheck.example.org/moon",
        "--json",
        *extra,
    )
    assert (code, err) == (0, "")
    return int(json.loads(out)["claim_id"])


def test_claims_add_prints_the_new_id(capsys: pytest.CaptureFixture[str], db: str) -> None:
    assert add_moon_claim(capsys, db) == 1
    code, out, _ = run(capsys, "claims", "add", "--db", db, "--claim", "x", "--verdict", "true")
    assert (code, out) == (0, "2\n")


def test_check_json_follows_the_contract(capsys: pytest.CaptureFixture[str], db: str) -> None:
    claim_id = add_moon_claim(capsys, db)
    code, out, _ = run(capsys, "check", "--db", db, "--no-fetch", "--json", f"look {ARTICLE} !")
    assert code == 0
    data = json.loads(out)
    assert set(data) == {"links", "reply"}
    (link,) = data["links"]
    assert link["url"] == ARTICLE
    assert link["canonical_url"] == "https://example.com/news/moon-hoax"
    for key in ("final_url", "fetch_error", "title", "source"):
        assert link[key] is None
    (match,) = link["matches"]
    assert match == {
        "quote": None,
        "claim_id": claim_id,
        "claim": "The moon landing was staged",
        "claimant": None,
        "verdict": "false",
        "note": "Hundreds of kilos of moon rock say otherwise.",
        "match": "url",
        "score": 1.0,
        "sources": [
            {"url": "https://factcheck.example.org/moon", "title": None, "kind": "alternative"}
        ],
    }
    assert "The moon landing was staged" in data["reply"]


def test_check_says_who_made_the_claim(capsys: pytest.CaptureFixture[str], db: str) -> None:
    add_moon_claim(capsys, db, "--claimant", "Bart Sibrel")
    code, out, _ = run(capsys, "check", "--db", db, "--no-fetch", ARTICLE)
    assert code == 0
    assert out.startswith("❌ False\n**Claim (Bart Sibrel):** The moon landing was staged\n")
    code, out, _ = run(capsys, "check", "--db", db, "--no-fetch", "--json", ARTICLE)
    assert json.loads(out)["links"][0]["matches"][0]["claimant"] == "Bart Sibrel"


def test_check_prints_the_reply_and_is_silent_when_unknown(
    capsys: pytest.CaptureFixture[str], db: str
) -> None:
    add_moon_claim(capsys, db)
    code, out, _ = run(capsys, "check", "--db", db, "--no-fetch", ARTICLE)
    assert code == 0
    # The bot's own embed, as text: verdict, claim, note, sources, why.
    assert out.startswith("❌ False\n**Claim:** The moon landing was staged\n")
    assert "(Matched: this article)" in out
    code, out, err = run(capsys, "check", "--db", db, "--no-fetch", "https://unknown.example.org/x")
    assert (code, out) == (0, "")
    assert "no reply" in err
    code, out, _ = run(capsys, "check", "--db", db, "--no-fetch", "--json", "no links here")
    assert json.loads(out) == {"links": [], "reply": None}
    # Without a link there is nothing to know about: stderr says that, not "these links".
    code, out, err = run(capsys, "check", "--db", db, "--no-fetch", "no links here")
    assert (code, out, err) == (0, "", "(no reply: no links in this text)\n")


def test_guild_scoping_from_the_cli(capsys: pytest.CaptureFixture[str], db: str) -> None:
    add_moon_claim(capsys, db, "--guild", "42")
    _, out, _ = run(capsys, "check", "--db", db, "--no-fetch", "--json", "--guild", "42", ARTICLE)
    assert json.loads(out)["links"][0]["matches"]
    _, out, _ = run(capsys, "check", "--db", db, "--no-fetch", "--json", "--guild", "7", ARTICLE)
    assert json.loads(out)["links"][0]["matches"] == []


def test_sources_set_applies_to_the_outlet(capsys: pytest.CaptureFixture[str], db: str) -> None:
    code, out, _ = run(
        capsys,
        "sources",
        "set",
        "https://www.Tabloid.example.net/",
        "--db",
        db,
        "--rating",
        "unreliable",
        "--note",
        "Often wrong.",
    )
    assert (code, out) == (0, "tabloid.example.net\n")
    _, out, _ = run(
        capsys, "check", "--db", db, "--no-fetch", "--json", "https://m.tabloid.example.net/x"
    )
    link = json.loads(out)["links"][0]
    assert link["source"] == {
        "domain": "tabloid.example.net",
        "rating": "unreliable",
        "note": "Often wrong.",
    }
    assert link["matches"] == []


@pytest.mark.parametrize("host", ["example-blog.test", "wiki.corp.internal", "news.brandnew-zz"])
def test_sources_set_takes_any_host_name(
    capsys: pytest.CaptureFixture[str], db: str, host: str
) -> None:
    """The PSL's default rule: test, intranet and unlisted TLDs are hosts like any other."""
    code, out, err = run(capsys, "sources", "set", host, "--db", db, "--rating", "unreliable")
    assert (code, out, err) == (0, f"{host}\n", "")
    _, out, _ = run(capsys, "check", "--db", db, "--no-fetch", "--json", f"https://{host}/a/b")
    assert json.loads(out)["links"][0]["source"]["domain"] == host
    _, out, _ = run(capsys, "check", "--db", db, "--no-fetch", "--json", "https://other.test/a")
    assert json.loads(out)["links"][0]["source"] is None


def test_check_json_gives_the_outlets_note_in_full(
    capsys: pytest.CaptureFixture[str], db: str
) -> None:
    argv = ["sources", "set", "example.com", "--db", db, "--rating", "satire", "--note", "Jokes."]
    assert run(capsys, *argv)[0] == 0
    code, out, _ = run(capsys, "check", "--db", db, "--no-fetch", "--json", ARTICLE)
    assert code == 0
    (link,) = json.loads(out)["links"]
    assert link["source"] == {"domain": "example.com", "rating": "satire", "note": "Jokes."}
    assert (link["matches"], link["candidates"]) == ([], [])


def test_sources_list_json_as_every_other_listing(
    capsys: pytest.CaptureFixture[str], db: str
) -> None:
    argv = ["sources", "set", "example.com", "--db", db, "--rating", "satire", "--note", "Jokes."]
    assert run(capsys, *argv)[0] == 0
    assert run(capsys, *argv[:-4], "--guild", "5", "--rating", "fine")[0] == 0
    code, out, err = run(capsys, "sources", "list", "--guild", "5", "--json", "--db", db)
    assert (code, err) == (0, "")
    assert json.loads(out) == [
        {"domain": "example.com", "guild_id": None, "rating": "satire", "note": "Jokes."},
        {"domain": "example.com", "guild_id": 5, "rating": "fine", "note": ""},
    ]


def test_sources_clear_in_a_server_names_a_global_note_as_global(
    capsys: pytest.CaptureFixture[str], db: str
) -> None:
    # `sources list --guild 5` lists the global note: "no note on example.com" contradicted it.
    assert run(capsys, "sources", "set", "example.com", "--db", db, "--rating", "satire")[0] == 0
    _, listed, _ = run(capsys, "sources", "list", "--guild", "5", "--db", db)
    assert listed == "example.com\tsatire\tglobal\t\n"
    code, out, err = run(capsys, "sources", "clear", "example.com", "--guild", "5", "--db", db)
    assert (code, out) == (2, "")
    assert err == (
        "factbot: error: the note on example.com is global: "
        "no server's scope clears it (drop --guild)\n"
    )
    assert run(capsys, "sources", "list", "--guild", "5", "--db", db)[1] == listed
    code, _, err = run(capsys, "sources", "clear", "other.example", "--guild", "5", "--db", db)
    assert (code, err) == (2, "factbot: error: no note on other.example\n")
    # A server's own note beside the global one is the server's to clear.
    argv = ["sources", "set", "example.com", "--guild", "5", "--db", db, "--rating", "fine"]
    assert run(capsys, *argv)[0] == 0
    assert run(capsys, "sources", "clear", "example.com", "--guild", "5", "--db", db)[0] == 0
    assert run(capsys, "sources", "list", "--guild", "5", "--db", db)[1] == listed


@pytest.mark.parametrize(
    "argv",
    [
        ["claims", "add", "--claim", "x", "--verdict", "fasle"],
        ["claims", "add", "--claim", "x", "--verdict", "false", "--url", "not a url"],
        ["claims", "add", "--claim", "", "--verdict", "false"],
        ["claims", "add", "--claim", "x", "--verdict", "false", "--guild", "abc"],
        ["sources", "set", "not a domain", "--rating", "x"],
        ["check", "--config", "/nonexistent.toml", "x"],
        ["import", "/nonexistent.json"],
        ["frobnicate"],
    ],
)
def test_bad_input_exits_2_with_one_line_and_writes_nothing(
    capsys: pytest.CaptureFixture[str], db: str, argv: list[str]
) -> None:
    code, out, err = (
        run(capsys, *argv, "--db", db) if argv[0] != "frobnicate" else run(capsys, *argv)
    )
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("factbot")
    if store_made(db):
        _, listed, _ = run(capsys, "claims", "list", "--db", db)
        assert listed == ""


def test_check_against_a_missing_store_is_an_error(
    capsys: pytest.CaptureFixture[str], db: str
) -> None:
    code, _, err = run(capsys, "check", "--db", db, "https://example.com/")
    assert code == 2
    assert "no store" in err
    assert not store_made(db)


def test_import_export_round_trip(
    capsys: pytest.CaptureFixture[str], db: str, tmp_path: Path
) -> None:
    feed = tmp_path / "feed.json"
    feed.write_text(
        json.dumps(
            [
                {
                    "@type": "ClaimReview",
                    "claimReviewed": "Claim one",
                    "url": "https://fc.example.org/1",
                    "author": {"name": "FC"},
                    "reviewRating": {"alternateName": "Mostly False"},
                    "itemReviewed": {"appearance": [{"url": "https://a.example.com/1"}]},
                },
                {"@type": "ClaimReview"},
                {
                    "@type": "ClaimReview",
                    "claimReviewed": "Claim two",
                    "reviewRating": {"alternateName": "True"},
                },
            ]
        )
    )
    code, out, err = run(capsys, "import", str(feed), "--db", db)
    assert code == 0
    assert out == "imported 2 records: 2 created, 0 updated, 0 unchanged, 1 skipped\n"
    assert "record 2: missing claimReviewed" in err
    code, out, _ = run(capsys, "import", str(feed), "--db", db)
    assert out == "imported 2 records: 0 created, 0 updated, 2 unchanged, 1 skipped\n"
    assert gc.isenabled()

    exported = tmp_path / "out.json"
    assert run(capsys, "export", "--db", db, "-o", str(exported))[0] == 0
    code, out, _ = run(capsys, "import", str(exported), "--db", db)
    assert out == "imported 2 records: 0 created, 0 updated, 2 unchanged, 0 skipped\n"
    code, stdout_export, _ = run(capsys, "export", "--db", db)
    assert json.loads(stdout_export) == json.loads(exported.read_text())


def test_broken_import_file_changes_nothing(
    capsys: pytest.CaptureFixture[str], db: str, tmp_path: Path
) -> None:
    add_moon_claim(capsys, db)
    bad = tmp_path / "bad.json"
    bad.write_text('[{"@type": "ClaimReview", "claimReviewed": "x"')
    code, _out, err = run(capsys, "import", str(bad), "--db", db)
    assert code == 2
    assert "not valid JSON" in err
    _, listed, _ = run(capsys, "claims", "list", "--db", db)
    assert listed.count("\n") == 1
    # An import pauses Python's cycle collector; a program that runs factbot's commands in its
    # own process (a script, the benchmarks) gets it back, failed import or not.
    assert gc.isenabled()


def test_demo_check_shows_a_real_reply(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys,
        "check",
        "--demo",
        "Read https://www.news.example.com/2016/12/aleppo-battle-resumes-evacuation-shia-villagers/?utm_source=x",
    )
    assert code == 0
    assert "Misleading" in out
    assert "DEMO RECORD" in out


def test_run_without_a_token_fails_fast(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DISCORD_TOKEN", raising=False)
    code, _, err = run(capsys, "run")
    assert code == 2
    assert "DISCORD_TOKEN" in err
    # The section it points to is one the README has.
    (section,) = re.findall(r"see README: '([^']+)'", err)
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    assert f"\n## {section}\n" in readme


def test_a_refused_write_leaves_no_database_behind(
    capsys: pytest.CaptureFixture[str], db: str
) -> None:
    assert run(capsys, "claims", "add", "--db", db, "--claim", " ", "--verdict", "false")[0] == 2
    assert run(capsys, "sources", "set", "example.com", "--db", db, "--rating", "")[0] == 2
    assert not store_made(db)


def test_export_to_an_unwritable_place_is_a_one_line_error(
    capsys: pytest.CaptureFixture[str], db: str, tmp_path: Path
) -> None:
    add_moon_claim(capsys, db)
    code, _, err = run(capsys, "export", "--db", db, "-o", str(tmp_path))
    assert code == 2
    assert err.startswith("factbot: error: cannot write") and err.count("\n") == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        p.name for p in tmp_path.iterdir() if not p.name.endswith(".tmp")
    )


def test_config_that_is_not_text_is_a_one_line_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_bytes(b"\xff\xfe[store]\n")
    code, _, err = run(capsys, "check", "--config", str(cfg), "https://example.com/")
    assert code == 2
    assert "not UTF-8" in err and err.count("\n") == 1


HOSTILE = (
    "\u001b[2J\u001b]0;pwned\u0007"  # clear the screen, retitle the terminal
    "\u001b]8;;https://evil.example\u001b\\click\u001b]8;;\u001b\\"  # an OSC-8 link
    "\u202egnp.exe\u009b31m"  # bidi override, C1 CSI
)


def test_stored_text_cannot_drive_the_operators_terminal(
    capsys: pytest.CaptureFixture[str], db: str
) -> None:
    claim = ["claims", "add", "--db", db, "--claim", f"A {HOSTILE}", "--verdict", "false"]
    assert run(capsys, *claim)[0] == 0
    note = ["sources", "set", "example.com", "--db", db, "--rating", "r\u001b[2J\u202e"]
    assert run(capsys, *note, "--note", f"n{HOSTILE}\nsecond line")[0] == 0
    for argv in (["claims", "list"], ["sources", "list"], ["claims", "list", "--json"], ["export"]):
        code, out, _ = run(capsys, *argv, "--db", db)
        assert code == 0
        for char in ("\u001b", "\u0007", "\u009b", "\u202e"):
            assert char not in out, (argv, char)
    _, listed, _ = run(capsys, "claims", "list", "--db", db)
    assert (
        listed
        == "#1\tfalse\tglobal\tA [2J]0;pwned]8;;https://evil.example\\click]8;;\\gnp.exe31m\n"
    )
    _, notes, _ = run(capsys, "sources", "list", "--db", db)
    assert notes.count("\n") == 1  # a note's newline does not start a row of its own
    # JSON keeps the exact text, escaped.
    _, as_json, _ = run(capsys, "claims", "list", "--json", "--db", db)
    assert json.loads(as_json)[0]["claim"] == f"A {HOSTILE}"


def test_export_writes_through_symlinks_and_fifos(
    capsys: pytest.CaptureFixture[str], db: str, tmp_path: Path
) -> None:
    add_moon_claim(capsys, db)
    real = tmp_path / "real.json"
    real.write_text("old")
    link = tmp_path / "link.json"
    link.symlink_to(real)
    assert run(capsys, "export", "--db", db, "-o", str(link))[0] == 0
    assert link.is_symlink()
    assert json.loads(real.read_text())

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()
    assert run(capsys, "export", "--db", db, "-o", str(fifo))[0] == 0
    reader.join(timeout=30)
    assert stat.S_ISFIFO(fifo.stat().st_mode)
    assert json.loads(received[0]) == json.loads(real.read_text())

    assert run(capsys, "export", "--db", db, "-o", os.devnull)[0] == 0
    assert stat.S_ISCHR(os.stat(os.devnull).st_mode)


def test_export_to_a_full_device_is_one_line(capsys: pytest.CaptureFixture[str], db: str) -> None:
    add_moon_claim(capsys, db)
    code, out, err = run(capsys, "export", "--db", db, "-o", "/dev/full")
    assert (code, out) == (2, "")
    assert err == "factbot: error: cannot write /dev/full: No space left on device\n"
    assert stat.S_ISCHR(os.stat("/dev/full").st_mode)


def test_export_refuses_the_store_itself_also_through_a_link(
    capsys: pytest.CaptureFixture[str], sqlite_db: str, tmp_path: Path
) -> None:
    db = sqlite_db
    add_moon_claim(capsys, db)
    alias = tmp_path / "alias.db"
    alias.symlink_to(db)
    code, _, err = run(capsys, "export", "--db", db, "-o", str(alias))
    assert code == 2 and "the store itself" in err
    _, listed, _ = run(capsys, "claims", "list", "--db", db)
    assert listed.startswith("#1\tfalse")


def test_read_commands_leave_another_apps_database_alone(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    other = tmp_path / "app.sqlite"
    con = sqlite3.connect(other)
    con.execute("CREATE TABLE t (x)")
    con.commit()
    con.close()
    before = other.read_bytes()
    for argv in (["claims", "list"], ["claims", "add", "--claim", "x", "--verdict", "true"]):
        code, _, err = run(capsys, *argv, "--db", str(other))
        assert code == 2 and err == f"factbot: error: {other} is not a factbot database\n"
    assert other.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["app.sqlite"]  # no -wal, no -shm


def test_an_unreachable_postgresql_store_is_one_line_without_its_password(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"postgresql://bot:cli-secret@127.0.0.1:{port}/factbot"
    for argv in (["claims", "list"], ["check", "https://example.com/"], ["claims", "add"]):
        extra = ["--claim", "x", "--verdict", "false"] if argv[-1] == "add" else []
        code, out, err = run(capsys, *argv, "--db", url, *extra)
        assert (code, out) == (2, "")
        assert err.startswith("factbot: error: cannot connect to") and err.count("\n") == 1
        assert "cli-secret" not in err


def test_eval_db_takes_only_a_postgresql_url(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    claims = tmp_path / "vclaims.jsonl"
    claims.write_text('{"vclaim_id": "a", "vclaim": "The moon is cheese."}\n', encoding="utf-8")
    queries = tmp_path / "dev.jsonl"
    queries.write_text(
        '{"query_id": "q", "text": "moon cheese", "gold_vclaim_ids": ["a"]}\n', encoding="utf-8"
    )
    argv = ["eval", "--claims", str(claims), "--queries", str(queries)]
    code, out, err = run(capsys, *argv, "--db", str(tmp_path / "x.db"))
    assert (code, out) == (2, "") and "postgresql:// URL" in err
    assert not (tmp_path / "x.db").exists()


def test_eval_on_postgresql_from_the_cli(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, postgres_cluster: PostgresCluster
) -> None:
    claims = tmp_path / "vclaims.jsonl"
    claims.write_text(
        '{"vclaim_id": "a", "vclaim": "The moon is made of cheese."}\n'
        '{"vclaim_id": "b", "vclaim": "Drinking bleach cures the flu."}\n',
        encoding="utf-8",
    )
    queries = tmp_path / "dev.jsonl"
    queries.write_text(
        '{"query_id": "q", "text": "is the moon cheese?", "gold_vclaim_ids": ["a"]}\n',
        encoding="utf-8",
    )
    code, out, err = run(
        capsys,
        *("eval", "--json", "--claims", str(claims), "--queries", str(queries)),
        *("--db", postgres_cluster.dsn()),
    )
    assert (code, err) == (0, "")
    assert json.loads(out)["map@5"] == 1.0


def test_check_on_a_damaged_store_is_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], sqlite_db: str
) -> None:
    add_moon_claim(capsys, sqlite_db)
    db = sqlite3.connect(sqlite_db)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    page_size = db.execute("PRAGMA page_size").fetchone()[0]
    (root,) = db.execute(
        "SELECT rootpage FROM sqlite_master WHERE name = 'claim_urls_key'"
    ).fetchone()
    db.close()
    with open(sqlite_db, "r+b") as file:  # the link index's page overwritten, as by a bad disk
        file.seek((root - 1) * page_size)
        file.write(b"\xff" * page_size)
    code, out, err = run(capsys, "check", "--db", sqlite_db, "--no-fetch", ARTICLE)
    assert (code, out) == (2, "")
    assert err.splitlines() == ["factbot: error: database error: database disk image is malformed"]


def _file_requests(db: str, count: int) -> None:
    """``count`` open requests in server 1 (asked once each, oldest first), and one asked twice
    (listed first)."""

    async def fill() -> None:
        store = await open_store(db)
        try:
            items = [RequestItem("text", f"asked {n:04d}") for n in range(count)]
            await store.file_requests(
                1, items, member_id=7, channel_id=5, message_id=10, per_hour=10
            )
            for member in (8, 9):
                await store.file_requests(
                    1,
                    [RequestItem("text", "asked by two")],
                    member_id=member,
                    channel_id=5,
                    message_id=11,
                    per_hour=10,
                )
        finally:
            await store.close()

    asyncio.run(fill())


def test_requests_list_says_how_many_it_left_out_and_pages_through_them(
    capsys: pytest.CaptureFixture[str], db: str
) -> None:
    # 1,001 open requests: the listing shows 1,000 and says on stderr that one more is open,
    # and how to see it; stdout keeps its form (one tab-separated line or one JSON item each).
    _file_requests(db, 1000)
    listing = ["requests", "list", "--guild", "1", "--db", db]
    note = "1 more open request not listed (1001 in all): --offset 1000 lists the next\n"
    code, out, err = run(capsys, *listing)
    assert (code, err) == (0, note)
    lines = out.splitlines()
    assert len(lines) == 1000
    assert lines[0].split("\t")[1:] == ["2", "text", "asked by two"]
    assert lines[-1].split("\t")[1:] == ["1", "text", "asked 0998"]
    code, out, err = run(capsys, *listing, "--json")
    assert (code, err) == (0, note)
    assert [r["key"] for r in json.loads(out)][-1] == "asked 0998"

    code, out, err = run(capsys, *listing, "--offset", "1000")
    assert (code, err) == (0, "")
    assert [line.split("\t")[3] for line in out.splitlines()] == ["asked 0999"]
    code, out, err = run(capsys, *listing, "--limit", "2", "--offset", "1", "--json")
    assert [r["key"] for r in json.loads(out)] == ["asked 0000", "asked 0001"]
    assert err == "998 more open requests not listed (1001 in all): --offset 3 lists the next\n"
    code, out, err = run(capsys, *listing, "--limit", "5000")
    assert (code, err, len(out.splitlines())) == (0, "", 1001)
    # Past the end: nothing on stdout, and stderr says why.
    code, out, err = run(capsys, *listing, "--offset", "2000", "--json")
    assert (code, json.loads(out)) == (0, [])
    assert err == "no open requests past the first 2000 (1001 in all)\n"
