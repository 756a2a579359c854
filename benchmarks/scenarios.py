"""The benchmark scenarios, each through factbot's own code: the store API, the ``on_message``
handler of ``cogs.links``, the page reader and fetcher against a server on 127.0.0.1, and the
``factbot import`` command. Timings are in seconds unless a name says otherwise.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import random
import re
import sqlite3
import sys
import time
import types
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from benchmarks.synthetic import Generator
from bot import links
from bot.evaluation import percentile
from bot.store import NewClaim, is_postgres_url

ROOT = Path(__file__).resolve().parents[1]
GUILD = 4242  # every lookup runs in a server's scope, as the bot's do (claims are global)
LOOKUP_SQL = (
    "SELECT u.url_key, u.claim_id FROM claim_urls u JOIN claims c ON c.id = u.claim_id "
    "WHERE u.url_key IN (?) AND c.active = 1 AND (c.guild_id IS NULL OR c.guild_id = ?) "
    "ORDER BY u.claim_id"
)


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- building a store ---------------------------------------------------------------------------


@dataclass
class StoreData:
    """What the benchmarks keep about a store they built."""

    path: Path | str  # an SQLite file, or a postgresql:// URL (``run.py --store``)
    claims: int = 0
    urls: int = 0
    next_serial: int = 0
    texts: list[str] = field(default_factory=list)  # claim + context, in claim-id order
    hit_keys: list[str] = field(default_factory=list)  # a sample of stored canonical keys
    import_s: float = 0.0  # time spent in Store.import_claims
    imported: int = 0
    raw_s: float = 0.0  # time spent bulk-inserting the extra URLs with bare sqlite3


async def grow_store(
    data: StoreData,
    gen: Generator,
    target_claims: int,
    *,
    urls_per_claim: int,
    imported_urls: int = 2,
    batch: int = 2000,
) -> None:
    """Add claims until the store holds ``target_claims``, each with ``urls_per_claim`` URLs.

    Claims go in through ``Store.import_claims`` (the import path, which also fills the search
    index through ``bot.matching.index_terms``) with ``imported_urls`` URLs each, in their posted
    form (the store computes their keys). The other URLs are bulk-inserted with bare sqlite3 in
    canonical form: at ~200 µs a ``canonical_url`` call, keying a million URLs through the import
    path alone would take minutes (the import rate is measured and reported).
    """
    from bot.services import open_store

    keep_every = max(1, (target_claims * urls_per_claim) // 40_000)
    store = await open_store(str(data.path))
    extra_rows: list[tuple[int, str, str, int]] = []
    try:
        while data.claims < target_claims:
            count = min(batch, target_claims - data.claims)
            records: list[NewClaim] = []
            keys: list[list[str]] = []
            for _ in range(count):
                claim_keys = [gen.url(data.next_serial + i) for i in range(urls_per_claim)]
                data.next_serial += urls_per_claim
                posted = tuple(gen.posted_form(u) for u in claim_keys[:imported_urls])
                record = gen.claim(data.next_serial, posted)
                records.append(record)
                keys.append(claim_keys)
                data.texts.append(f"{record.claim}\n{record.context}")
            started = time.perf_counter()
            result = await store.import_claims(records, actor="bench", guild_id=None)
            data.import_s += time.perf_counter() - started
            data.imported += len(records)
            assert result.created == len(records), result
            for claim_id, claim_keys in zip(result.claim_ids, keys, strict=True):
                for key in claim_keys[imported_urls:]:
                    extra_rows.append((claim_id, key, key, links.LINK_KEY_VERSION))
                for key in claim_keys:
                    data.urls += 1
                    if data.urls % keep_every == 0:
                        data.hit_keys.append(key)
            data.claims += count
            if data.claims % 10_000 < batch:
                log(f"  {data.claims} claims imported")
    finally:
        await store.close()
    _check_canonical(gen, extra_rows)
    started = time.perf_counter()
    if is_postgres_url(str(data.path)):
        await _copy_urls(str(data.path), extra_rows)
    else:
        db = sqlite3.connect(data.path)
        try:
            with db:
                db.executemany(
                    "INSERT INTO claim_urls (claim_id, url, url_key, key_version) "
                    "VALUES (?, ?, ?, ?)",
                    extra_rows,
                )
        finally:
            db.close()
    data.raw_s += time.perf_counter() - started


async def _copy_urls(url: str, rows: list[tuple[int, str, str, int]]) -> None:
    """PostgreSQL's bulk path for the extra URLs (COPY), then fresh planner statistics."""
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        await conn.copy_records_to_table(
            "claim_urls", records=rows, columns=("claim_id", "url", "url_key", "key_version")
        )
        await conn.execute("ANALYZE claim_urls")
    finally:
        await conn.close()


def _check_canonical(gen: Generator, rows: list[tuple[int, str, str, int]]) -> None:
    """The bulk rows skip canonicalisation: prove on a sample that their keys are canonical."""
    sample = random.Random(1).sample(rows, min(300, len(rows)))
    for _, url, _, _ in sample:
        key = links.canonical_url(url)
        if key != url:
            raise SystemExit(f"synthetic URL is not canonical: {url} -> {key}")
        posted = gen.posted_form(url)
        if links.canonical_url(posted) != url:
            raise SystemExit(
                f"posted form keys differently: {posted} -> {links.canonical_url(posted)}"
            )


def miss_keys(gen: Generator, count: int) -> list[str]:
    """Canonical keys of links no claim has (serials far above any stored one)."""
    return [gen.url(10**9 + i) for i in range(count)]


# --- URL lookups ------------------------------------------------------------------------------


async def url_lookups(store: Any, keys: Sequence[str]) -> list[float]:
    """Microseconds per ``Store.claims_for_url_keys`` call, one key each."""
    timings = []
    clock = time.perf_counter_ns
    for key in keys:
        started = clock()
        await store.claims_for_url_keys([key], guild_id=GUILD)
        timings.append((clock() - started) / 1000)
    return timings


def raw_url_lookups(path: Path, keys: Sequence[str]) -> list[float]:
    """The same lookups with bare sqlite3: the store's queries, rows left as tuples."""
    db = sqlite3.connect(path)
    db.execute("PRAGMA query_only = ON")
    timings = []
    clock = time.perf_counter_ns
    try:
        for key in keys:
            started = clock()
            rows = db.execute(LOOKUP_SQL, (key, GUILD)).fetchall()
            if rows:
                ids = [r[1] for r in rows]
                marks = ",".join("?" * len(ids))
                db.execute(
                    "SELECT c.id, c.guild_id, c.claim, c.verdict, c.note, c.rating_label, "
                    "c.context, c.external_id, c.created_by, c.created_at, c.updated_by, "
                    f"c.updated_at, c.active, c.claimant FROM claims c WHERE c.id IN ({marks}) AND "
                    "c.active = 1 AND (c.guild_id IS NULL OR c.guild_id = ?) ORDER BY c.id",
                    (*ids, GUILD),
                ).fetchall()
                db.execute(
                    f"SELECT claim_id, url FROM claim_urls WHERE claim_id IN ({marks}) ORDER BY id",
                    ids,
                ).fetchall()
                db.execute(
                    f"SELECT claim_id, url, title, kind FROM claim_sources "
                    f"WHERE claim_id IN ({marks}) ORDER BY id",
                    ids,
                ).fetchall()
            timings.append((clock() - started) / 1000)
    finally:
        db.close()
    return timings


async def measure_lookups(store: Any, path: Path | str, hits: list[str], misses: list[str]) -> dict:
    """p50/p99 over an even mix of known and unknown keys, through the store and raw.

    The raw figures are bare sqlite3's; on PostgreSQL there are none (``None``).
    """
    rng = random.Random(7)
    mixed = [k for pair in zip(hits, misses, strict=False) for k in pair]
    rng.shuffle(mixed)
    await url_lookups(store, mixed[:200])  # warm the connection and the page cache
    store_us = await url_lookups(store, mixed)
    known = set(hits)
    hit_us = [t for k, t in zip(mixed, store_us, strict=True) if k in known]
    miss_us = [t for k, t in zip(mixed, store_us, strict=True) if k not in known]
    figures: dict[str, Any] = {
        "p50_us": percentile(store_us, 50),
        "p99_us": percentile(store_us, 99),
        "hit_p50_us": percentile(hit_us, 50),
        "miss_p50_us": percentile(miss_us, 50),
        "raw_p50_us": None,
        "raw_p99_us": None,
        "raw_ratio": None,
        "count": len(mixed),
    }
    if is_postgres_url(str(path)):
        return figures
    raw_url_lookups(Path(path), mixed[:200])
    raw_us = raw_url_lookups(Path(path), mixed)
    return {
        **figures,
        "raw_p50_us": percentile(raw_us, 50),
        "raw_p99_us": percentile(raw_us, 99),
        "raw_ratio": percentile(store_us, 50) / percentile(raw_us, 50),
    }


# --- content matching -------------------------------------------------------------------------


async def content_matches(store: Any, texts: Sequence[str], limit: int = 5) -> list[float]:
    """Milliseconds per ``bot.matching.rank_claims`` call on an article-sized text."""
    from bot import matching

    timings = []
    for text in texts:
        started = time.perf_counter()
        await matching.rank_claims(store, text, guild_id=GUILD, limit=limit)
        timings.append((time.perf_counter() - started) * 1000)
    return timings


async def semantic_matches(
    store: Any, ranker: Any, texts: Sequence[str], limit: int = 5
) -> list[float]:
    """Milliseconds per ``Ranker.rank`` call with the semantic stage (one ONNX thread).

    Run it twice over the same texts: the first pass embeds the claims that have no vector
    yet (an imported store has them all), the second is the figure.
    """
    timings = []
    for text in texts:
        started = time.perf_counter()
        await ranker.rank(store, text, guild_id=GUILD, limit=limit)
        timings.append((time.perf_counter() - started) * 1000)
    return timings


class Bm25sIndex:
    """The same claims in ``bm25s``, tokenised with PyStemmer's English stemmer and stopwords."""

    def __init__(self, corpus: Sequence[str]) -> None:
        import bm25s
        import Stemmer

        self._bm25s = bm25s
        self.stemmer = Stemmer.Stemmer("english")
        self.stopwords = _matching_stopwords() or "en"
        started = time.perf_counter()
        tokens = bm25s.tokenize(
            list(corpus), stopwords=self.stopwords, stemmer=self.stemmer, show_progress=False
        )
        self.retriever = bm25s.BM25()
        self.retriever.index(tokens, show_progress=False)
        self.build_s = time.perf_counter() - started
        self.size = len(corpus)

    def search(self, text: str, k: int = 5) -> list[int]:
        """Corpus positions of the best ``k`` documents."""
        tokens = self._bm25s.tokenize(
            [text],
            stopwords=self.stopwords,
            stemmer=self.stemmer,
            return_ids=False,
            show_progress=False,
        )
        if not tokens[0]:
            return []
        docs, _ = self.retriever.retrieve(
            tokens, k=min(k, self.size), show_progress=False, n_threads=1
        )
        return [int(d) for d in docs[0]]

    def timings(self, texts: Sequence[str], k: int = 5) -> list[float]:
        timings = []
        for text in texts:
            started = time.perf_counter()
            self.search(text, k)
            timings.append((time.perf_counter() - started) * 1000)
        return timings


def _matching_stopwords() -> list[str] | None:
    """factbot's own stopword list when ``bot.matching`` exposes one (the fairest comparison)."""
    from bot import matching

    for name in ("STOPWORDS", "STOP_WORDS", "_STOP_WORDS"):
        words = getattr(matching, name, None)
        if isinstance(words, set | frozenset | list | tuple) and words:
            return sorted(str(w) for w in words)
    return None


# --- MAP@5 on CLEF dev -----------------------------------------------------------------------


async def clef_map(
    db_path: Path | str,
    folder: Path,
    max_queries: int | None,
    max_claims: int | None,
    *,
    bm25s: bool = True,
) -> dict[str, float]:
    """MAP@5 of factbot's ``rank_claims`` and of bm25s on ``folder``'s dev queries.

    Both index claim + title + subtitle; factbot's store is loaded as ``factbot eval`` loads it
    (ClaimReview records through the import path), and both are scored by ``bot.evaluation``.
    A smoke run may cap the queries and the claims (gold claims are always kept): its figures
    are then not comparable with the published ones.
    """
    from bot import claimreview, evaluation, matching
    from bot.services import open_store

    vclaims = evaluation.read_claims(folder / "vclaims.jsonl")
    queries = evaluation.read_queries(folder / "dev.jsonl")[:max_queries]
    if max_claims is not None and max_claims < len(vclaims):
        gold = {g for q in queries for g in q.gold}
        others = [v for v in vclaims if v.vclaim_id not in gold]
        keep = gold | {v.vclaim_id for v in random.Random(3).sample(others, max_claims)}
        vclaims = [v for v in vclaims if v.vclaim_id in keep]
    parsed = claimreview.parse_document([evaluation.claim_review(v) for v in vclaims])
    assert not parsed.errors, parsed.errors[:3]
    store = await open_store(str(db_path))
    try:
        result = await store.import_claims(parsed.records, actor="bench", guild_id=None)
        vclaim_of = dict(zip(result.claim_ids, (v.vclaim_id for v in vclaims), strict=True))
        factbot_runs = []
        for query in queries:
            ranked = await matching.rank_claims(store, query.text, guild_id=None, limit=5)
            factbot_runs.append(([vclaim_of[c.claim_id] for c in ranked], query.gold))
    finally:
        await store.close()
    if not bm25s:
        return {
            "factbot": evaluation.mean_average_precision(factbot_runs, 5),
            "queries": len(queries),
            "claims": len(vclaims),
        }
    index = Bm25sIndex([f"{r.claim}\n{r.context}" for r in parsed.records])
    bm25s_runs = [([vclaims[i].vclaim_id for i in index.search(q.text)], q.gold) for q in queries]
    return {
        "factbot": evaluation.mean_average_precision(factbot_runs, 5),
        "bm25s": evaluation.mean_average_precision(bm25s_runs, 5),
        "queries": len(queries),
        "claims": len(vclaims),
    }


# --- the bot: on_message ---------------------------------------------------------------------


@contextlib.asynccontextmanager
async def offline_bot(config: Any, db_path: Path | str) -> AsyncIterator[tuple[Any, Any]]:
    """factbot's real bot and services, extensions loaded, never connected to Discord."""
    from bot.client import FactBot
    from bot.services import open_services

    async with open_services(config, db_path=str(db_path)) as services:
        bot = FactBot(services)
        await bot.setup_hook()
        cog = bot.get_cog("Links")
        assert cog is not None, "cogs.links did not load"
        try:
            yield bot, cog
        finally:
            await bot.close()  # never logged in: only cancels the bot's background tasks


def fakes() -> Any:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from tests import fakes as module

    return module


def bench_config(**fetch: Any) -> Any:
    """Defaults, lexical matching only (so figures do not depend on the semantic extra)."""
    from bot.config import Config, MatchingConfig

    config = Config(matching=MatchingConfig(semantic="off"))
    return replace(config, fetch=replace(config.fetch, **fetch)) if fetch else config


_URL_RE = re.compile(r"\S*https?://\S+", re.I)


def linkless_texts(folder: Path, count: int) -> list[str]:
    """Real tweet texts with their links cut out (what most chat messages look like)."""
    from benchmarks.synthetic import read_jsonl

    texts = []
    for split in ("train.jsonl", "dev.jsonl"):
        for query in read_jsonl(folder / split):
            text = _URL_RE.sub("", query["text"]).strip()
            if text and "http" not in text.lower():
                texts.append(text)
    return (texts * (count // max(1, len(texts)) + 1))[:count]


async def scan_rate(cog: Any, texts: Sequence[str], total: int) -> float:
    """Link-less messages per second through ``Links.on_message``."""
    fake = fakes()
    guild = fake.FakeGuild()
    channel = fake.FakeTextChannel(guild=guild)
    author = fake.FakeMember()
    messages = [
        fake.FakeMessage(content=t, guild=guild, channel=channel, author=author) for t in texts
    ]
    handler = cog.on_message
    for message in messages:  # warm-up
        await handler(message)
    rounds = max(1, total // len(messages))
    started = time.perf_counter()
    for _ in range(rounds):
        for message in messages:
            await handler(message)
    elapsed = time.perf_counter() - started
    return rounds * len(messages) / elapsed


class ReplyCollector:
    """Stands in for ``message.reply``: keeps what would have been sent."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    async def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.sent.append(kwargs)
        # The bot's message, whose id the reply record keeps (a bare object: building a spec'd
        # fake costs more than the reply path being measured).
        return types.SimpleNamespace(id=len(self.sent))


def link_messages(texts: Sequence[str], collector: ReplyCollector) -> list[Any]:
    """One message per text, each in a channel of its own (so the repeat guard stays out)."""
    fake = fakes()
    guild = fake.FakeGuild()
    messages = []
    for text in texts:
        message = fake.FakeMessage(
            content=text, guild=guild, channel=fake.FakeTextChannel(guild=guild)
        )
        message.reply = collector
        messages.append(message)
    return messages


async def pipeline_timings(cog: Any, messages: Sequence[Any]) -> list[float]:
    """Milliseconds per ``on_message`` from the message to the reply payload (embeds) built."""
    timings = []
    for message in messages:
        started = time.perf_counter()
        await cog.on_message(message)
        timings.append((time.perf_counter() - started) * 1000)
    return timings


async def burst(cog: Any, messages: Sequence[Any]) -> list[float]:
    """Milliseconds to each message's end when all arrive at once."""
    started = time.perf_counter()

    async def one(message: Any) -> float:
        await cog.on_message(message)
        return (time.perf_counter() - started) * 1000

    return list(await asyncio.gather(*(one(m) for m in messages)))


def article_html(path: Path) -> bytes:
    """The shared example article as a page: first line the headline, second the standfirst."""
    import html

    lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    title, standfirst, body = lines[0], lines[1], lines[2:]
    paragraphs = "\n".join(f"<p>{html.escape(p)}</p>" for p in body)
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title>"
        f"<meta name='description' content='{html.escape(standfirst, quote=True)}'>"
        f"</head><body><article><h1>{html.escape(title)}</h1>"
        f"<p><em>{html.escape(standfirst)}</em></p>{paragraphs}</article></body></html>"
    ).encode()


# --- factbot import --------------------------------------------------------------------------


def import_rate(
    gen: Generator, folder: Path, count: int, *, semantic: bool = False
) -> dict[str, float]:
    """Records per second of ``factbot import FILE`` (a ClaimReview DataFeed) into a new store;
    with ``semantic``, the claims' sentence vectors are computed as part of the import."""
    from bot import cli

    name = "semantic" if semantic else "lexical"
    feed = folder / f"feed-{name}.json"
    feed.write_text(
        json.dumps(
            {
                "@context": "https://schema.org",
                "@type": "DataFeed",
                "dataFeedElement": [gen.claim_review(i) for i in range(count)],
            }
        ),
        encoding="utf-8",
    )
    config = folder / f"bench-{name}.toml"
    mode = "auto" if semantic else "off"
    config.write_text(f'[matching]\nsemantic = "{mode}"\n', encoding="utf-8")
    db = folder / f"import-{name}.db"
    out = io.StringIO()
    started = time.perf_counter()
    with contextlib.redirect_stdout(out):
        code = cli.main(["import", str(feed), "--db", str(db), "--config", str(config)])
    elapsed = time.perf_counter() - started
    if code != 0 or f"{count} created" not in out.getvalue():
        raise SystemExit(f"factbot import failed ({code}): {out.getvalue()!r}")
    return {"records_per_s": count / elapsed, "seconds": elapsed, "records": count}


def timed(function: Callable[..., Any], *args: Any) -> tuple[Any, float]:
    started = time.perf_counter()
    return function(*args), time.perf_counter() - started
