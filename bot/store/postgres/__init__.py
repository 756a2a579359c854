"""The PostgreSQL engine (asyncpg): one store that several bot processes share."""

from __future__ import annotations

from bot.store.postgres.audit import AuditMixin
from bot.store.postgres.changes import ChangesMixin
from bot.store.postgres.imports import ImportMixin
from bot.store.postgres.pages import PagesMixin
from bot.store.postgres.replies import RepliesMixin
from bot.store.postgres.requests import RequestsMixin
from bot.store.postgres.retention import RetentionMixin
from bot.store.postgres.seen import SeenLinksMixin
from bot.store.postgres.settings import SettingsMixin
from bot.store.postgres.sources import SourcesMixin
from bot.store.postgres.vectors import VectorsMixin
from bot.store.postgres.votes import VotesMixin


class PostgresStore(
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
    """The claims store in a PostgreSQL schema: ``await PostgresStore.open(url)``, ``close()``."""


__all__ = ["PostgresStore"]
