from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.services import open_store
from bot.store import Store
from tests.servers import LocalServer, NetworkTripwire

# The shared data folder sits beside the repository (in CI too: a fresh clone with shared/ copied
# beside it). Tests read it from there; it is never copied into the repository.
SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture
def shared_data() -> Path:
    assert SHARED_DATA.is_dir(), f"shared data not found at {SHARED_DATA}"
    return SHARED_DATA


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
