"""A reply while another process imports: ``python benchmarks/reply_during_import.py``.

A long ``factbot import`` holds SQLite's write lock for its SQL. This measures what a member
posting a new link sees meanwhile: the bot's ``on_message`` (spec'd fakes, the real store, the
fetcher against a page server on 127.0.0.1) for one new link at a time, first with no import
running, then while a ``factbot import`` of N synthetic ClaimReview records (default 50,000)
runs in another process on the same store. Prints one JSON object: reply latency p50/p95/max in
ms for both, how many replies fell inside the import (``--records N``), its own time, and how
long another writer (a claim added before each reply) waited for the import's write lock.

Set-up as ``benchmarks/run.py`` (``--data DIR``, default ``../shared/data``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import scenarios, synthetic  # noqa: E402
from bot.evaluation import percentile  # noqa: E402


def summary(latencies: list[float]) -> dict[str, Any]:
    if not latencies:
        return {"replies": 0}
    return {
        "replies": len(latencies),
        "p50_ms": round(percentile(latencies, 50), 1),
        "p95_ms": round(percentile(latencies, 95), 1),
        "max_ms": round(max(latencies), 1),
    }


async def measure(data_dir: Path, records: int, tmp: Path) -> dict[str, Any]:
    from bot.store import NewClaim, Source
    from tests.servers import LocalServer

    gen = synthetic.Generator(synthetic.load_vocabulary(data_dir / "claimmatch"))
    feed = tmp / "feed.json"
    feed.write_text(
        json.dumps({"dataFeedElement": [gen.claim_review(i) for i in range(records)]}),
        encoding="utf-8",
    )
    lexical = tmp / "lexical.toml"
    lexical.write_text('[matching]\nsemantic = "off"\n', encoding="utf-8")
    db = tmp / "bot.db"
    async with LocalServer() as server:
        config = scenarios.bench_config(
            allowed_private_networks=("127.0.0.0/8",), allowed_ports=(80, 443, server.port)
        )
        async with scenarios.offline_bot(config, db) as (bot, cog):
            store = bot.services.store
            serial = 0
            writes: list[float] = []  # another writer (a moderator's claims add) meanwhile

            async def one_reply() -> float:
                # A new article each time: read from the server, cached, answered by URL.
                nonlocal serial
                serial += 1
                path = f"/news/2026/story-{serial}"
                title = f"Harbour story {serial}"
                body = f"<html><head><title>{title}</title></head><body><p>{title}.</p></body>"
                server.route(path, body=body.encode())
                url = server.url(path)
                write_started = time.perf_counter()
                await store.add_claim(
                    NewClaim(
                        f"Claim {serial}",
                        "false",
                        urls=(url,),
                        sources=(Source("https://fc.example.org/x", None, "fact-check"),),
                    ),
                    actor="bench",
                    guild_id=None,
                )
                writes.append((time.perf_counter() - write_started) * 1000)
                collector = scenarios.ReplyCollector()
                (message,) = scenarios.link_messages([f"look {url}"], collector)
                started = time.perf_counter()
                await cog.on_message(message)
                elapsed = (time.perf_counter() - started) * 1000
                assert collector.sent, "no reply"
                return elapsed

            quiet = [await one_reply() for _ in range(30)]
            writes.clear()
            command = ["import", str(feed), "--db", str(db), "--config", str(lexical)]
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot",
                *command,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            started = time.perf_counter()
            during: list[float] = []
            while process.returncode is None:
                during.append(await one_reply())
                await asyncio.sleep(0.05)  # a member posts now and then, not in a tight loop
            await process.wait()
            import_s = time.perf_counter() - started
    return {
        "records": records,
        "import_s": round(import_s, 1),
        "import_exit": process.returncode,
        "quiet": summary(quiet),
        "during_import": summary(during),
        "claims_add_during_import": summary(writes),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=50_000)
    parser.add_argument("--data", type=Path, default=synthetic.SHARED_DATA, metavar="DIR")
    args = parser.parse_args()
    if not (args.data / "claimmatch").is_dir():
        print(f"reply_during_import: {args.data / 'claimmatch'} not found", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="factbot-reply-import-") as name:
        figures = asyncio.run(measure(args.data, args.records, Path(name)))
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
