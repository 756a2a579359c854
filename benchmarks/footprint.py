"""Start-up time and resident memory, each measured in a fresh process as the bot would run.

    python benchmarks/footprint.py startup DB   # prints "ready" once the bot is ready
    python benchmarks/footprint.py rss DB WORK.json   # runs the work, prints {"rss_mb": ...}

``startup``: what ``factbot run`` does before it connects to Discord: import the bot, open the
services (store opened and migrations checked, HTTP client, checker), build the bot and load its
extensions. The parent times it from process start to the "ready" line.

``rss``: the same bot, then the lookups, content matches and link-less messages listed in
``WORK.json``; reports the peak resident set size.
"""

from __future__ import annotations

import asyncio
import json
import resource
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


async def _ready(db: str) -> tuple[Any, Any]:
    from bot.client import FactBot
    from bot.config import Config, MatchingConfig
    from bot.services import open_services

    services_cm = open_services(Config(matching=MatchingConfig(semantic="off")), db_path=db)
    services = await services_cm.__aenter__()
    bot = FactBot(services)
    await bot.setup_hook()
    return services_cm, bot


async def startup(db: str) -> None:
    services_cm, bot = await _ready(db)
    print("ready", flush=True)
    await bot.close()  # stops the cogs' background loops before the store closes under them
    await services_cm.__aexit__(None, None, None)


async def rss(db: str, work_path: str) -> None:
    from bot import matching

    sys.path.insert(0, str(ROOT))
    from tests.fakes import FakeMessage

    work = json.loads(Path(work_path).read_text(encoding="utf-8"))
    services_cm, bot = await _ready(db)
    store = bot.services.store
    try:
        for key in work["keys"]:
            await store.claims_for_url_keys([key], guild_id=None)
        for text in work["articles"]:
            await matching.rank_claims(store, text, guild_id=None, limit=5)
        cog = bot.get_cog("Links")
        for text in work["messages"]:
            await cog.on_message(FakeMessage(content=text))
    finally:
        await bot.close()
        await services_cm.__aexit__(None, None, None)
    print(json.dumps({"rss_mb": round(peak_rss_mb(), 1)}), flush=True)


def peak_rss_mb() -> float:
    """This process's peak resident set size.

    VmHWM, not ``ru_maxrss``: on Linux the latter carries over the high-water mark of the
    process that forked this one (here the benchmark, which holds all the synthetic data).
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def main() -> None:
    mode, db, *rest = sys.argv[1:]
    if mode == "startup":
        asyncio.run(startup(db))
    elif mode == "rss":
        asyncio.run(rss(db, rest[0]))
    else:
        raise SystemExit(f"unknown mode {mode!r}")


if __name__ == "__main__":
    main()
