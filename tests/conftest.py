from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.services import open_store
from bot.store import Store
from tests.servers import LocalServer, NetworkTripwire


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    """A real store on a fresh SQLite file, with the real migrations and text normaliser."""
    opened = await open_store(str(tmp_path / "factbot.db"))
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture(autouse=True)
def network_tripwire(monkeypatch: pytest.MonkeyPatch) -> NetworkTripwire:
    """Fail any test the moment it tries to reach beyond loopback or to resolve a name."""
    return NetworkTripwire().install(monkeypatch)


@pytest.fixture
async def http_server() -> AsyncIterator[LocalServer]:
    """A real HTTP server on 127.0.0.1 whose routes the test defines."""
    async with LocalServer() as server:
        yield server
