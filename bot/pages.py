"""Reading a linked page: safe fetch, article extraction, and a cache that survives restarts."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from urllib.parse import urlsplit

from bot import links
from bot.article import read_article
from bot.config import PagesConfig
from bot.fetch import Fetcher, FetchError
from bot.fingerprint import simhash
from bot.store import CachedPage, Store, StoreError

log = logging.getLogger(__name__)

MAX_RATE_LIMITED_USERS = 10_000


class UserRateLimit:
    """At most ``per_minute`` fetches a user in any sliding minute."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._recent: dict[int, deque[float]] = {}

    def allow(self, user_id: int, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        if len(self._recent) > MAX_RATE_LIMITED_USERS:
            self._recent.clear()  # a bounded map: forgetting is safer than growing without limit
        recent = self._recent.setdefault(user_id, deque())
        while recent and now - recent[0] >= 60:
            recent.popleft()
        if len(recent) >= self.per_minute:
            return False
        recent.append(now)
        return True


class PageReader:
    """What a page says, from the cache when fresh, else fetched and extracted (then cached)."""

    def __init__(self, store: Store, fetcher: Fetcher, config: PagesConfig) -> None:
        self.store = store
        self.fetcher = fetcher
        self.config = config
        self.rate_limit = UserRateLimit(config.user_fetches_per_minute)
        self._in_flight: dict[str, asyncio.Future[CachedPage]] = {}
        # Pages read but not yet in the store: a reply never waits for a cache write (a long
        # import can hold the store's write lock for seconds), and the next message with the
        # same link is answered from here meanwhile.
        self._unwritten: dict[str, CachedPage] = {}
        self._writes: set[asyncio.Task[None]] = set()
        # The cache write of each page this process read, for the fetch turn to wait on.
        self._written: dict[str, list[asyncio.Task[None]]] = {}

    async def read(self, url: str, url_key: str, *, user_id: int | None = None) -> CachedPage:
        unwritten = self._unwritten.get(url_key)
        if unwritten is not None and unwritten.expires_at > time.time():
            return unwritten
        cached = await self.store.cached_page(url_key)
        if cached is not None:
            return cached
        pending = self._in_flight.get(url_key)
        if pending is not None:
            # Many messages with one new link: one fetch, one extraction, one cache write.
            return await asyncio.shield(pending)
        if user_id is not None and not await self._allow(user_id):
            # Not cached: a rate-limited read is the user's, not the page's.
            return CachedPage(url_key=url_key, expires_at=0, error="rate limited")
        task = asyncio.ensure_future(self._fetch_once(url, url_key))
        self._in_flight[url_key] = task
        task.add_done_callback(lambda _: self._in_flight.pop(url_key, None))
        return await asyncio.shield(task)

    async def _allow(self, user_id: int) -> bool:
        # This process's count first (free); the store's counts the member's fetches in every
        # process sharing it (SQLite's always allows: one process owns the file).
        if not self.rate_limit.allow(user_id):
            return False
        return await self.store.allow_member_fetch(
            user_id, per_minute=self.config.user_fetches_per_minute
        )

    async def _fetch_once(self, url: str, url_key: str) -> CachedPage:
        # Other processes sharing the store may be reading the same new link: one reads it,
        # the others wait for their turn and find it cached. The turn is held (in the
        # background: the reply does not wait) until the page is in the store.
        answer: asyncio.Future[CachedPage] = asyncio.get_running_loop().create_future()
        turn = asyncio.create_task(self._take_turn(url, url_key, answer), name="page turn")
        self._writes.add(turn)
        turn.add_done_callback(self._writes.discard)
        return await answer

    async def _take_turn(self, url: str, url_key: str, answer: asyncio.Future[CachedPage]) -> None:
        try:
            async with self.store.page_fetch_turn(url_key) as shared:
                if shared:
                    cached = await self.store.cached_page(url_key)
                    if cached is not None:
                        answer.set_result(cached)
                        return
                page = await self._fetch_and_cache(url, url_key)
                answer.set_result(page)
                writes = self._written.pop(url_key, [])
                if shared:
                    await asyncio.gather(*writes)
        except asyncio.CancelledError:
            answer.cancel()
            raise
        except Exception as exc:
            if not answer.done():
                answer.set_exception(exc)
            else:
                log.warning("holding the fetch turn of %s failed: %s", url_key, exc)

    async def _fetch_and_cache(self, url: str, url_key: str) -> CachedPage:
        # A named wrapper (Google, Facebook, an archive...) is not fetched: its target is, so
        # what is read is the article the key names and nothing else (see links.QUERY_WRAPPERS).
        fetch_url = links.unwrap_redirect(url)
        if links.canonical_url_or_none(fetch_url) != url_key:
            # Whatever is read from another address belongs under that address's key: caching
            # it under this one would let one link answer for another article everywhere.
            log.warning("not reading %s: the link's key is not %s", fetch_url[:200], url_key)
            return CachedPage(url_key=url_key, expires_at=0, error="link does not match its key")
        try:
            fetched = await self.fetcher.fetch(fetch_url)
        except FetchError as exc:
            log.info("fetch of %s failed: %s", url_key, exc.reason)
            page = CachedPage(
                url_key=url_key,
                expires_at=time.time() + self.config.failure_ttl_minutes * 60,
                error=exc.reason,
            )
        else:
            article = await read_article(fetched.html, fetched.final_url)
            page = CachedPage(
                url_key=url_key,
                expires_at=time.time() + self.config.cache_ttl_hours * 3600,
                final_url=fetched.final_url,
                title=article.title,
                site_name=article.site_name,
                description=article.description,
                published=article.published,
                lead=article.lead,
                text=article.text,
                canonical_url=article.canonical_url,
                og_url=article.og_url,
                fingerprint=simhash(article.lead)
                if is_article_page(fetch_url, fetched.final_url)
                else None,
            )
        self._unwritten[url_key] = page
        write = asyncio.create_task(self._write(page), name=f"cache {url_key[:80]}")
        self._writes.add(write)
        write.add_done_callback(self._writes.discard)
        self._written.setdefault(url_key, []).append(write)
        return page

    async def _write(self, page: CachedPage) -> None:
        try:
            await self.store.cache_page(page, final_key=links.canonical_url_or_none(page.final_url))
        except StoreError as exc:
            # A busy store (a long import): the page was still read and answered from.
            log.warning("could not cache %s: %s", page.url_key, exc)
        finally:
            if self._unwritten.get(page.url_key) is page:
                del self._unwritten[page.url_key]

    def unwritten_fingerprints(self) -> list[tuple[str, str | None, int]]:
        """(url_key, final_key, fingerprint) of pages read but not yet stored, as the store's
        ``similar_fingerprints`` gives them: a copy posted right after the original is still
        recognised."""
        return [
            (key, links.canonical_url_or_none(page.final_url), page.fingerprint)
            for key, page in self._unwritten.items()
            if page.fingerprint is not None
        ]

    async def wait_for_writes(self) -> None:
        """Let the cache writes still pending finish (before the store closes)."""
        while self._writes:
            await asyncio.gather(*self._writes, return_exceptions=True)


def is_article_page(url: str, final_url: str) -> bool:
    """Whether the page read is the article itself, not where a site sends every visitor.

    Consent walls, paywalls and removed articles redirect many different articles to one
    page (often on another host, or the home page): fingerprinting that page would make every
    article that lands there a "copy" of the first one.
    """
    if final_url == url:
        return True
    path = urlsplit(final_url).path
    if path in ("", "/"):
        return False
    if links.is_shortener(url):
        return True
    return links.same_site(url, final_url)
