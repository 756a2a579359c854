"""The store's one interface: what every engine offers and everything above the store uses.

Code outside ``bot.store`` names :class:`Store` and opens one with :func:`bot.store.open_target`;
it never learns which engine (SQLite file or PostgreSQL) runs underneath.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, MutableMapping, Sequence
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any, Protocol, Self

from bot.store.models import (
    AuditEntry,
    CachedPage,
    CheckRequest,
    Claim,
    ClosedRequest,
    ImportResult,
    NewClaim,
    ReplyRecord,
    RequestItem,
    SeenLink,
    SettingRow,
    ShownLink,
    Source,
    SourceNote,
    VoteOutcome,
    VoteTally,
)

if TYPE_CHECKING:
    from bot.store.copying import TableCopy


class Store(Protocol):
    #: Where the store is (a file path, or a PostgreSQL URL without its password).
    path: str

    async def close(self) -> None: ...
    async def __aenter__(self) -> Self: ...
    async def __aexit__(self, *exc: object) -> None: ...

    # search
    async def use_index_terms(self, index_terms: Callable[[str], str], version: int) -> None: ...
    async def search_claims(
        self,
        match_expr: str,
        *,
        guild_id: int | None,
        limit: int,
        weights: tuple[float, float] = (1.0, 1.0),
    ) -> list[tuple[int, float]]: ...
    async def term_document_counts(self, terms: Sequence[str]) -> tuple[int, dict[str, int]]: ...
    async def indexed_terms(
        self, claim_ids: Sequence[int]
    ) -> dict[int, tuple[str, str, str | None, str | None]]: ...

    # claims
    async def get_claim(self, claim_id: int, *, guild_id: int | None) -> Claim: ...
    async def get_claims(
        self, claim_ids: Sequence[int], *, guild_id: int | None
    ) -> list[Claim]: ...
    async def claims_for_url_keys(
        self, keys: Sequence[str], *, guild_id: int | None
    ) -> dict[str, list[Claim]]: ...
    async def list_claims(
        self, *, guild_id: int | None, include_global: bool = ..., include_retired: bool = ...
    ) -> list[Claim]: ...
    async def count_claims(self) -> int: ...
    async def add_claim(self, new: NewClaim, *, actor: str, guild_id: int | None) -> Claim: ...
    async def edit_claim(
        self,
        claim_id: int,
        *,
        actor: str,
        guild_id: int | None,
        claim: str | None = None,
        verdict: str | None = None,
        note: str | None = None,
        claimant: str | None = None,
    ) -> Claim: ...
    async def link_url(
        self, claim_id: int, url: str, *, actor: str, guild_id: int | None
    ) -> Claim: ...
    async def unlink_url(
        self, claim_id: int, url: str, *, actor: str, guild_id: int | None
    ) -> Claim: ...
    async def add_source(
        self, claim_id: int, source: Source, *, actor: str, guild_id: int | None
    ) -> Claim: ...
    async def set_active(
        self, claim_id: int, active: bool, *, actor: str, guild_id: int | None
    ) -> Claim: ...
    async def claim_history(self, claim_id: int, *, guild_id: int | None) -> list[AuditEntry]: ...

    # imports
    async def import_claims(
        self,
        records: Sequence[NewClaim],
        *,
        actor: str,
        guild_id: int | None,
        progress: Callable[[int, int], None] | None = None,
        url_keys: MutableMapping[str, str] | None = None,
        index_terms: Mapping[str, str] | None = None,
    ) -> ImportResult: ...

    # sources
    async def source_note_for(
        self, hosts: Sequence[str], *, guild_id: int | None
    ) -> SourceNote | None: ...
    async def list_source_notes(self, *, guild_id: int | None) -> list[SourceNote]: ...
    async def set_source_note(
        self, domain: str, rating: str, note: str, *, actor: str, guild_id: int | None
    ) -> SourceNote: ...
    async def clear_source_note(self, domain: str, *, actor: str, guild_id: int | None) -> None: ...

    # pages
    async def cached_page(self, url_key: str, *, now: float | None = None) -> CachedPage | None: ...
    async def cache_page(self, page: CachedPage, *, final_key: str | None = None) -> None: ...
    async def similar_fingerprints(self, fingerprint: int) -> list[tuple[str, str, int]]: ...

    # vectors
    async def put_vectors(self, model: str, vectors: Sequence[tuple[int, bytes]]) -> None: ...
    async def get_vectors(self, model: str, claim_ids: Sequence[int]) -> dict[int, bytes]: ...
    async def claim_texts(self, claim_ids: Sequence[int]) -> dict[int, str]: ...
    async def claims_without_vectors(self, model: str) -> list[tuple[int, str, str]]: ...

    # audit and the change feed
    async def audit_count(self) -> int: ...
    async def latest_change_id(self) -> int: ...
    async def changes_since(self, change_id: int, *, limit: int = ...) -> list[AuditEntry]: ...

    # settings
    async def setting_rows(self, guild_id: int) -> list[SettingRow]: ...
    async def set_setting(
        self, guild_id: int, key: str, value: Any, *, actor: str, channel_id: int | None = None
    ) -> bool: ...

    # replies
    async def record_replies(self, records: Sequence[ReplyRecord]) -> None: ...
    async def replies_showing(
        self, claim_ids: Sequence[int], *, since: float
    ) -> list[ReplyRecord]: ...
    async def replies_to_message(
        self, message_id: int, *, guild_id: int | None
    ) -> list[ReplyRecord]: ...
    async def replied_keys(self, message_ids: Sequence[int]) -> set[tuple[int, str]]: ...
    async def mark_reply(
        self,
        reply: int,
        *,
        state: str | None = None,
        corrected_at: float | None = None,
        links: Sequence[ShownLink] | None = None,
    ) -> None: ...
    async def forget_replies(self, *, before: float) -> int: ...
    async def claims_by_id(
        self, claim_ids: Sequence[int], *, guild_id: int | None
    ) -> list[Claim]: ...

    # seen links
    async def remember_links(self, seen: Sequence[SeenLink]) -> None: ...
    async def forget_links(self, *, now: float) -> int: ...
    async def seen_with_keys(
        self, keys: Sequence[str], *, guild_id: int | None, now: float | None = None
    ) -> list[SeenLink]: ...
    async def url_keys_of_claims(
        self, claim_ids: Sequence[int]
    ) -> list[tuple[int | None, str]]: ...

    # requests
    async def file_requests(
        self,
        guild_id: int,
        items: Sequence[RequestItem],
        *,
        member_id: int,
        channel_id: int,
        message_id: int,
        per_hour: int,
        now: float | None = None,
    ) -> list[CheckRequest]: ...
    async def open_requests(
        self, guild_id: int, *, limit: int = ..., offset: int = ...
    ) -> list[CheckRequest]: ...
    async def count_open_requests(self, guild_id: int) -> int: ...
    async def close_request(
        self,
        request_id: int,
        *,
        guild_id: int,
        claim_id: int | None = None,
        now: float | None = None,
    ) -> ClosedRequest: ...
    async def close_covered_requests(
        self, claim_ids: Sequence[int] | None, *, now: float | None = None
    ) -> list[ClosedRequest]: ...
    async def set_notify(self, guild_id: int, member_id: int, on: bool) -> None: ...
    async def forget_closed_requests(self, *, before: float) -> int: ...
    async def take_unlogged_requests(
        self, *, shards: tuple[Sequence[int], int] | None = None
    ) -> list[CheckRequest]: ...

    # votes
    async def record_vote(
        self,
        guild_id: int,
        message_id: int,
        member_id: int,
        helpful: bool,
        *,
        flag_min_members: int,
    ) -> VoteOutcome: ...
    async def vote_tally(self, claim_id: int, *, guild_id: int | None) -> VoteTally: ...

    # retention
    async def schedule_forget(
        self, guild_id: int, *, grace_s: float, now: float | None = None
    ) -> float: ...
    async def cancel_forget(self, guild_id: int) -> bool: ...
    async def scheduled_forgets(self) -> dict[int, float]: ...
    async def due_forgets(self, *, now: float | None = None) -> list[int]: ...
    async def forget_guild(self, guild_id: int, *, actor: str) -> dict[str, int]: ...

    # copying a whole store (factbot migrate-store; bot.store.copying)
    async def table_columns(self, table: str) -> list[str]: ...
    async def table_row_count(self, table: str) -> int: ...
    async def table_rows(self, table: str, columns: Sequence[str]) -> list[tuple[Any, ...]]: ...
    async def replace_contents(self, copies: Sequence[TableCopy]) -> None: ...

    # answering once across processes (a no-op in SQLite: one process owns the file)
    async def claim_first_reply(
        self, channel_id: int, url_key: str, *, window_s: float, now: float | None = None
    ) -> bool: ...
    async def release_first_reply(self, channel_id: int, url_key: str) -> None: ...
    def page_fetch_turn(self, url_key: str) -> AbstractAsyncContextManager[bool]: ...
    async def allow_member_fetch(
        self, member_id: int, *, per_minute: int, now: float | None = None
    ) -> bool: ...
