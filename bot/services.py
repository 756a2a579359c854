"""Start-up wiring shared by ``factbot run`` and the other subcommands: open, use, close."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx

from bot import matching
from bot.checking import Checker
from bot.config import Config
from bot.fetch import Fetcher, make_client
from bot.pages import PageReader
from bot.ranking import Ranker
from bot.store import Store, open_target

log = logging.getLogger(__name__)


@dataclass
class Services:
    config: Config
    store: Store
    checker: Checker
    http: httpx.AsyncClient | None


def load_ranker(config: Config) -> Ranker:
    """The semantic stage when configured and installed, else lexical only."""
    if config.matching.semantic == "off":
        return Ranker()
    from bot import semantic

    if not semantic.semantic_available():
        return Ranker()
    try:
        embedder = semantic.load_embedder()
    except semantic.SemanticUnavailable as exc:
        log.warning("semantic matching off: %s", exc)
        return Ranker()
    return Ranker(embedder)


#: How every store opened here turns a text into its index terms (an import computes them ahead).
INDEX_TERMS = matching.index_terms


async def open_store(target: str, *, create: bool = True) -> Store:
    """The store at ``target`` (a file path, or a ``postgresql://`` URL); ``create=False``: only
    an existing, up-to-date one (read commands)."""
    store = await open_target(target, create=create)
    try:
        await store.use_index_terms(INDEX_TERMS, matching.INDEX_TERMS_VERSION)
    except BaseException:
        await store.close()
        raise
    return store


@asynccontextmanager
async def open_services(
    config: Config,
    *,
    db_path: str | None = None,
    fetch_pages: bool = True,
    ranker: Ranker | None = None,
    create: bool = True,
) -> AsyncIterator[Services]:
    """The store, the HTTP client and the checker, closed again on exit."""
    store = await open_store(config.store.target if db_path is None else db_path, create=create)
    http: httpx.AsyncClient | None = None
    try:
        reader = None
        if fetch_pages and config.pages.enabled:
            http = make_client(config.fetch)
            reader = PageReader(store, Fetcher(http, config.fetch), config.pages)
        checker = Checker(
            store=store,
            config=config,
            reader=reader,
            ranker=ranker if ranker is not None else load_ranker(config),
        )
        yield Services(config=config, store=store, checker=checker, http=http)
    finally:
        if reader is not None:
            await reader.wait_for_writes()
        if http is not None:
            await http.aclose()
        await store.close()
