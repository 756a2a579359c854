"""``factbot eval``: how well the matcher ranks known claims for CLEF-style queries.

Claims (``vclaims.jsonl``: ``vclaim_id``, ``vclaim``, optional ``title``, ``subtitle``,
``speaker``, who made the claim, and ``stated_date``, when) are loaded into a fresh temporary
store through the normal ClaimReview import, and each query's ``text`` is ranked by the same
:class:`bot.ranking.Ranker` the bot uses, dated by the query's optional ``date`` (or
``event_date``, as CheckThat 2B names it) as a page by its publication date. Figures:

* ranking: MAP@1, MAP@5 (CLEF CheckThat!'s measure: average precision over the top k, divided
  by the number of gold claims), MRR over the top 10, Recall@1 and Recall@5;
* replying, at the configured threshold: ``reply_precision`` (of the queries the bot would reply
  to, the share whose replied claim is gold; null when it replies to none), ``reply_coverage``
  (share of queries it would reply to) and ``false_alarm_rate`` (the same queries ranked with
  their gold claims retired: the share it would still reply to). A gold claim's *twins*, claims
  whose indexed claim text and claimant are identical (the CLEF 2020 store holds hundreds that
  differ only in quote marks), count as the gold claim: replying with the same claim stored
  twice is neither wrong nor a false alarm (the same words from another speaker are another
  claim). ``reply_precision_gold_only`` and ``false_alarm_rate_gold_only``
  count the gold claims alone;
* latency of one ranking, ``ms_p50`` and ``ms_p95`` (nearest rank), and the ``stages`` used.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot import matching
from bot.services import load_ranker, open_store
from bot.store import scratch_target
from bot.store.models import InvalidInput
from bot.store.validation import clean_claim_date

if TYPE_CHECKING:
    from bot.config import Config
    from bot.ranking import Ranker
    from bot.store import Store

log = logging.getLogger(__name__)

#: ``@id`` prefix of the ClaimReview made from a verified claim; the store keeps it as
#: ``external_id``, which maps store claim ids back to ``vclaim_id``.
EXTERNAL_ID_PREFIX = "vclaim:"
RUN_DEPTH = 10
RUN_TAG = "factbot"
_ACTOR = "factbot eval"


class EvaluationError(Exception):
    """The input files cannot be evaluated; ``str()`` says why."""


@dataclass(frozen=True)
class VerifiedClaim:
    vclaim_id: str
    vclaim: str
    title: str | None = None
    subtitle: str | None = None
    speaker: str | None = None  # who made the claim: the ClaimReview's claimant
    stated_date: str | None = None  # when, "YYYY-MM-DD": the ClaimReview's claim date


@dataclass(frozen=True)
class Query:
    query_id: str
    text: str
    gold: tuple[str, ...]  # empty: the text repeats no annotated claim
    likely_missed: tuple[str, ...] = ()  # claims it seems to repeat that annotators missed
    date: date | None = None  # when the text was written, as a page's publication date


# --- reading ---------------------------------------------------------------------------------


def _jsonl(path: str | Path) -> Iterator[tuple[int, dict[str, Any]]]:
    try:
        with open(path, encoding="utf-8") as fh:
            for number, line in enumerate(fh, start=1):
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise EvaluationError(f"{path}:{number}: not JSON ({exc.msg})") from None
                if not isinstance(obj, dict):
                    raise EvaluationError(f"{path}:{number}: not a JSON object")
                yield number, obj
    except OSError as exc:
        raise EvaluationError(f"{path}: cannot read ({exc.strerror})") from None


def _text_field(obj: dict[str, Any], key: str) -> str | None:
    value = obj.get(key)
    return value.strip() or None if isinstance(value, str) else None


def read_claims(path: str | Path) -> list[VerifiedClaim]:
    claims = []
    for number, obj in _jsonl(path):
        vclaim_id, vclaim = obj.get("vclaim_id"), _text_field(obj, "vclaim")
        if vclaim_id is None or vclaim is None:
            raise EvaluationError(f"{path}:{number}: needs vclaim_id and vclaim")
        claims.append(
            VerifiedClaim(
                str(vclaim_id),
                vclaim,
                _text_field(obj, "title"),
                _text_field(obj, "subtitle"),
                _text_field(obj, "speaker"),
                _date_field(obj, "stated_date", path, number),
            )
        )
    return claims


def _date_field(obj: dict[str, Any], key: str, path: str | Path, number: int) -> str | None:
    try:
        return clean_claim_date(obj.get(key))
    except InvalidInput:
        raise EvaluationError(f"{path}:{number}: {key} is not an ISO 8601 date") from None


def _id_list(value: object) -> tuple[str, ...] | None:
    if not isinstance(value, list) or not all(isinstance(v, str | int) for v in value):
        return None
    return tuple(str(v) for v in value)


def read_queries(path: str | Path) -> list[Query]:
    """Queries; ``gold_vclaim_ids`` may be empty, fields the reader does not know are ignored."""
    queries = []
    for number, obj in _jsonl(path):
        query_id, text = obj.get("query_id"), obj.get("text")
        gold = _id_list(obj.get("gold_vclaim_ids"))
        missed = _id_list(obj.get("likely_missed_vclaim_ids", []))
        if not isinstance(query_id, str | int) or not isinstance(text, str) or gold is None:
            raise EvaluationError(
                f"{path}:{number}: needs query_id, text and a gold_vclaim_ids list"
            )
        if missed is None:
            raise EvaluationError(f"{path}:{number}: likely_missed_vclaim_ids is not a list")
        key = "date" if obj.get("date") is not None else "event_date"
        written = _date_field(obj, key, path, number)
        queries.append(
            Query(
                str(query_id),
                text,
                gold,
                missed,
                None if written is None else date.fromisoformat(written),
            )
        )
    return queries


def claim_review(claim: VerifiedClaim) -> dict[str, Any]:
    """A verified claim as the schema.org ClaimReview that ``factbot import`` reads."""
    review: dict[str, Any] = {
        "@type": "ClaimReview",
        "@id": EXTERNAL_ID_PREFIX + claim.vclaim_id,
        "claimReviewed": claim.vclaim,
        # The data sets carry no rating, and eval never shows one.
        "reviewRating": {"alternateName": "unproven"},
    }
    if claim.title:
        review["headline"] = claim.title
    if claim.subtitle:
        review["description"] = claim.subtitle
    if claim.speaker or claim.stated_date:
        item: dict[str, Any] = {"@type": "Claim"}
        if claim.speaker:
            item["author"] = {"@type": "Person", "name": claim.speaker}
        if claim.stated_date:
            item["datePublished"] = claim.stated_date
        review["itemReviewed"] = item
    return review


# --- measures (pure) -------------------------------------------------------------------------


def average_precision_at_k(ranked: Sequence[str], gold: Collection[str], k: int) -> float:
    """Precision at each gold hit within the top ``k``, summed, over the number of gold ids."""
    if not gold:
        return 0.0
    hits = 0
    total = 0.0
    for rank, item in enumerate(ranked[:k], start=1):
        if item in gold:
            hits += 1
            total += hits / rank
    return total / len(gold)


def reciprocal_rank(ranked: Sequence[str], gold: Collection[str]) -> float:
    return next((1.0 / rank for rank, item in enumerate(ranked, 1) if item in gold), 0.0)


def recall_at_k(ranked: Sequence[str], gold: Collection[str], k: int) -> float:
    return len(set(ranked[:k]) & set(gold)) / len(gold) if gold else 0.0


Run = tuple[Sequence[str], Collection[str]]  # (ranked ids, gold ids) of one query


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def mean_average_precision(runs: Sequence[Run], k: int) -> float:
    return _mean([average_precision_at_k(r, g, k) for r, g in runs])


def mrr(runs: Sequence[Run]) -> float:
    return _mean([reciprocal_rank(r, g) for r, g in runs])


def ranking_metrics(runs: Sequence[Run]) -> dict[str, float]:
    return {
        "map@1": mean_average_precision(runs, 1),
        "map@5": mean_average_precision(runs, 5),
        "mrr": mrr(runs),
        "recall@1": _mean([recall_at_k(r, g, 1) for r, g in runs]),
        "recall@5": _mean([recall_at_k(r, g, 5) for r, g in runs]),
    }


def reply_metrics(
    replied: Sequence[bool | None], held_out_replied: Sequence[bool]
) -> dict[str, float | None]:
    """``replied``: per query None (no reply), True (replied with a gold claim) or False."""
    answers = [r for r in replied if r is not None]
    return {
        "reply_precision": sum(answers) / len(answers) if answers else None,
        "reply_coverage": len(answers) / len(replied) if replied else 0.0,
        "false_alarm_rate": _mean([float(r) for r in held_out_replied]),
    }


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in 0-100) of a non-empty sequence."""
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def trec_lines(query_id: str, ranked: Sequence[tuple[str, float]]) -> list[str]:
    """TREC run lines ``query_id Q0 doc_id rank score tag`` (tab-separated), rank from 1."""
    return [
        f"{query_id}\tQ0\t{doc_id}\t{rank}\t{score:.6f}\t{RUN_TAG}"
        for rank, (doc_id, score) in enumerate(ranked, start=1)
    ]


# --- the run ---------------------------------------------------------------------------------


async def _load_claims(store: Store, claims: Sequence[VerifiedClaim]) -> dict[int, str]:
    """Import through the normal path; store claim id -> vclaim_id."""
    from bot import claimreview

    parsed = claimreview.parse_document([claim_review(c) for c in claims])
    if parsed.errors:
        shown = "; ".join(parsed.errors[:3])
        raise EvaluationError(f"{len(parsed.errors)} claims cannot be imported: {shown}")
    result = await store.import_claims(parsed.records, actor=_ACTOR, guild_id=None)
    ids = {}
    for claim_id, record in zip(result.claim_ids, parsed.records, strict=True):
        assert record.external_id is not None
        ids[claim_id] = record.external_id.removeprefix(EXTERNAL_ID_PREFIX)
    return ids


async def _twins(store: Store, claim_ids: Sequence[int]) -> dict[int, frozenset[int]]:
    """Each claim's group of claims with identical indexed claim text and the same claimant
    (itself included): the same words said by someone else are another claim."""
    indexed = await store.indexed_terms(list(claim_ids))
    groups: dict[tuple[frozenset[str], str | None], set[int]] = {}
    keys = {
        claim_id: (frozenset(claim.split()), claimant)
        for claim_id, (claim, _, claimant, _) in indexed.items()
    }
    for claim_id, key in keys.items():
        groups.setdefault(key, set()).add(claim_id)
    return {claim_id: frozenset(groups[key]) for claim_id, key in keys.items()}


async def _replies_without(
    store: Store,
    ranker: Ranker,
    query: Query,
    retired: Collection[int],
    threshold: float,
) -> bool:
    """Whether the bot would reply to ``text`` with the ``retired`` claims out of the store."""
    for claim_id in retired:
        await store.set_active(claim_id, False, actor=_ACTOR, guild_id=None)
    try:
        candidates = await ranker.rank(
            store, query.text, guild_id=None, limit=RUN_DEPTH, text_date=query.date
        )
    finally:
        for claim_id in retired:
            await store.set_active(claim_id, True, actor=_ACTOR, guild_id=None)
    return matching.should_reply(candidates, threshold)


def _ratio(numerator: int, denominator: int) -> float | None:
    return round(numerator / denominator, 4) if denominator else None


async def evaluate(
    claims_path: str | Path,
    queries_path: str | Path,
    *,
    config: Config | None = None,
    run_path: str | Path | None = None,
    replies_path: str | Path | None = None,
    ranker: Ranker | None = None,
    store_base: str | None = None,
) -> dict[str, Any]:
    """Load the claims into a temporary store, rank every query, and return the figures.

    The temporary store is an SQLite file, or with a ``postgresql://`` ``store_base``, a new
    schema in that database (dropped afterwards): the same figures for the other engine.

    ``ranker`` defaults to the one ``config`` asks for (semantic when configured and
    installed); the reply threshold is ``config.matching.reply_threshold`` or the default.
    Ranking measures count the queries with gold; queries without gold are where false alarms
    show. ``replies_path`` gets one JSON line a query, in input order: the claims the bot would
    reply with if the text were a linked article.
    """
    from bot.ranking import Ranker, embed_missing_claims

    claims = read_claims(claims_path)
    queries = read_queries(queries_path)
    if not claims or not queries:
        raise EvaluationError("no claims or no queries to evaluate")
    known = {c.vclaim_id for c in claims}
    unknown = sorted({g for q in queries for g in q.gold} - known)
    if unknown:
        raise EvaluationError(f"{len(unknown)} gold ids are not in the claims file: {unknown[:3]}")
    if ranker is None:
        ranker = Ranker() if config is None else load_ranker(config)
    configured = config.matching.reply_threshold if config is not None else None
    threshold = matching.DEFAULT_REPLY_THRESHOLD if configured is None else configured

    runs: list[Run] = []
    replied: list[bool | None] = []  # per query with gold: its top reply is right, wrong, none
    held_out: list[bool] = []
    gold_only: list[bool] = []
    replied_gold_only: list[bool | None] = []
    replied_claims = right_claims = 0
    recalled = 0
    silent_queries = silent_alarms = 0
    latencies: list[float] = []
    run_lines: list[str] = []
    reply_lines: list[str] = []
    async with scratch_target(store_base) as target:
        store = await open_store(target)
        try:
            started = time.perf_counter()
            vclaim_of = await _load_claims(store, claims)
            log.info("loaded %d claims in %.1f s", len(vclaim_of), time.perf_counter() - started)
            if ranker.embedder is not None:
                await embed_missing_claims(store, ranker.embedder, progress=True)
            claim_id_of = {v: k for k, v in vclaim_of.items()}
            twins = await _twins(store, list(vclaim_of))

            for query in queries:
                started = time.perf_counter()
                candidates = await ranker.rank(
                    store, query.text, guild_id=None, limit=RUN_DEPTH, text_date=query.date
                )
                latencies.append((time.perf_counter() - started) * 1000)
                ranked = [(vclaim_of[c.claim_id], c.score) for c in candidates]
                run_lines += trec_lines(query.query_id, ranked)
                answer = matching.replies(candidates, threshold)
                reply_lines.append(
                    json.dumps(
                        {
                            "query_id": query.query_id,
                            "replies": [
                                {
                                    "vclaim_id": vclaim_of[c.claim_id],
                                    "score": round(c.confidence, 4),
                                    "quote": c.quote,
                                }
                                for c in answer
                            ],
                        },
                        ensure_ascii=False,
                    )
                )
                gold_ids = {claim_id_of[g] for g in query.gold}
                with_twins: set[int] = set().union(*(twins[c] for c in gold_ids))
                missed = {claim_id_of[m] for m in query.likely_missed if m in claim_id_of}
                missed_twins: set[int] = set().union(*(twins[c] for c in missed))
                right = [c for c in answer if c.claim_id in with_twins | missed_twins]
                replied_claims += len(answer)
                right_claims += len(right)
                if not gold_ids:
                    if not missed:
                        silent_queries += 1
                        silent_alarms += bool(answer)
                    continue
                recalled += any(c.claim_id in with_twins for c in answer)
                runs.append(([v for v, _ in ranked], set(query.gold)))
                replies = bool(answer)
                replied.append(candidates[0].claim_id in with_twins if replies else None)
                replied_gold_only.append(ranked[0][0] in query.gold if replies else None)
                alarm = await _replies_without(store, ranker, query, with_twins, threshold)
                held_out.append(alarm)
                if with_twins != gold_ids:
                    alarm = await _replies_without(store, ranker, query, gold_ids, threshold)
                gold_only.append(alarm)
        finally:
            await store.close()

    for path, lines in ((run_path, run_lines), (replies_path, reply_lines)):
        if path is None:
            continue
        try:
            Path(path).write_text("".join(line + "\n" for line in lines), encoding="utf-8")
        except OSError as exc:
            raise EvaluationError(f"{path}: cannot write ({exc.strerror})") from None
    figures: dict[str, Any] = {
        "queries": len(queries),
        "queries_with_gold": len(runs),
        "claims": len(claims),
    }
    figures.update({k: round(v, 4) for k, v in ranking_metrics(runs).items()})
    top = reply_metrics(replied, held_out)
    figures["reply_precision"] = _ratio(right_claims, replied_claims)
    figures["reply_recall"] = _ratio(recalled, len(runs))
    figures["reply_coverage"] = round(top["reply_coverage"] or 0.0, 4)
    figures["false_alarm_rate"] = round(top["false_alarm_rate"] or 0.0, 4)
    figures["passage_false_alarm_rate"] = _ratio(silent_alarms, silent_queries)
    strict = reply_metrics(replied_gold_only, held_out)["reply_precision"]
    figures["reply_precision_gold_only"] = None if strict is None else round(strict, 4)
    figures["false_alarm_rate_gold_only"] = round(_mean([float(a) for a in gold_only]), 4)
    figures["reply_threshold"] = threshold
    figures["ms_p50"] = round(percentile(latencies, 50), 2)
    figures["ms_p95"] = round(percentile(latencies, 95), 2)
    figures["stages"] = list(ranker.stages)
    return figures
