"""The SQLite engine (aiosqlite): the default store, one file, one process."""

from __future__ import annotations

from bot.store.sqlite.audit import AuditMixin
from bot.store.sqlite.changes import ChangesMixin
from bot.store.sqlite.imports import ImportMixin
from bot.store.sqlite.pages import PagesMixin
from bot.store.sqlite.replies import RepliesMixin
from bot.store.sqlite.requests import RequestsMixin
from bot.store.sqlite.retention import RetentionMixin
from bot.store.sqlite.seen import SeenLinksMixin
from bot.store.sqlite.settings import SettingsMixin
from bot.store.sqlite.sources import SourcesMixin
from bot.store.sqlite.vectors import VectorsMixin
from bot.store.sqlite.votes import VotesMixin


class SQLiteStore(
    ImportMixin,
    SourcesMixin,
    PagesMixin,
    VectorsMixin,
    AuditMixin,
    SettingsMixin,
    RepliesMixin,
    SeenLinksMixin,
    ChangesMixin,
    RequestsMixin,
    VotesMixin,
    RetentionMixin,
):
    """The claims store on one SQLite file: ``await SQLiteStore.open(path)``, then ``close()``."""


__all__ = ["SQLiteStore"]
