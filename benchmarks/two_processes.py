"""Two bot processes on one PostgreSQL store: ``python benchmarks/two_processes.py``.

Two ``FactBot`` objects (each with its own store pool, HTTP client and memory, as two processes
have) against one private PostgreSQL (``tests/postgres_server.py``) in one schema. A burst of
``--messages`` messages carrying one new link, each in its own channel, is delivered to both at
once; the page is served by a counting HTTP server on 127.0.0.1. Run once as the code is
(``shared``) and once with the PostgreSQL engine's three "once" methods replaced by SQLite's
in-process ones (``in_process``), and print replies, page fetches and wall time as JSON; also
the cost of one repeat-window claim.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
import uuid
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402

from bot.client import FactBot  # noqa: E402
from bot.config import Config, FetchConfig  # noqa: E402
from bot.ranking import Ranker  # noqa: E402
from bot.services import open_services  # noqa: E402
from bot.store import NewClaim  # noqa: E402
from bot.store.postgres import PostgresStore  # noqa: E402
from bot.store.sqlite.once import OnceMixin as InProcess  # noqa: E402
from tests.fakes import FakeGuild, FakeMessage, FakeTextChannel  # noqa: E402
from tests.servers import LocalServer  # noqa: E402

ONCE_METHODS = ("claim_first_reply", "page_fetch_turn", "allow_member_fetch")


def _page(head: str) -> bytes:
    return (
        f"<!doctype html><html><head><title>Bridge closes</title>{head}</head><body><article>"
        "<h1>Bridge closes</h1><p>The bridge closes for repairs on Monday, the council said, "
        "and will reopen in spring after the works.</p></article></body></html>"
    ).encode()


async def burst(dsn: str, messages: int) -> dict[str, Any]:
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(dsn)
    await admin.execute(f"CREATE SCHEMA {schema}")
    url = f"{dsn}?search_path={schema}"
    try:
        async with LocalServer() as server, AsyncExitStack() as stack:
            config = Config(
                fetch=FetchConfig(
                    allowed_private_networks=("127.0.0.0/8",),
                    allowed_ports=(server.port,),
                    timeout_s=5.0,
                )
            )
            bots = []
            for _ in range(2):
                services = await stack.enter_async_context(
                    open_services(config, db_path=url, ranker=Ranker())
                )
                bot = FactBot(services)
                await bot.setup_hook()
                stack.push_async_callback(bot.close)
                bots.append(bot)
            article = server.url("/news/bridge-closure")
            await bots[0].services.store.add_claim(
                NewClaim("The bridge is closing for good", "misleading", urls=(article,)),
                actor="bench",
                guild_id=None,
            )
            server.route("/story.php", body=_page(f'<link rel="canonical" href="{article}">'))
            posted = server.url("/story.php?id=5")
            guild = FakeGuild()
            sent = [
                FakeMessage(content=posted, guild=guild, channel=FakeTextChannel(guild=guild))
                for _ in range(messages)
            ]
            cogs = [bot.get_cog("Links") for bot in bots]
            started = time.perf_counter()
            await asyncio.gather(*(cog.on_message(m) for m in sent for cog in cogs))  # type: ignore[union-attr]
            took = time.perf_counter() - started
            store = bots[1].services.store
            started = time.perf_counter()
            for i in range(200):
                await store.claim_first_reply(1, f"bench/{i}", window_s=600)
            claim_ms = (time.perf_counter() - started) / 200 * 1000
            return {
                "messages": messages,
                "replies": sum(m.reply.await_count for m in sent),
                "page_fetches": server.paths().count("/story.php"),
                "burst_ms": round(took * 1000),
                "claim_ms": round(claim_ms, 2),
            }
    finally:
        await admin.execute(f"DROP SCHEMA {schema} CASCADE")
        await admin.close()


def run() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=12)
    args = parser.parse_args()
    from tests.postgres_server import PostgresCluster

    cluster = PostgresCluster.start()
    figures: dict[str, Any] = {}
    try:
        figures["shared"] = asyncio.run(burst(cluster.dsn(), args.messages))
        for name in ONCE_METHODS:
            setattr(PostgresStore, name, getattr(InProcess, name))
        figures["in_process"] = asyncio.run(burst(cluster.dsn(), args.messages))
    finally:
        cluster.stop()
    print(json.dumps(figures))


if __name__ == "__main__":
    run()
