"""ClaimReview imports as an operator runs them: all or nothing under kill -9, bad records
rejected by position while the rest go in, bad files refused in one line."""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot import claimreview
from bot.cli import main
from bot.services import INDEX_TERMS, open_store


def review(i: int, **extra: object) -> dict[str, object]:
    return {
        "@type": "ClaimReview",
        "@id": f"https://fc.example.org/review/{i}",
        "url": f"https://fc.example.org/review/{i}",
        "claimReviewed": f"Claim number {i} about the harbour tram and its missing millions",
        "reviewBody": "A note long enough to make the rows and the write-ahead log grow. " * 4,
        "reviewRating": {"alternateName": "False"},
        "itemReviewed": {
            "appearance": [
                {"url": f"https://news{i % 7}.example.com/2026/01/story-{i}?utm_source=x"},
                {"url": f"https://twitter.com/someone/status/{10**12 + i}"},
            ]
        },
        **extra,
    }


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


async def create_store(db: Path) -> None:
    await (await open_store(str(db))).close()


def claim_count(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        return int(conn.execute("SELECT count(*) FROM claims").fetchone()[0])


def test_kill_9_during_an_import_leaves_all_or_nothing(tmp_path: Path) -> None:
    records = 10_000
    feed = tmp_path / "feed.json"
    feed.write_text(json.dumps([review(i) for i in range(records)]), encoding="utf-8")
    db = tmp_path / "store.db"
    asyncio.run(create_store(db))  # the store exists, its log checkpointed
    wal = Path(f"{db}-wal")
    config = tmp_path / "lexical.toml"
    config.write_text('[matching]\nsemantic = "off"\n', encoding="utf-8")
    command = ["import", str(feed), "--db", str(db), "--config", str(config)]
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", *command],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        # Kill it once the import transaction is writing pages (the log grows past 1 MiB).
        deadline = time.monotonic() + 60
        while process.poll() is None and time.monotonic() < deadline:
            if wal.exists() and wal.stat().st_size > 1 << 20:
                os.kill(process.pid, signal.SIGKILL)
                break
            time.sleep(0.001)
    finally:
        process.kill()
        process.wait()
    assert process.returncode == -signal.SIGKILL, "the import ended before it could be killed"
    assert claim_count(db) in (0, records)
    # And the store still takes the import whole afterwards.
    assert main(command) == 0
    assert claim_count(db) == records


def test_a_lone_surrogate_rejects_that_record_only(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    feed = tmp_path / "feed.json"
    # Valid JSON: the escape decodes to a lone surrogate, which no UTF-8 text can hold.
    text = json.dumps([review(1), review(2), review(3)])
    feed.write_text(text.replace("Claim number 2", "Claim \\ud800 number 2"), encoding="utf-8")
    db = str(tmp_path / "store.db")
    code, out, err = run(capsys, "import", str(feed), "--db", db)
    assert code == 0
    assert out == "imported 2 records: 2 created, 0 updated, 0 unchanged, 1 skipped\n"
    assert err.splitlines() == [
        f"{feed}: record 2: text with a lone surrogate (not valid Unicode) (skipped)"
    ]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'[{"claimReviewed": "x", "n": ' + b"9" * 5000 + b"}]", "more than 100 digits"),
        (b'[{"claimReviewed": "x", "n": 1.' + b"5" * 5000 + b"}]", "more than 100 digits"),
        (b"\x00" * 100_000, "not valid JSON (line 1"),
        (b'[{"claimReviewed": "x"}] [1]', "extra data"),
        (b'{"dataFeedElement": [{"claimReviewed": "x"},', "not valid JSON"),
    ],
)
def test_a_broken_file_is_one_line_exit_2_and_no_store(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, content: bytes, message: str
) -> None:
    feed = tmp_path / "feed.json"
    feed.write_bytes(content)
    db = tmp_path / "store.db"
    code, out, err = run(capsys, "import", str(feed), "--db", str(db))
    assert (code, out) == (2, "")
    assert err.count("\n") == 1 and message in err
    assert not db.exists()


def test_a_byte_order_mark_is_skipped(tmp_path: Path) -> None:
    # Feeds saved by Windows tools often start with one; it is not part of the JSON.
    feed = tmp_path / "feed.json"
    feed.write_bytes(b"\xef\xbb\xbf" + json.dumps([review(1)]).encode())
    assert [r.external_id for r in claimreview.parse_file(str(feed)).records] == [
        "https://fc.example.org/review/1"
    ]


def test_a_file_over_the_size_cap_is_refused(tmp_path: Path) -> None:
    feed = tmp_path / "feed.json"
    feed.write_text(json.dumps([review(i) for i in range(50)]), encoding="utf-8")
    assert len(claimreview.parse_file(str(feed)).records) == 50
    with pytest.raises(claimreview.ImportFileError, match="larger than 0 MiB"):
        claimreview.parse_file(str(feed), max_bytes=feed.stat().st_size - 1)


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_an_endless_device_is_refused_quickly() -> None:
    with pytest.raises(claimreview.ImportFileError, match="not valid JSON"):
        claimreview.parse_file("/dev/zero")


@pytest.mark.parametrize(
    "document",
    [
        [review(1), review(2)],
        {"@graph": [review(1), review(2)]},
        {"@type": "DataFeed", "dataFeedElement": [review(1), {"item": review(2)}]},
        {"@type": "DataFeed", "name": "x", "dataFeedElement": [{"item": [review(1), review(2)]}]},
        review(1),
    ],
    ids=["list", "graph", "datafeed", "datafeed-item-list", "one-object"],
)
def test_the_streamed_file_reads_as_the_whole_document(tmp_path: Path, document: object) -> None:
    feed = tmp_path / "feed.json"
    feed.write_text(json.dumps(document, indent=1), encoding="utf-8")
    streamed = claimreview.parse_file(str(feed))
    whole = claimreview.parse_document(document)
    assert streamed.records == whole.records and streamed.records
    assert streamed.errors == whole.errors


def test_wrongly_typed_parts_are_reported_by_position(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    feed = tmp_path / "feed.json"
    records = [
        review(1),
        review(2, url=["https://fc.example.org/a-list"]),
        review(3, itemReviewed="https://news.example.com/a-string"),
        review(4, itemReviewed={"appearance": [{"url": "https://ok.example.com/x"}, 42]}),
    ]
    feed.write_text(json.dumps(records), encoding="utf-8")
    code, out, err = run(capsys, "import", str(feed), "--db", str(tmp_path / "s.db"))
    assert code == 0
    assert out == "imported 4 records: 4 created, 0 updated, 0 unchanged, 0 skipped\n"
    assert err.splitlines() == [
        f"{feed}: record 2: url is not a URL (ignored, the rest imported)",
        f"{feed}: record 3: itemReviewed is not an object (ignored, the rest imported)",
        f"{feed}: record 4: appearance 2 has no URL (ignored, the rest imported)",
    ]


@pytest.mark.parametrize(
    ("extra", "reason"),
    [
        ({"@id": "https://fc.example.org/" + "x" * 3000}, "@id is longer than 2048"),
        ({"reviewRating": {"alternateName": "False" * 100}}, "label is longer than 300"),
    ],
)
def test_identity_and_label_are_capped(extra: dict[str, object], reason: str) -> None:
    parsed = claimreview.parse_document([review(1), review(2, **extra)])
    assert len(parsed.records) == 1
    assert parsed.errors == [f"record 2: {reason} characters"] or reason in parsed.errors[0]


def test_a_second_process_changes_nothing_in_what_a_file_gives(tmp_path: Path) -> None:
    # Four batches of records: a worker process converts some of them. Bad records, ignored
    # parts and a repeated @id in later batches keep their file positions, and the records
    # keep file order.
    records: list[object] = [review(i, text="a long article body " * 60) for i in range(3_500)]
    records[1_700] = review(1_700, claimReviewed="")
    records[2_300] = review(2_300, itemReviewed="https://news.example.com/a-string")
    records[3_100] = review(12)
    feed = tmp_path / "feed.json"
    feed.write_text(json.dumps(records), encoding="utf-8")
    assert claimreview._in_parallel(str(feed), workers=2)  # large enough to share out
    parallel = claimreview.parse_file(str(feed), workers=2, index_terms=INDEX_TERMS)
    assert parallel.errors == [
        "record 1701: claimReviewed is empty",
        "record 3101: same @id as record 13",
    ]
    assert parallel.warnings == ["record 2301: itemReviewed is not an object"]
    assert [r.external_id for r in parallel.records] == [
        f"https://fc.example.org/review/{i}" for i in range(3_500) if i not in (1_700, 3_100)
    ]
    claim = parallel.records[-1].claim
    assert parallel.index_terms[claim] == "claim number 3499 harbour tram miss million"
    alone = claimreview.parse_file(str(feed), index_terms=INDEX_TERMS)
    assert parallel == alone


def test_a_process_converts_only_the_batches_not_yet_claimed(tmp_path: Path) -> None:
    # The parent and its worker share a counter of batches taken: a process that finds
    # batches 0 and 1 claimed converts 2 and 3 only (and reads, but skips, the rest).
    feed = tmp_path / "feed.json"
    feed.write_text(json.dumps([review(i) for i in range(3_500)]), encoding="utf-8")
    claimed = multiprocessing.Value("q", 2)
    share = claimreview._convert_share(str(feed), 1 << 30, None, claimed)
    assert sorted(share.batches) == [2, 3] and share.objects == 3_500
    assert claimed.value == 4
    outcome = share.batches[3][-1][0]
    assert outcome is not None and outcome.external_id == "https://fc.example.org/review/3499"


async def test_an_import_that_fails_while_its_postings_are_counted_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An SQLite import counts its search postings on a thread while its rows go in. If the
    # counting fails (out of memory, say: here a batch size of 0 makes it raise), the rows
    # must go with the rolled-back transaction, not be written after it; and the next import
    # must work (leftover search rows would collide with the next claims' ids).
    from bot.store import NewClaim, postings, validate_new_claim

    # No URLs and no sources: nothing else would stop rows written after the rollback.
    records = [
        validate_new_claim(NewClaim(f"Claim number {i} about the harbour tram", "false"))
        for i in range(300)
    ]
    db = tmp_path / "store.db"
    store = await open_store(str(db))
    try:
        monkeypatch.setattr(postings, "_MANY", 0)
        with pytest.raises(ValueError):
            await store.import_claims(records, actor="t", guild_id=None)
        monkeypatch.undo()
        result = await store.import_claims(records, actor="t", guild_id=None)
        assert result.created == 300
    finally:
        await store.close()
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM claim_search").fetchone() == (300,)
    assert claim_count(db) == 300
