"""The CLI's contract on bad input, for every subcommand: exit 2, exactly one line on stderr,
nothing on stdout, nothing written, no store created, another application's file untouched."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.cli import main

REPO = Path(__file__).resolve().parents[1]

# Every subcommand that takes --guild, in a form that would otherwise succeed.
SCOPED = {
    "check": ["check", "--no-fetch", "https://example.com/a"],
    "claims add": ["claims", "add", "--claim", "A claim", "--verdict", "false"],
    "claims list": ["claims", "list"],
    "sources set": ["sources", "set", "example.com", "--rating", "tabloid"],
    "sources clear": ["sources", "clear", "example.com"],
    "sources list": ["sources", "list"],
    "import": ["import", "{feed}"],
    "export": ["export"],
    "claims edit": ["claims", "edit", "1", "--note", "Edited"],
    "claims retire": ["claims", "retire", "1"],
    "claims restore": ["claims", "restore", "1"],
    "claims link": ["claims", "link", "1", "https://example.com/b"],
    # --guild is required here; a second, bad --guild wins (argparse keeps the last).
    "settings show": ["settings", "show", "--guild", "1"],
    "settings set": ["settings", "set", "--guild", "1", "ignore", "11,12"],
    "claims show": ["claims", "show", "1"],
    "requests list": ["requests", "list", "--guild", "1"],
    "forget": ["forget", "--guild", "1"],
}
CLAIMS_ADD = ["claims", "add", "--verdict", "false"]
READ_ONLY = [
    "check",
    "claims list",
    "sources clear",
    "sources list",
    "export",
    # Changes to a claim need its store: they never create one either.
    "claims edit",
    "claims retire",
    "claims restore",
    "claims link",
    "settings show",
    "claims show",
    "requests list",
    # Deleting a server's rows needs its store: forget never creates one.
    "forget",
]

BAD_GUILDS = [
    "9223372036854775808",  # one past SQLite's INTEGER: OverflowError deep in the store
    "99999999999999999999999",
    "1_000",
    " 5 ",
    "\u0665",  # Arabic-Indic five: int() reads it
    "０",  # fullwidth zero
    "0",  # global in the store's unique indexes
    "-1",
    "5.0",
    "",
]


@dataclass(frozen=True)
class Case:
    name: str
    argv: list[str]
    db: str = "{new}"  # which --db the command gets (None: none given)


def _plain(text: str) -> str:
    return repr(text) if text.isascii() else "U+" + "+".join(f"{ord(c):04X}" for c in text)


CASES: list[Case] = [
    *(
        # On a real store, where the command would otherwise succeed.
        # Ids in plain ASCII: one that pytest escapes is not found when mutmut selects it.
        Case(f"{name} --guild {_plain(guild)}", [*argv, "--guild", guild], db="{store}")
        for name, argv in SCOPED.items()
        for guild in BAD_GUILDS
    ),
    # Invalid UTF-8 in arguments (Python passes the bytes on as lone surrogates).
    Case("claim not UTF-8", ["claims", "add", "--claim", "bad \udcff", "--verdict", "false"]),
    Case("note not UTF-8", [*SCOPED["claims add"], "--note", "\udce9t\udce9"]),
    Case("rating not UTF-8", ["sources", "set", "example.com", "--rating", "\udcff"]),
    Case("url not UTF-8", [*SCOPED["claims add"], "--url", "https://example.com/\udcff"]),
    # Moderator typos and hostile values.
    Case("claim of zero-width spaces", [*CLAIMS_ADD, "--claim", "\u200b\u200b\u200b"]),
    Case("claim of bidi marks", [*CLAIMS_ADD, "--claim", "\u202e\u2066 \u200f"]),
    Case("source port 99999", [*SCOPED["claims add"], "--source", "https://example.com:99999/"]),
    Case(
        "source with credentials",
        [*SCOPED["claims add"], "--source", "https://trusted.example@evil.example.net/"],
    ),
    Case("url with credentials", [*SCOPED["claims add"], "--url", "https://u:p@example.com/a"]),
    Case("domain with credentials", ["sources", "set", "evil.com@good.com", "--rating", "x"]),
    # Arguments argparse echoes back raw.
    Case("unrecognized argument with escapes", ["claims", "list", "x\n\u001b[2Jy"]),
    # --db that cannot be a store.
    *(Case(f"{name} --db ''", argv, db="") for name, argv in SCOPED.items()),
    *(Case(f"{name} --db <folder>", argv, db="{folder}") for name, argv in SCOPED.items()),
    # A device is not a store (SQLite would put its journal beside it, in /dev).
    Case("claims add --db /dev/null", SCOPED["claims add"], db=os.devnull),
    # A database URL that does not parse (bad IPv6 host, port out of range).
    Case("claims list --db postgresql://[::1", ["claims", "list"], db="postgresql://[::1"),
    Case(
        "claims add --db postgresql://u@h:99999/x",
        SCOPED["claims add"],
        db="postgresql://u@h:99999/x",
    ),
    # Another application's SQLite file: no command may add tables or switch it to WAL.
    *(Case(f"{name} on another app's db", argv, db="{other}") for name, argv in SCOPED.items()),
    # Read commands never create a store.
    *(Case(f"{name} without a store", SCOPED[name]) for name in READ_ONLY),
    # export onto the store it reads.
    Case("export -o <the store>", ["export", "-o", "{store}"], db="{store}"),
    # Issue 11's commands: a bad claim id, a missing server, an unknown claim.
    Case("claims show 0", ["claims", "show", "0"], db="{store}"),
    Case("claims show not a number", ["claims", "show", "x1"], db="{store}"),
    Case("claims show unknown", ["claims", "show", "999999"], db="{store}"),
    Case("requests list without --guild", ["requests", "list"], db="{store}"),
    # Claim ids are ASCII digits, as server ids: int() also reads " 1", "+1", "1_0" (claim 10)
    # and other scripts' digits, and the command then acted on a claim nobody typed.
    *(
        Case(f"{name} id {_plain(bad)}", [*argv[:2], bad, *argv[3:]], db="{store}")
        for name, argv in SCOPED.items()
        if name in ("claims edit", "claims retire", "claims restore", "claims link", "claims show")
        for bad in (" 1", "1 ", "+1", "1_0", "\u0661", "\uff11", "1.0", "")
    ),
    *(
        Case(
            f"requests list {flag} {_plain(value)}",
            [*SCOPED["requests list"], flag, value],
            db="{store}",
        )
        for flag, values in (
            ("--limit", ["0", "-1", "1_000", " 5", "\u0665", "", "9223372036854775808"]),
            ("--offset", ["-1", "1_000", "\u0665", "", "9223372036854775808"]),
        )
        for value in values
    ),
    Case("forget without --guild", ["forget"], db="{store}"),
]


def fingerprint(path: Path) -> dict[str, str]:
    """Every file beside and including ``path`` (its -wal/-shm too), by content hash."""
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(path.parent.iterdir())
        if p.is_file()
    }


@pytest.fixture
def places(tmp_path: Path) -> dict[str, str]:
    new_dir = tmp_path / "new"
    new_dir.mkdir()
    folder = tmp_path / "folder"
    folder.mkdir()
    other_dir = tmp_path / "other"
    other_dir.mkdir()
    other = other_dir / "app.sqlite"
    with sqlite3.connect(other) as db:
        db.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
        db.execute("INSERT INTO notes (body) VALUES ('not factbot')")
    db.close()
    feed = tmp_path / "feed.json"
    feed.write_text(
        json.dumps(
            [
                {
                    "@type": "ClaimReview",
                    "claimReviewed": "Imported",
                    "reviewRating": {"alternateName": "False"},
                }
            ]
        )
    )
    store_dir = tmp_path / "store"
    store_dir.mkdir()
    store = store_dir / "factbot.db"
    assert main(["claims", "add", "--db", str(store), "--claim", "Kept", "--verdict", "true"]) == 0
    return {
        "new": str(new_dir / "factbot.db"),
        "folder": str(folder),
        "other": str(other),
        "feed": str(feed),
        "store": str(store),
    }


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input_is_one_line_exit_2_and_writes_nothing(
    case: Case,
    places: dict[str, str],
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)  # `--db ""` once meant ./factbot.db
    capfd.readouterr()
    argv = [a.format(**places) if "{" in a else a for a in case.argv]
    db = case.db.format(**places)
    before = {
        name: fingerprint(Path(places[name])) for name in ("other", "store") if name in places
    }

    code = main([*argv, "--db", db])

    out, err = capfd.readouterr()
    assert code == 2, (out, err)
    assert out == ""
    assert err.startswith("factbot") and err.endswith("\n") and err.count("\n") == 1, err
    assert "\u001b" not in err
    assert list(Path(places["new"]).parent.iterdir()) == []  # no store created
    assert list(Path(places["folder"]).iterdir()) == []
    assert list(cwd.iterdir()) == []
    assert not Path(f"{os.devnull}-journal").exists()
    for name, files in before.items():
        assert fingerprint(Path(places[name])) == files, f"{name} changed"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        # `-o "$OUT"` with OUT unset once wrote the export to stdout and exited 0.
        (["export", "-o", ""], "-o: empty path"),
        (["import", ""], "FILE: empty path"),
        (["import", "  "], "FILE: empty path"),
        (["claims", "list", "--config", ""], "--config: empty path"),
        (["eval", "--claims", "", "--queries", "q.jsonl"], "--claims: empty path"),
    ],
)
def test_an_empty_path_is_named_as_such(
    argv: list[str],
    message: str,
    places: dict[str, str],
    capfd: pytest.CaptureFixture[str],
) -> None:
    capfd.readouterr()
    before = fingerprint(Path(places["store"]))
    code = main([*argv, "--db", places["store"]] if argv[0] != "eval" else argv)
    out, err = capfd.readouterr()
    assert (code, out, err) == (2, "", f"factbot: error: {message}\n")
    assert fingerprint(Path(places["store"])) == before


@pytest.mark.parametrize(
    ("argv", "hint"),
    [
        # Only `check` has --demo: elsewhere the hint led to "unrecognized arguments: --demo".
        (
            ["check", "--no-fetch", "x", "--db", "{new}"],
            "import claims first, or use --db PATH or --demo",
        ),
        (["claims", "list", "--db", "{new}"], "import claims first, or use --db PATH"),
        (
            ["requests", "list", "--guild", "1", "--db", "{new}"],
            "import claims first, or use --db PATH",
        ),
        # migrate-store has no --db either: --from is the store it reads.
        (
            ["migrate-store", "--from", "{new}", "--to", "{other}.copy"],
            "--from must name an existing store",
        ),
    ],
)
def test_a_missing_store_hints_only_at_flags_the_command_has(
    argv: list[str], hint: str, places: dict[str, str], capfd: pytest.CaptureFixture[str]
) -> None:
    capfd.readouterr()
    argv = [a.format(**places) for a in argv]
    code = main(argv)
    out, err = capfd.readouterr()
    assert (code, out, err) == (2, "", f"factbot: error: no store at {places['new']} ({hint})\n")


def test_config_with_an_empty_store_path_is_one_line(
    tmp_path: Path, capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "factbot.toml"
    config.write_text('[store]\npath = ""\n')
    monkeypatch.chdir(tmp_path)
    code = main(["claims", "add", "--config", str(config), "--claim", "x", "--verdict", "false"])
    _, err = capfd.readouterr()
    assert code == 2
    assert err == "factbot: error: config: [store] path: must be a file path, not empty\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["factbot.toml"]


def run_process(*argv: bytes | str, stdout: int | None = subprocess.PIPE) -> tuple[int, str]:
    done = subprocess.run(
        [sys.executable, "-m", "bot", *argv],
        cwd=REPO,
        stdout=stdout,
        stderr=subprocess.PIPE,
        timeout=60,
        check=False,
    )
    return done.returncode, done.stderr.decode("utf-8", "replace")


def test_invalid_utf8_bytes_in_a_real_command_line(tmp_path: Path) -> None:
    db = tmp_path / "x.db"
    code, err = run_process(
        "claims", "add", "--db", str(db), "--claim", b"\xff\xfe", "--verdict", "false"
    )
    assert (code, err) == (2, "factbot: error: argument 6 is not valid UTF-8 text\n")
    assert not db.exists()


def test_db_folder_prints_no_thread_traceback(tmp_path: Path) -> None:
    code, err = run_process("claims", "list", "--db", str(tmp_path))
    assert code == 2
    assert err == f"factbot: error: --db {tmp_path}: is a folder, not a file\n"


def test_export_to_a_full_stdout_is_one_line(places: dict[str, str]) -> None:
    with open("/dev/full", "wb") as full:
        code, err = run_process("export", "--db", places["store"], stdout=full.fileno())
    assert (code, err) == (2, "factbot: error: cannot write output: No space left on device\n")


@pytest.mark.parametrize("db", ["", "{folder}", os.devnull])
def test_run_refuses_a_bad_store_path_before_connecting(
    db: str,
    places: dict[str, str],
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DISCORD_TOKEN", "not-a-real-token")
    monkeypatch.chdir(places["folder"])
    capfd.readouterr()
    code = main(["run", "--db", db.format(**places)])
    out, err = capfd.readouterr()
    assert (code, out) == (2, "")
    assert err.startswith("factbot: error: ") and err.count("\n") == 1
    assert list(Path(places["folder"]).iterdir()) == []


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        (["--shard-ids", "0,1"], "--shard-ids needs --shard-count"),
        (["--shard-ids", "0,4", "--shard-count", "4"], "shard ids run from 0 to 3"),
        (["--shard-ids", "1,1", "--shard-count", "4"], "names a shard twice"),
        (["--shard-ids", "0,,1", "--shard-count", "4"], "not a list of shard ids"),
        (["--shard-ids", "-1", "--shard-count", "4"], "--shard-ids"),
        (["--shard-ids", "\u0661", "--shard-count", "4"], "not a list of shard ids"),
        (["--shard-count", "0"], "not a shard count"),
        (["--shard-count", "four"], "not a shard count"),
        (["--shard-count", "99999999"], "not a shard count"),
    ],
)
def test_run_refuses_bad_shard_flags_before_connecting(
    flags: list[str],
    expected: str,
    places: dict[str, str],
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DISCORD_TOKEN", "not-a-real-token")
    capfd.readouterr()
    code = main(["run", "--db", places["new"], *flags])
    out, err = capfd.readouterr()
    assert (code, out) == (2, "")
    assert err.startswith("factbot") and err.count("\n") == 1, err
    assert expected in err
    assert not Path(places["new"]).exists()


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--from", "{store}", "--to", "{store}"], "the same store"),
        (["--from", "{store}", "--to", ""], "--to: empty path"),
        (["--from", "{store}", "--to", "{folder}"], "is a folder"),
        (["--from", "{new}", "--to", "{new}x"], "no store at"),
        (["--from", "{other}", "--to", "{new}"], ""),
        (["--from", "{store}"], "--to"),
    ],
)
def test_migrate_store_bad_arguments_are_one_line_and_change_nothing(
    argv: list[str],
    expected: str,
    places: dict[str, str],
    capfd: pytest.CaptureFixture[str],
) -> None:
    before = {name: fingerprint(Path(places[name])) for name in ("other", "store")}
    capfd.readouterr()
    code = main(["migrate-store", *(a.format(**places) for a in argv)])
    out, err = capfd.readouterr()
    assert (code, out) == (2, "")
    assert err.startswith("factbot") and err.count("\n") == 1, err
    assert expected in err
    assert list(Path(places["new"]).parent.iterdir()) == []
    assert list(Path(places["folder"]).iterdir()) == []
    for name, files in before.items():
        assert fingerprint(Path(places[name])) == files


@pytest.mark.parametrize("url", ["postgresql://[::1", "postgresql://u@h:99999/x"])
def test_a_database_url_that_does_not_parse_says_so(
    url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["claims", "list", "--db", url]) == 2
    assert capsys.readouterr().err.startswith("factbot: error: not a valid database URL: ")
