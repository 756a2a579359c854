"""How long ``factbot migrate-store`` takes: ``python benchmarks/migrate_store.py --claims N``.

Builds an SQLite store of N synthetic claims (two URLs and a fact-check source each) through
the import path, copies it to a new schema of a private PostgreSQL (``tests/postgres_server.py``,
or ``--store URL``: a database where this may create and drop a schema) and back to a new
SQLite file with the CLI's own ``main``, and prints the figures as JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402

from bot.cli import main  # noqa: E402
from bot.services import open_store  # noqa: E402
from bot.store import NewClaim, Source  # noqa: E402


async def build(path: str, claims: int) -> None:
    store = await open_store(path)
    try:
        for start in range(0, claims, 2000):
            records = [
                NewClaim(
                    claim=f"Claim number {i} says the bridge {i % 97} closes on day {i % 31}",
                    verdict="false",
                    note="A note.",
                    context=f"headline {i}",
                    urls=(f"https://news{i % 50}.example.com/a/{i}", f"https://m.example.org/{i}"),
                    sources=(Source(url=f"https://check.example.org/{i}", kind="fact-check"),),
                    external_id=f"x{i}",
                )
                for i in range(start, min(claims, start + 2000))
            ]
            await store.import_claims(records, actor="bench", guild_id=None)
    finally:
        await store.close()


async def _schema(dsn: str, sql: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def measure(dsn: str, claims: int) -> dict[str, Any]:
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    asyncio.run(_schema(dsn, f"CREATE SCHEMA {schema}"))
    sep = "&" if "?" in dsn else "?"
    url = f"{dsn}{sep}search_path={schema}"
    try:
        with tempfile.TemporaryDirectory(prefix="factbot-migrate-") as tmp:
            source = str(Path(tmp) / "source.db")
            asyncio.run(build(source, claims))
            # The command's per-table lines are progress here: stdout carries only the JSON.
            with contextlib.redirect_stdout(sys.stderr):
                started = time.perf_counter()
                to_pg = main(["migrate-store", "--from", source, "--to", url])
                to_pg_s = time.perf_counter() - started
                started = time.perf_counter()
                back = main(["migrate-store", "--from", url, "--to", str(Path(tmp) / "back.db")])
                back_s = time.perf_counter() - started
    finally:
        asyncio.run(_schema(dsn, f"DROP SCHEMA {schema} CASCADE"))
    if (to_pg, back) != (0, 0):
        raise SystemExit(f"migrate-store failed: exit {to_pg}, {back}")
    return {
        "claims": claims,
        "sqlite_to_postgresql_s": round(to_pg_s, 1),
        "postgresql_to_sqlite_s": round(back_s, 1),
    }


def run() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--claims", type=int, default=10_000)
    parser.add_argument("--store", metavar="URL", help="a PostgreSQL database (default: private)")
    args = parser.parse_args()
    if args.store:
        figures = measure(args.store, args.claims)
    else:
        from tests.postgres_server import PostgresCluster

        cluster = PostgresCluster.start()
        try:
            figures = measure(cluster.dsn(), args.claims)
        finally:
            cluster.stop()
    print(json.dumps(figures))


if __name__ == "__main__":
    run()
