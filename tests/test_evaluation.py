"""``factbot eval``: the measures on hand-computed cases, the readers, and small end-to-end runs."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from bot import claimreview, evaluation, matching
from bot.evaluation import (
    EvaluationError,
    VerifiedClaim,
    average_precision_at_k,
    mean_average_precision,
    mrr,
    percentile,
    ranking_metrics,
    recall_at_k,
    reciprocal_rank,
    reply_metrics,
    trec_lines,
)
from tests.postgres_server import PostgresCluster

# --- measures --------------------------------------------------------------------------------


def test_average_precision_one_gold() -> None:
    assert average_precision_at_k(["a", "b", "c"], {"a"}, 5) == 1.0
    assert average_precision_at_k(["x", "a", "c"], {"a"}, 5) == 0.5
    assert average_precision_at_k(["x", "y", "a"], {"a"}, 5) == pytest.approx(1 / 3)
    assert average_precision_at_k(["x", "y", "a"], {"a"}, 2) == 0.0
    assert average_precision_at_k([], {"a"}, 5) == 0.0


def test_average_precision_divides_by_all_gold() -> None:
    # Hits at ranks 1 and 3 of two gold: (1/1 + 2/3) / 2.
    assert average_precision_at_k(["a", "x", "b"], {"a", "b"}, 5) == pytest.approx(5 / 6)
    # Only one of two gold within k=1: (1/1) / 2.
    assert average_precision_at_k(["a", "b"], {"a", "b"}, 1) == 0.5
    # A gold claim never retrieved still counts in the denominator.
    assert average_precision_at_k(["x", "a"], {"a", "b"}, 5) == pytest.approx(0.25)


def test_reciprocal_rank_and_recall() -> None:
    assert reciprocal_rank(["x", "y", "a", "b"], {"a", "b"}) == pytest.approx(1 / 3)
    assert reciprocal_rank(["x"], {"a"}) == 0.0
    assert recall_at_k(["a", "x", "b"], {"a", "b"}, 1) == 0.5
    assert recall_at_k(["a", "x", "b"], {"a", "b"}, 5) == 1.0
    assert recall_at_k(["x"], {"a"}, 5) == 0.0


def test_aggregates_are_means_over_queries() -> None:
    runs = [(["a", "x"], {"a"}), (["x", "b"], {"b"}), (["x", "y"], {"c"})]
    assert mean_average_precision(runs, 5) == pytest.approx((1 + 0.5 + 0) / 3)
    assert mean_average_precision(runs, 1) == pytest.approx(1 / 3)
    assert mrr(runs) == pytest.approx(0.5)
    figures = ranking_metrics(runs)
    assert figures == {
        "map@1": pytest.approx(1 / 3),
        "map@5": pytest.approx(0.5),
        "mrr": pytest.approx(0.5),
        "recall@1": pytest.approx(1 / 3),
        "recall@5": pytest.approx(2 / 3),
    }
    assert mrr([]) == 0.0


def test_reply_metrics() -> None:
    figures = reply_metrics([True, True, False, None], [False, True, False, False])
    assert figures == {
        "reply_precision": pytest.approx(2 / 3),
        "reply_coverage": 0.75,
        "false_alarm_rate": 0.25,
    }
    assert reply_metrics([None, None], [False, False])["reply_precision"] is None


def test_percentile_nearest_rank() -> None:
    values = [float(v) for v in range(1, 21)]  # 1..20
    assert percentile(values, 50) == 10.0
    assert percentile(values, 95) == 19.0
    assert percentile(values, 100) == 20.0
    assert percentile([7.0], 95) == 7.0


def test_trec_lines() -> None:
    assert trec_lines("q1", [("c9", 12.5), ("c2", 3.0)]) == [
        "q1\tQ0\tc9\t1\t12.500000\tfactbot",
        "q1\tQ0\tc2\t2\t3.000000\tfactbot",
    ]


# --- readers and the import record -----------------------------------------------------------


def test_claim_review_goes_through_the_normal_import() -> None:
    review = evaluation.claim_review(VerifiedClaim("v-1", "The claim.", "A title", "A subtitle"))
    record = claimreview.record_from_claim_review(review)
    assert record.claim == "The claim."
    assert record.external_id == "vclaim:v-1"
    assert "A title" in record.context and "A subtitle" in record.context
    bare = claimreview.record_from_claim_review(evaluation.claim_review(VerifiedClaim("2", "X")))
    assert bare.context == "" and bare.claimant is None


async def test_a_claims_speaker_is_its_claimant_and_a_transcript_naming_them_ranks_it_first(
    tmp_path: Path,
) -> None:
    said = "Unemployment is the lowest it has been in 17 years."
    claims = _write_jsonl(
        tmp_path / "vclaims.jsonl",
        [
            {"vclaim_id": "pence", "vclaim": said, "speaker": "Mike Pence"},
            {"vclaim_id": "trump", "vclaim": said, "speaker": "Donald Trump"},
        ],
    )
    text = "TRUMP: Unemployment, the lowest in 17 years. Nobody thought it could happen."
    queries = _write_jsonl(
        tmp_path / "q.jsonl", [{"query_id": "q", "text": text, "gold_vclaim_ids": ["trump"]}]
    )
    figures = await evaluation.evaluate(claims, queries)
    assert figures["map@1"] == 1.0


@pytest.mark.parametrize("date_key", ["event_date", "date"])
async def test_a_claims_stated_date_dates_it_and_a_dated_query_ranks_the_claim_of_its_time_first(
    tmp_path: Path, date_key: str
) -> None:
    said = "Unemployment is the lowest it has been in 17 years."
    claims = _write_jsonl(
        tmp_path / "vclaims.jsonl",
        [
            {"vclaim_id": "2012", "vclaim": said, "stated_date": "2012-10-03"},
            {"vclaim_id": "2017", "vclaim": said, "stated_date": "2017-08-22"},
        ],
    )
    text = "Unemployment, the lowest in 17 years. Nobody thought it could happen."
    queries = _write_jsonl(
        tmp_path / "q.jsonl",
        [
            {"query_id": "a", "text": text, "gold_vclaim_ids": ["2017"], date_key: "2017-08-25"},
            {"query_id": "b", "text": text, "gold_vclaim_ids": ["2012"], date_key: "2012-10-04"},
        ],
    )
    figures = await evaluation.evaluate(claims, queries)
    assert figures["map@1"] == 1.0
    (record,) = [
        claimreview.record_from_claim_review(evaluation.claim_review(c))
        for c in evaluation.read_claims(claims)[:1]
    ]
    assert record.claim_date == "2012-10-03"


def test_a_query_dated_both_ways_is_dated_by_its_date_when_it_has_one(tmp_path: Path) -> None:
    rows = [{"query_id": "q", "text": "x", "gold_vclaim_ids": [], "date": "2020-01-02",
             "event_date": "1999-09-09"}]  # fmt: skip
    rows.append({"query_id": "r", "text": "x", "gold_vclaim_ids": [], "date": None,
                 "event_date": "1999-09-09"})  # fmt: skip
    path = _write_jsonl(tmp_path / "q.jsonl", rows)
    assert [q.date for q in evaluation.read_queries(path)] == [date(2020, 1, 2), date(1999, 9, 9)]


@pytest.mark.parametrize(
    ("name", "row", "message"),
    [
        ("claims", {"vclaim_id": "v", "vclaim": "x", "stated_date": "last week"},
         r"claims\.jsonl:2: stated_date is not an ISO 8601 date"),
        ("claims", {"vclaim_id": "v", "vclaim": "x", "stated_date": 2017},
         r"claims\.jsonl:2: stated_date is not an ISO 8601 date"),
        ("queries",
         {"query_id": "q", "text": "x", "gold_vclaim_ids": [], "event_date": "2017-02-30"},
         r"queries\.jsonl:2: event_date is not an ISO 8601 date"),
        ("queries", {"query_id": "q", "text": "x", "gold_vclaim_ids": [], "date": ["2017-02-03"]},
         r"queries\.jsonl:2: date is not an ISO 8601 date"),
    ],
)  # fmt: skip
def test_a_date_that_is_no_date_is_a_bad_line(
    tmp_path: Path, name: str, row: dict[str, Any], message: str
) -> None:
    good = (
        {"vclaim_id": "ok", "vclaim": "y", "stated_date": "2017-02-03"}
        if name == "claims"
        else {"query_id": "ok", "text": "y", "gold_vclaim_ids": [], "date": "2017-02-03"}
    )
    path = _write_jsonl(tmp_path / f"{name}.jsonl", [good, row])
    read = evaluation.read_claims if name == "claims" else evaluation.read_queries
    with pytest.raises(EvaluationError, match=message):
        read(path)


def _write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_readers_reject_bad_lines(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"vclaim_id": 1, "vclaim": "ok"}\nnot json\n', encoding="utf-8")
    with pytest.raises(EvaluationError, match=r"bad\.jsonl:2"):
        evaluation.read_claims(bad)
    missing = _write_jsonl(tmp_path / "q.jsonl", [{"query_id": 1, "text": "x"}])
    with pytest.raises(EvaluationError, match="gold_vclaim_ids"):
        evaluation.read_queries(missing)
    with pytest.raises(EvaluationError, match="cannot read"):
        evaluation.read_claims(tmp_path / "absent.jsonl")


# --- end to end ------------------------------------------------------------------------------

CLAIMS = [
    {"vclaim_id": "shark", "vclaim": "A photo shows a shark swimming on a flooded Houston highway.",
     "title": "Shark on a Houston Freeway?"},
    {"vclaim_id": "shark2", "vclaim": "A photo shows a shark swimming on a flooded Houston road!",
     "title": "Shark on a Houston Freeway?"},
    {"vclaim_id": "tower", "vclaim": "The Eiffel Tower will be moved to Las Vegas.",
     "title": "Is the Eiffel Tower Moving?", "subtitle": "A satirical article said it was sold."},
    {"vclaim_id": "bleach", "vclaim": "Drinking bleach cures the coronavirus.",
     "title": "Does Bleach Cure COVID-19?"},
    {"vclaim_id": "worms", "vclaim": "McDonald's uses ground worms as filler in its hamburgers.",
     "title": "Worms in McDonald's Burgers?"},
]  # fmt: skip

QUERIES = [
    {"query_id": "q1", "text": "Eiffel Tower moved to Las Vegas?! https://t.co/x — A (@b) May 1",
     "gold_vclaim_ids": ["tower"]},
    {"query_id": "q2", "text": "shark swimming on the flooded highway in Houston #HurricaneHarvey",
     "gold_vclaim_ids": ["shark"]},
    {"query_id": "q3", "text": "nothing to see here", "gold_vclaim_ids": ["bleach"]},
]  # fmt: skip


async def test_evaluate_small_files(tmp_path: Path) -> None:
    claims = _write_jsonl(tmp_path / "vclaims.jsonl", CLAIMS)
    queries = _write_jsonl(tmp_path / "queries.jsonl", QUERIES)
    run = tmp_path / "run.tsv"
    figures = await evaluation.evaluate(claims, queries, run_path=run)
    assert figures["queries"] == 3 and figures["claims"] == 5
    # q1 and q2 rank their gold (or its twin, which costs q2 half its AP at worst) first.
    assert figures["recall@5"] == pytest.approx(2 / 3, abs=1e-3)
    assert figures["map@5"] >= 0.5
    assert figures["stages"] == ["lexical"]
    assert figures["reply_threshold"] == matching.DEFAULT_REPLY_THRESHOLD
    assert 0.0 <= figures["false_alarm_rate"] <= figures["false_alarm_rate_gold_only"] <= 1.0
    assert figures["ms_p50"] <= figures["ms_p95"]
    lines = run.read_text(encoding="utf-8").splitlines()
    assert lines[0].split("\t")[:4] == ["q1", "Q0", "tower", "1"]
    assert all(len(line.split("\t")) == 6 and line.endswith("\tfactbot") for line in lines)
    assert {line.split("\t")[0] for line in lines} <= {"q1", "q2", "q3"}


async def test_evaluate_rejects_unknown_gold(tmp_path: Path) -> None:
    claims = _write_jsonl(tmp_path / "vclaims.jsonl", CLAIMS)
    queries = _write_jsonl(
        tmp_path / "q.jsonl", [{"query_id": "1", "text": "x", "gold_vclaim_ids": ["nope"]}]
    )
    with pytest.raises(EvaluationError, match="not in the claims file"):
        await evaluation.evaluate(claims, queries)


async def test_queries_without_gold_measure_false_alarms_and_replies_are_written(
    tmp_path: Path,
) -> None:
    claims = _write_jsonl(tmp_path / "vclaims.jsonl", CLAIMS)
    rows = [
        {**QUERIES[0], "transcript": "t1", "likely_missed_vclaim_ids": []},
        {"query_id": "p1", "text": "The weather was fine. Nothing else.", "gold_vclaim_ids": []},
        {"query_id": "p2", "text": "Drinking bleach cures the coronavirus, they say.",
         "gold_vclaim_ids": [], "likely_missed_vclaim_ids": ["bleach"]},
    ]  # fmt: skip
    queries = _write_jsonl(tmp_path / "queries.jsonl", rows)
    replies = tmp_path / "replies.jsonl"
    figures = await evaluation.evaluate(claims, queries, replies_path=replies)
    assert figures["queries"] == 3 and figures["queries_with_gold"] == 1
    assert figures["map@5"] == 1.0
    assert figures["passage_false_alarm_rate"] == 0.0  # p1 is silent; p2 is flagged, not counted
    assert figures["reply_recall"] == 1.0 and figures["reply_precision"] == 1.0
    lines = [json.loads(line) for line in replies.read_text(encoding="utf-8").splitlines()]
    assert [line["query_id"] for line in lines] == ["q1", "p1", "p2"]
    assert [r["vclaim_id"] for r in lines[0]["replies"]] == ["tower"]
    assert lines[1]["replies"] == []
    (bleach,) = lines[2]["replies"]
    assert bleach["vclaim_id"] == "bleach"
    assert bleach["quote"] == "Drinking bleach cures the coronavirus, they say."
    assert 0.0 < bleach["score"] <= 1.0


async def test_the_same_words_from_another_speaker_are_another_claim(tmp_path: Path) -> None:
    # Twins (one claim stored twice) count as the gold claim; the same words said by someone
    # else do not: replying with the other speaker's claim is a wrong reply.
    said = "Our tariffs brought back 40,000 steel jobs to Ohio in one year."
    rows = [
        *CLAIMS,
        {"vclaim_id": "ruiz", "vclaim": said, "speaker": "Ann Ruiz"},
        {"vclaim_id": "park", "vclaim": said, "speaker": "Bo Park"},
        {"vclaim_id": "park-again", "vclaim": said, "speaker": "Bo Park"},
    ]
    claims = _write_jsonl(tmp_path / "vclaims.jsonl", rows)
    text = "PARK: Our tariffs brought back 40,000 steel jobs to Ohio in a single year."
    queries = _write_jsonl(
        tmp_path / "queries.jsonl",
        [
            {"query_id": "p", "text": text, "gold_vclaim_ids": ["park-again"]},
            {"query_id": "r", "text": text, "gold_vclaim_ids": ["ruiz"]},
        ],
    )
    replies = tmp_path / "replies.jsonl"
    figures = await evaluation.evaluate(claims, queries, replies_path=replies)
    for line in replies.read_text(encoding="utf-8").splitlines():
        assert {r["vclaim_id"] for r in json.loads(line)["replies"]} == {
            "ruiz",
            "park",
            "park-again",
        }
    # p: both of Park's claims are right; r: only Ruiz's. Each query has a right reply.
    assert figures["reply_precision"] == pytest.approx(3 / 6)
    assert figures["reply_recall"] == 1.0


@pytest.mark.parametrize(
    "line",
    ['{"query_id": "1", "text": "x", "gold_vclaim_ids": "bleach"}', "[1, 2]", "{oops",
     '{"query_id": "1", "text": "x", "gold_vclaim_ids": [], "likely_missed_vclaim_ids": 3}'],
)  # fmt: skip
def test_a_bad_query_file_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], line: str
) -> None:
    from bot.cli import main

    claims = _write_jsonl(tmp_path / "vclaims.jsonl", CLAIMS)
    queries = tmp_path / "q.jsonl"
    queries.write_text(line + "\n", encoding="utf-8")
    code = main(["eval", "--claims", str(claims), "--queries", str(queries)])
    captured = capsys.readouterr()
    assert code == 2
    assert captured.out == ""
    assert len(captured.err.strip().splitlines()) == 1 and "q.jsonl:1" in captured.err


def test_an_unwritable_replies_file_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.cli import main

    claims = _write_jsonl(tmp_path / "vclaims.jsonl", CLAIMS)
    queries = _write_jsonl(tmp_path / "queries.jsonl", QUERIES)
    target = tmp_path / "no-such-folder" / "replies.jsonl"
    code = main(
        ["eval", "--claims", str(claims), "--queries", str(queries), "--replies", str(target)]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "cannot write" in err


async def test_evaluate_on_postgresql_ranks_alike_and_leaves_nothing_behind(
    tmp_path: Path, postgres_cluster: PostgresCluster
) -> None:
    claims = _write_jsonl(tmp_path / "vclaims.jsonl", CLAIMS)
    queries = _write_jsonl(tmp_path / "queries.jsonl", QUERIES)
    on_sqlite = await evaluation.evaluate(claims, queries, run_path=tmp_path / "sqlite.tsv")
    on_postgres = await evaluation.evaluate(
        claims, queries, run_path=tmp_path / "pg.tsv", store_base=postgres_cluster.dsn()
    )
    for figure in ("map@5", "recall@5", "mrr", "reply_precision", "false_alarm_rate"):
        assert on_postgres[figure] == on_sqlite[figure], figure

    def ranking(name: str) -> list[list[str]]:
        lines = (tmp_path / name).read_text(encoding="utf-8").splitlines()
        return [line.split("\t")[:4] for line in lines]

    assert ranking("pg.tsv") == ranking("sqlite.tsv")
    conn = await asyncpg.connect(postgres_cluster.dsn())
    schemas = await conn.fetch(
        "SELECT schema_name FROM information_schema.schemata "
        "WHERE schema_name LIKE 'factbot_scratch%'"
    )
    await conn.close()
    assert schemas == []
