"""The page cache (what a fetched page said) and the fingerprints that find copies of it."""

from __future__ import annotations

import time
from dataclasses import replace

from bot.store.models import CachedPage
from bot.store.postgres.connection import PostgresBase

_PAGE_COLUMNS = (
    "url_key, expires_at, final_url, title, site_name, description, published, lead, "
    "canonical_url, og_url, error, fingerprint, text"
)


class PagesMixin(PostgresBase):
    async def cached_page(self, url_key: str, *, now: float | None = None) -> CachedPage | None:
        rows = await self._fetch(
            f"SELECT {_PAGE_COLUMNS} FROM page_cache WHERE url_key = $1 AND expires_at > $2",
            url_key,
            time.time() if now is None else float(now),
        )
        if not rows:
            return None
        page = CachedPage(*rows[0])
        if page.fingerprint is not None:
            page = replace(page, fingerprint=page.fingerprint & 0xFFFFFFFFFFFFFFFF)
        return page

    async def cache_page(self, page: CachedPage, *, final_key: str | None = None) -> None:
        """Cache what a page said; its fingerprint is kept after the cache entry expires.

        ``final_key`` is the canonical key of the page actually read (after redirects).
        """
        signed = None if page.fingerprint is None else _signed64(page.fingerprint)
        updates = ", ".join(f"{name} = EXCLUDED.{name}" for name in _PAGE_COLUMNS.split(", ")[1:])
        async with self._write() as db:
            await db.execute(
                f"INSERT INTO page_cache ({_PAGE_COLUMNS}) "
                f"VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) "
                f"ON CONFLICT (url_key) DO UPDATE SET {updates}",
                page.url_key,
                float(page.expires_at),
                page.final_url,
                page.title,
                page.site_name,
                page.description,
                page.published,
                page.lead,
                page.canonical_url,
                page.og_url,
                page.error,
                signed,
                page.text,
            )
            if page.fingerprint is not None:
                await db.execute(
                    "INSERT INTO article_fingerprints "
                    "(url_key, final_key, fingerprint, band0, band1, band2, band3) "
                    "VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (url_key) DO UPDATE SET "
                    "final_key = EXCLUDED.final_key, fingerprint = EXCLUDED.fingerprint, "
                    "band0 = EXCLUDED.band0, band1 = EXCLUDED.band1, band2 = EXCLUDED.band2, "
                    "band3 = EXCLUDED.band3",
                    page.url_key,
                    final_key or page.url_key,
                    signed,
                    *_bands(page.fingerprint),
                )
            await db.execute("DELETE FROM page_cache WHERE expires_at < $1", time.time() - 86400)

    async def similar_fingerprints(self, fingerprint: int) -> list[tuple[str, str, int]]:
        """(url_key, final_key, fingerprint) of articles sharing at least one 16-bit band."""
        rows = await self._fetch(
            "SELECT url_key, final_key, fingerprint FROM article_fingerprints "
            "WHERE band0 = $1 OR band1 = $2 OR band2 = $3 OR band3 = $4",
            *_bands(fingerprint),
        )
        return [(r[0], r[1], r[2] & 0xFFFFFFFFFFFFFFFF) for r in rows]


def _bands(fingerprint: int) -> tuple[int, int, int, int]:
    return (
        fingerprint & 0xFFFF,
        (fingerprint >> 16) & 0xFFFF,
        (fingerprint >> 32) & 0xFFFF,
        (fingerprint >> 48) & 0xFFFF,
    )


def _signed64(value: int) -> int:
    """BIGINT is signed 64-bit."""
    return value - (1 << 64) if value >= 1 << 63 else value
