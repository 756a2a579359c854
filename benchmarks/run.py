"""factbot's benchmarks: ``python benchmarks/run.py [--quick] [--json] [--data DIR]``.

Builds its data in a temporary folder (synthetic claims from the vocabulary of the CLEF vclaims
in ``DIR/claimmatch/``, by default ``../shared/data/claimmatch/``, synthetic URLs), runs each
scenario through factbot's own code (the store API, the ``on_message`` handler, the fetcher
against a server on 127.0.0.1, the ``factbot import`` command) and prints one JSON object of
figures on stdout; progress goes to stderr. ``--quick`` uses small sizes (a smoke run, under a
minute); the full run takes a few minutes on 2 cores. No figure is checked against its target
here: the table marks misses.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

# Run as a script, only this folder is on sys.path: the repository root is added, for this
# package and for tests.servers and tests.fakes (the project's local HTTP server and fakes).
ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import live, scenarios, synthetic  # noqa: E402
from benchmarks.scenarios import log  # noqa: E402
from bot.evaluation import percentile  # noqa: E402

FULL: dict[str, Any] = {
    "claims": (10_000, 100_000),  # measured at both sizes; the last is the main figure
    "urls_per_claim": 10,
    "lookups": 20_000,  # half known keys, half unknown
    "articles": 300,
    "long_articles": 60,
    "scan_messages": 300_000,
    "pipeline_messages": 300,
    "burst_messages": 200,
    "burst_delay_s": 0.2,
    "import_records": 20_000,
    "import_semantic_records": 5_000,
    "map_queries": None,  # all dev queries
    "map_claims": None,  # all verified claims
    "audit_rows": 1_000_000,
    "polls": 2000,
}
QUICK: dict[str, Any] = {
    **FULL,
    "claims": (1_000, 3_000),
    "lookups": 2_000,
    "articles": 40,
    "long_articles": 6,
    "scan_messages": 30_000,
    "pipeline_messages": 40,
    "import_records": 1_000,
    "import_semantic_records": 200,
    "map_queries": 40,
    "map_claims": 2_000,
    "audit_rows": 20_000,
    "polls": 500,
}
CLEF_2022 = "claimmatch/clef2022_task2a_en"  # under --data

# figure -> (target, "max" | "min" | "eq") for the table; the targets for the full run.
TARGETS: dict[str, tuple[float, str]] = {
    "url_lookup_p99_us": (500, "max"),
    "url_lookup_raw_ratio": (3, "max"),
    "content_match_p99_ms": (20, "max"),
    "article_match_p95_ms": (50, "max"),
    "article_match_semantic_p95_ms": (150, "max"),
    "bm25s_ratio": (1.0, "max"),
    "scan_msgs_per_s": (200_000, "min"),
    "pipeline_cached_p50_ms": (2, "max"),
    "burst_fetches": (1, "eq"),
    "burst_p99_ms": (400, "max"),
    "import_records_per_s": (5_000, "min"),
    "import_semantic_records_per_s": (500, "min"),
    "rss_mb": (150, "max"),
    "startup_s": (1, "max"),
    "change_poll_ms": (1, "max"),
    "change_poll_p99_ms": (1, "max"),
    "reply_record_ms": (1, "max"),
    "reply_record_p99_ms": (1, "max"),
}


def size_label(claims: int) -> str:
    return f"{claims // 1000}k" if claims % 1000 == 0 else str(claims)


def semantic_ranker() -> Any:
    """The bot's semantic ranker when the extra is installed, else None."""
    from bot import semantic
    from bot.ranking import Ranker

    if not semantic.semantic_available():
        log("semantic extra not installed: no article_match_semantic figures")
        return None
    return Ranker(semantic.load_embedder())


async def store_scenarios(
    sizes: dict[str, Any],
    tmp: Path,
    figures: dict[str, Any],
    data_dir: Path,
    stores: dict[str, str] | None = None,
) -> Any:
    """Lookups and content matching at each size, bm25s, MAP@5. Returns the built store's data.

    ``stores``: PostgreSQL schemas ({"bench": url, "clef": url}) instead of SQLite files; then
    bm25s (which does not depend on the engine) is left out.
    """
    from bot.services import open_store

    vocab = synthetic.load_vocabulary(data_dir / "claimmatch")
    gen = synthetic.Generator(vocab)
    ranker = semantic_ranker()
    data = scenarios.StoreData(path=stores["bench"] if stores else tmp / "bench.db")
    misses = scenarios.miss_keys(gen, sizes["lookups"] // 2)
    articles: list[str] = []
    for claims in sizes["claims"]:
        label = size_label(claims)
        log(f"building the store up to {claims} claims, {claims * sizes['urls_per_claim']} URLs")
        await scenarios.grow_store(data, gen, claims, urls_per_claim=sizes["urls_per_claim"])
        rate = data.imported / data.import_s
        log(f"  import path {rate:,.0f} claims/s, bulk URLs {data.raw_s:.1f}s")
        hits = gen.rng.sample(data.hit_keys, len(misses))
        # Half the articles restate a stored claim, half are about nothing stored.
        claim_texts = [t.split("\n", 1)[0] for t in data.texts]
        picks = gen.rng.sample(claim_texts, sizes["articles"] // 2)
        articles = [gen.article(text) for text in picks]
        articles += [gen.article() for _ in range(sizes["articles"] - len(articles))]
        store = await open_store(str(data.path))
        try:
            log(f"  {len(misses) * 2} URL lookups at {label}")
            lookups = await scenarios.measure_lookups(store, data.path, hits, misses)
            log(f"  {len(articles)} content matches at {label}")
            await scenarios.content_matches(store, articles[:10])  # warm-up
            content_ms = await scenarios.content_matches(store, articles)
            # 5,000-word pages, half of them repeating three stored claims each.
            pages = [
                gen.long_article(gen.rng.sample(claim_texts, 3) if i % 2 else ())
                for i in range(sizes["long_articles"])
            ]
            log(f"  {len(pages)} 5,000-word pages at {label}")
            await scenarios.content_matches(store, pages[:3])  # warm-up
            page_ms = await scenarios.content_matches(store, pages)
            if ranker is not None:
                log(f"  the same pages with the semantic stage at {label}")
                await scenarios.semantic_matches(store, ranker, pages)  # embeds their claims
                semantic_ms = await scenarios.semantic_matches(store, ranker, pages)
                for q in (50, 95):
                    value = round(percentile(semantic_ms, q), 3)
                    figures[f"article_match_semantic_p{q}_ms_{label}"] = value
                    figures[f"article_match_semantic_p{q}_ms"] = value
        finally:
            await store.close()
        for name in ("p50_us", "p99_us", "hit_p50_us", "miss_p50_us", "raw_p50_us", "raw_ratio"):
            value = lookups[name]
            figures[f"url_lookup_{name}_{label}"] = None if value is None else round(value, 2)
        figures[f"content_match_p50_ms_{label}"] = round(percentile(content_ms, 50), 3)
        figures[f"content_match_p99_ms_{label}"] = round(percentile(content_ms, 99), 3)
        figures[f"article_match_p50_ms_{label}"] = round(percentile(page_ms, 50), 3)
        figures[f"article_match_p95_ms_{label}"] = round(percentile(page_ms, 95), 3)
        figures["article_match_p50_ms"] = figures[f"article_match_p50_ms_{label}"]
        figures["article_match_p95_ms"] = figures[f"article_match_p95_ms_{label}"]
        figures["url_lookup_p50_us"] = figures[f"url_lookup_p50_us_{label}"]
        figures["url_lookup_p99_us"] = figures[f"url_lookup_p99_us_{label}"]
        figures["url_lookup_raw_ratio"] = figures[f"url_lookup_raw_ratio_{label}"]
        figures["content_match_p50_ms"] = figures[f"content_match_p50_ms_{label}"]
        figures["content_match_p99_ms"] = figures[f"content_match_p99_ms_{label}"]
        last_content_ms = content_ms
        log(f"  start-up and memory at {label}, each in a fresh process")
        work = {
            "keys": gen.rng.sample(data.hit_keys, 1000) + misses[:1000],
            "articles": articles[:50],
            "messages": scenarios.linkless_texts(data_dir / CLEF_2022, 1000),
        }
        footprint(data, tmp, work, figures, label)
    figures["build_import_claims_per_s"] = round(data.imported / data.import_s)
    figures["build_bulk_urls_s"] = round(data.raw_s, 1)

    if stores:
        log("MAP@5 on clef2022_task2a_en dev (factbot rank_claims)")
        scores = await scenarios.clef_map(
            stores["clef"],
            data_dir / CLEF_2022,
            sizes["map_queries"],
            sizes["map_claims"],
            bm25s=False,
        )
        figures["map5_factbot"] = round(scores["factbot"], 4)
        figures["map5_queries"] = scores["queries"]
        figures["map5_claims"] = scores["claims"]
        return data, gen

    log(f"bm25s over the same {data.claims} claims")
    index = scenarios.Bm25sIndex(data.texts)
    index.timings(articles[:10])
    bm25s_ms = index.timings(articles)
    figures["bm25s_index_s"] = round(index.build_s, 1)
    figures["bm25s_p50_ms"] = round(percentile(bm25s_ms, 50), 3)
    figures["bm25s_p99_ms"] = round(percentile(bm25s_ms, 99), 3)
    figures["bm25s_ratio"] = round(percentile(last_content_ms, 50) / percentile(bm25s_ms, 50), 3)
    del index

    log("MAP@5 on clef2022_task2a_en dev (factbot rank_claims vs bm25s)")
    scores = await scenarios.clef_map(
        tmp / "clef.db", data_dir / CLEF_2022, sizes["map_queries"], sizes["map_claims"]
    )
    figures["map5_factbot"] = round(scores["factbot"], 4)
    figures["map5_bm25s"] = round(scores["bm25s"], 4)
    figures["map5_queries"] = scores["queries"]
    figures["map5_claims"] = scores["claims"]
    return data, gen


async def bot_scenarios(
    sizes: dict[str, Any], data: Any, gen: Any, figures: dict[str, Any], data_dir: Path
) -> None:
    """on_message: link-less scan, cached pipeline, burst against 127.0.0.1."""
    import time as clock

    from bot.fingerprint import simhash
    from bot.store import CachedPage
    from tests.servers import LocalServer

    texts = scenarios.linkless_texts(data_dir / CLEF_2022, 2000)
    async with LocalServer() as server:
        server.route(
            "/burst/article",
            body=scenarios.article_html(data_dir / "example-article.txt"),
            delay=sizes["burst_delay_s"],
        )
        config = scenarios.bench_config(
            allowed_private_networks=("127.0.0.0/8",), allowed_ports=(80, 443, server.port)
        )
        async with scenarios.offline_bot(config, data.path) as (bot, cog):
            log(f"on_message: {sizes['scan_messages']} link-less messages")
            rate = await scenarios.scan_rate(cog, texts, sizes["scan_messages"])
            figures["scan_msgs_per_s"] = round(rate)

            log(f"on_message: {sizes['pipeline_messages']} links with cached pages")
            store = bot.services.store
            count = sizes["pipeline_messages"]
            known = gen.rng.sample(data.hit_keys, count)
            unknown = [gen.url(2 * 10**9 + i) for i in range(count)]
            claim_texts = [t.split("\n", 1)[0] for t in data.texts]
            for key in known + unknown:
                about = gen.rng.choice(claim_texts)
                article = gen.article(about)
                title, lead = article.split("\n", 1)
                await store.cache_page(
                    CachedPage(
                        url_key=key,
                        expires_at=clock.time() + 3600,
                        final_url=key,
                        title=title,
                        lead=lead,
                        fingerprint=simhash(f"{title}\n{lead}"),
                    )
                )
            for name, keys in (("", known), ("_content", unknown)):
                collector = scenarios.ReplyCollector()
                messages = scenarios.link_messages(
                    [f"have you seen this? {gen.posted_form(k)} unbelievable" for k in keys],
                    collector,
                )
                await scenarios.pipeline_timings(cog, messages[:10])  # warm-up
                collector.sent.clear()
                timings = await scenarios.pipeline_timings(cog, messages[10:])
                figures[f"pipeline_cached{name}_p50_ms"] = round(percentile(timings, 50), 3)
                figures[f"pipeline_cached{name}_p99_ms"] = round(percentile(timings, 99), 3)
                figures[f"pipeline_cached{name}_replied"] = round(
                    len(collector.sent) / len(timings), 3
                )

            log(f"burst: {sizes['burst_messages']} messages with one new link at once")
            collector = scenarios.ReplyCollector()
            link = server.url("/burst/article")
            messages = scenarios.link_messages(
                [f"breaking {link}"] * sizes["burst_messages"], collector
            )
            timings = await scenarios.burst(cog, messages)
            figures["burst_fetches"] = len(server.requests)
            figures["burst_p50_ms"] = round(percentile(timings, 50), 1)
            figures["burst_p99_ms"] = round(percentile(timings, 99), 1)
            figures["burst_replies"] = len(collector.sent)


def footprint(
    data: Any, tmp: Path, work: dict[str, Any], figures: dict[str, Any], label: str
) -> None:
    """Start-up time (median of 3) and peak memory of the bot process at this store size."""
    script = str(Path(__file__).with_name("footprint.py"))
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    starts = []
    for _ in range(3):
        started = time.perf_counter()
        with subprocess.Popen(
            [sys.executable, script, "startup", str(data.path)],
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        ) as child:
            assert child.stdout is not None
            line = child.stdout.readline()
            starts.append(time.perf_counter() - started)
            child.wait(timeout=60)
        if line.strip() != "ready" or child.returncode != 0:
            raise SystemExit(f"start-up probe failed ({child.returncode}): {line!r}")
    figures[f"startup_s_{label}"] = figures["startup_s"] = round(sorted(starts)[1], 3)

    work_path = tmp / "rss-work.json"
    work_path.write_text(json.dumps(work), encoding="utf-8")
    out = subprocess.run(
        [sys.executable, script, "rss", str(data.path), str(work_path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )
    if out.returncode != 0:
        raise SystemExit(f"memory probe failed: {out.stderr[-2000:]}")
    rss = json.loads(out.stdout.strip().splitlines()[-1])["rss_mb"]
    figures[f"rss_mb_{label}"] = figures["rss_mb"] = rss


# The figures first, each followed by its companions; per-size and build figures last.
HEADLINE = (
    "url_lookup_p50_us",
    "url_lookup_p99_us",
    "url_lookup_raw_ratio",
    "content_match_p50_ms",
    "content_match_p99_ms",
    "article_match_p50_ms",
    "article_match_p95_ms",
    "article_match_semantic_p50_ms",
    "article_match_semantic_p95_ms",
    "bm25s_ratio",
    "map5_factbot",
    "map5_bm25s",
    "scan_msgs_per_s",
    "pipeline_cached_p50_ms",
    "burst_fetches",
    "burst_p99_ms",
    "import_records_per_s",
    "rss_mb",
    "startup_s",
    "change_poll_ms",
    "reply_record_ms",
)


def ordered(figures: dict[str, Any]) -> dict[str, Any]:
    first = ["quick", "sizes", *HEADLINE]
    return {
        **{k: figures[k] for k in first if k in figures},
        **{k: v for k, v in figures.items() if k not in first},
    }


def table(figures: dict[str, Any]) -> str:
    lines = [f"{'figure':34} {'value':>14}  target"]
    for name, value in figures.items():
        if isinstance(value, dict | list):
            continue
        mark = ""
        if name in TARGETS and isinstance(value, int | float):
            target, kind = TARGETS[name]
            ok = {"max": value <= target, "min": value >= target, "eq": value == target}[kind]
            sign = {"max": "<=", "min": ">=", "eq": "=="}[kind]
            mark = f"{sign} {target:g}"
            if name == "bm25s_ratio":  # "at equal or better MAP@5"
                ok = ok and figures.get("map5_factbot", 0) >= figures.get("map5_bm25s", 1)
                mark += " at MAP@5 >= bm25s's"
            mark += " ok" if ok else " MISSED"
        shown = f"{value:,.3f}" if isinstance(value, float) else str(value)
        lines.append(f"{name:34} {shown:>14}  {mark}")
    return "\n".join(lines)


async def _schemas(base: str, names: tuple[str, ...]) -> dict[str, str]:
    """A new schema per name in ``base``'s database; their URLs."""
    import secrets
    from urllib.parse import urlencode, urlsplit, urlunsplit

    import asyncpg

    conn = await asyncpg.connect(base)
    try:
        urls = {}
        for name in names:
            schema = f"factbot_bench_{name}_{secrets.token_hex(4)}"
            await conn.execute(f"CREATE SCHEMA {schema}")
            parts = urlsplit(base)
            query = f"{parts.query}&" if parts.query else ""
            query += urlencode({"search_path": schema})
            urls[name] = urlunsplit(parts._replace(query=query))
        return urls
    finally:
        await conn.close()


async def _drop_schemas(base: str, urls: dict[str, str]) -> None:
    from urllib.parse import parse_qs, urlsplit

    import asyncpg

    conn = await asyncpg.connect(base)
    try:
        for url in urls.values():
            schema = parse_qs(urlsplit(url).query)["search_path"][-1]
            await conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    finally:
        await conn.close()


def postgres_main(base: str, sizes: dict[str, Any], *, as_json: bool, data_dir: Path) -> int:
    """The store and on_message scenarios on PostgreSQL, in schemas dropped at the end."""
    started = time.perf_counter()
    load_at_start = os.getloadavg()[0]
    figures: dict[str, Any] = {
        "store": "postgresql",
        "quick": sizes is QUICK,
        "sizes": {
            "claims": list(sizes["claims"]),
            "urls": [n * sizes["urls_per_claim"] for n in sizes["claims"]],
            "lookups": sizes["lookups"],
            "articles": sizes["articles"],
        },
    }
    stores = asyncio.run(_schemas(base, ("bench", "clef")))
    try:
        with tempfile.TemporaryDirectory(prefix="factbot-bench-") as name:
            data, gen = asyncio.run(store_scenarios(sizes, Path(name), figures, data_dir, stores))
            asyncio.run(bot_scenarios(sizes, data, gen, figures, data_dir))
    finally:
        asyncio.run(_drop_schemas(base, stores))
    figures["elapsed_s"] = round(time.perf_counter() - started, 1)
    figures["load_avg_1m"] = [round(load_at_start, 2), round(os.getloadavg()[0], 2)]
    figures["cpus"] = os.cpu_count()
    figures = ordered(figures)
    if not as_json:
        print(table(figures))
    print(json.dumps(figures))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    parser.add_argument("--json", action="store_true", help="print only the JSON object")
    parser.add_argument(
        "--live-only", action="store_true", help="only the change feed and reply recording"
    )
    parser.add_argument(
        "--data",
        type=Path,
        default=synthetic.SHARED_DATA,
        metavar="DIR",
        help="the evaluation data: claimmatch/ (CLEF CheckThat!) and example-article.txt "
        "(default: ../shared/data beside the repository)",
    )
    parser.add_argument(
        "--store",
        metavar="URL",
        help="measure PostgreSQL: temporary schemas in this postgresql:// database (the store, "
        "content, MAP@5 and on_message figures; the SQLite-only raw, live and import ones are "
        "left out)",
    )
    args = parser.parse_args(argv)
    needed = [args.data / CLEF_2022 / "vclaims.jsonl", args.data / "example-article.txt"]
    missing = [str(path) for path in needed if not path.is_file()]
    if missing and not args.live_only:
        print(f"benchmarks: {missing[0]} not found (see README 'Performance')", file=sys.stderr)
        return 2
    if args.store is not None:
        return postgres_main(
            args.store, QUICK if args.quick else FULL, as_json=args.json, data_dir=args.data
        )
    sizes = QUICK if args.quick else FULL
    started = time.perf_counter()
    load_at_start = os.getloadavg()[0]
    figures: dict[str, Any] = {
        "quick": args.quick,
        "sizes": {
            "claims": list(sizes["claims"]),
            "urls": [n * sizes["urls_per_claim"] for n in sizes["claims"]],
            "lookups": sizes["lookups"],
            "articles": sizes["articles"],
            "import_records": sizes["import_records"],
            "import_semantic_records": sizes["import_semantic_records"],
        },
    }
    with tempfile.TemporaryDirectory(prefix="factbot-bench-") as name:
        tmp = Path(name)
        asyncio.run(live.live_scenarios(sizes, tmp, figures))
        if args.live_only:
            figures = ordered(figures)
            print(table(figures) if not args.json else "")
            print(json.dumps(figures))
            return 0
        data, gen = asyncio.run(store_scenarios(sizes, tmp, figures, args.data))
        asyncio.run(bot_scenarios(sizes, data, gen, figures, args.data))
        log(f"factbot import of {sizes['import_records']} ClaimReview records")
        imported = scenarios.import_rate(gen, tmp, sizes["import_records"])
        figures["import_records_per_s"] = round(imported["records_per_s"])
        from bot.semantic import semantic_available

        if semantic_available():
            count = sizes["import_semantic_records"]
            log(f"factbot import of {count} ClaimReview records with the semantic extra")
            imported = scenarios.import_rate(gen, tmp, count, semantic=True)
            figures["import_semantic_records_per_s"] = round(imported["records_per_s"])
        else:
            log("semantic extra not installed: no import_semantic_records_per_s")
    figures["elapsed_s"] = round(time.perf_counter() - started, 1)
    # Other work on the machine shows up in every latency: the load says how quiet it was.
    figures["load_avg_1m"] = [round(load_at_start, 2), round(os.getloadavg()[0], 2)]
    figures["cpus"] = os.cpu_count()
    figures = ordered(figures)
    if not args.json:
        print(table(figures))
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
