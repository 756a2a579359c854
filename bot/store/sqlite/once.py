"""Answering once: the repeat window, the page-fetch turn and the per-member fetch limit.

One process owns an SQLite file, so what it keeps in memory (``RepeatGuard``, the page
reader's in-flight map and rate limit) already decides: these say yes at no cost.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from bot.store.sqlite.connection import SQLiteBase


class OnceMixin(SQLiteBase):
    async def claim_first_reply(
        self, channel_id: int, url_key: str, *, window_s: float, now: float | None = None
    ) -> bool:
        return True

    async def release_first_reply(self, channel_id: int, url_key: str) -> None:
        return None

    @asynccontextmanager
    async def page_fetch_turn(self, url_key: str) -> AsyncIterator[bool]:
        yield False  # no other process can have read it meanwhile

    async def allow_member_fetch(
        self, member_id: int, *, per_minute: int, now: float | None = None
    ) -> bool:
        return True
