"""The SQLite engine (aiosqlite): the default store, one file, one process."""

from __future__ import annotations

from bot.store.sqlite.audit import AuditMixin
from bot.store.sqlite.imports import ImportMixin
from bot.store.sqlite.pages import PagesMixin
from bot.store.sqlite.sources import SourcesMixin
from bot.store.sqlite.vectors import VectorsMixin


class SQLiteStore(ImportMixin, SourcesMixin, PagesMixin, VectorsMixin, AuditMixin):
    """The claims store on one SQLite file: ``await SQLiteStore.open(path)``, then ``close()``."""


__all__ = ["SQLiteStore"]
