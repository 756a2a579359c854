"""What members ask and say about the notes (issue 11), without Discord: what a "Request a
fact-check" files, the texts of the queue, the mod log and the DMs.

The cogs (``cogs/community.py``, ``cogs/live.py``) send these texts with mentions off; every
untrusted string in them is escaped (``bot.replies.safe``), so a member's text never renders as
markup or a ping even where mentions were allowed.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from bot import links
from bot.replies import safe, safe_url, verdict_label
from bot.store import AuditEntry, CheckRequest, RequestItem, VoteTally

log = logging.getLogger(__name__)

MAX_REQUEST_TEXT = 500  # a request about a message without links keeps this much of its text
QUEUE_PAGE_SIZE = 5
MESSAGE_LIMIT = 2000

CLAIM_ACTIONS = ("create", "edit", "link", "unlink", "source", "retire", "restore", "import")
SOURCE_ACTIONS = ("source-set", "source-clear")
LOGGED_ACTIONS = (*CLAIM_ACTIONS, *SOURCE_ACTIONS, "settings", "flag")
# What the mod log shows of a claim's before and after.
CLAIM_FIELDS = ("claim", "verdict", "note", "active", "urls", "sources")


def request_items(text: str, *, max_links: int = 5) -> list[RequestItem]:
    """The links of a message (by canonical key), or its text when it has no link."""
    items: dict[str, RequestItem] = {}
    for url in links.extract_links(text, limit=max_links):
        try:
            key = links.canonical_url(url)
        except links.InvalidURL:
            continue
        items.setdefault(key, RequestItem("url", key, url))
    if items:
        return list(items.values())
    words = " ".join(text.split())[:MAX_REQUEST_TEXT]
    if not words:
        return []
    # One key for the same words however they are spaced or cased.
    return [RequestItem("text", words.casefold(), None)]


def request_label(request: CheckRequest, limit: int = 200) -> str:
    if request.kind == "url":
        # The canonical key, not the first asker's own link: that may carry their tracking
        # or personal query parameters, and this label is shown to moderators and other askers.
        url = safe_url(request.key)
        if url is not None and len(url) <= limit:
            return f"<{url}>"  # <>: no preview embed
        return safe(request.key, limit, one_line=True)
    return f"“{safe(request.key, limit, one_line=True)}”"


def filed_answer(filed: Sequence[CheckRequest], known: int) -> str:
    """What the member who asked is told (privately)."""
    parts = []
    if filed:
        total = sum(1 for r in filed if r.count > 1)
        parts.append(
            f"Asked the moderators to check {len(filed)} item(s)"
            + (f" ({total} already asked for by others)" if total else "")
            + ". Use `/notify on` to get a DM when one is answered."
        )
    if known:
        parts.append(f"factbot already has notes on {known} link(s) of that message.")
    return " ".join(parts) or "That message has nothing to check."


def queue_page(requests: Sequence[CheckRequest], *, page: int, pages: int, total: int) -> str:
    """One page of ``/claim queue``: most asked first, then oldest."""
    if not requests:
        return "No open fact-check requests."
    lines = [f"**Open fact-check requests** ({total}) · page {page + 1}/{pages}"]
    for request in requests:
        lines.append(
            f"`#{request.id}` · asked {request.count}× · since <t:{int(request.asked_at)}:R> · "
            f"{request_label(request, 300)}"
        )
    return "\n".join(lines)[:MESSAGE_LIMIT]


def answered_dm(request: CheckRequest, guild_name: str | None) -> str:
    where = f" in {safe(guild_name, 100, one_line=True)}" if guild_name else ""
    claim = f" (claim #{request.claim_id})" if request.claim_id else ""
    return (
        f"The moderators{where} answered your fact-check request{claim}: "
        f"{request_label(request)}. Post the link again to see what factbot knows. "
        f"(`/notify off` there stops these messages.)"
    )[:MESSAGE_LIMIT]


def tally_text(tally: VoteTally) -> str:
    return f"👍 {tally.helpful} helpful · 👎 {tally.not_helpful} not helpful"


def requests_digest(requests: Sequence[CheckRequest]) -> str:
    """The mod log's batched note of new requests (one message for all of a minute's)."""
    lines = [f"📥 {len(requests)} new fact-check request(s) (see `/claim queue`):"]
    for request in requests[:10]:
        lines.append(f"• `#{request.id}` {request_label(request, 150)}")
    if len(requests) > 10:
        lines.append(f"… and {len(requests) - 10} more")
    return "\n".join(lines)[:MESSAGE_LIMIT]


def _value(value: Any, limit: int = 150) -> str:
    if value is None:
        return "default"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        items = [v.get("url", v) if isinstance(v, dict) else v for v in value]
        return safe(", ".join(str(v) for v in items) or "none", limit, one_line=True)
    return safe(str(value), limit, one_line=True)


def _code(value: Any) -> str:
    """A setting's value inside a code span (validated ids and words; no markdown there)."""
    if value is None:
        return "default"
    text = (", ".join(str(v) for v in value) or "none") if isinstance(value, list) else str(value)
    return " ".join(text.replace("`", "'").split())[:150]


def mod_log_line(entry: AuditEntry) -> str | None:
    """One change as the mod log shows it: who, what, before and after (as the audit has it)."""
    who = safe(entry.actor, 80, one_line=True)
    before, after = entry.before or {}, entry.after or {}
    if entry.action == "settings":
        where = f" in <#{int(after['channel_id'])}>" if after.get("channel_id") else ""
        return (
            f"⚙️ {who} set `{_code(after.get('key'))}`{where} to `{_code(after.get('value'))}` "
            f"(was `{_code(before.get('value'))}`)"
        )
    if entry.action == "flag":
        return (
            f"🚩 Claim #{entry.claim_id} flagged by members: {after.get('not_helpful', 0)} of "
            f"{after.get('helpful', 0) + after.get('not_helpful', 0)} votes say its note is not "
            f"helpful ({after.get('not_helpful_members', 0)} members). `/claim show "
            f"{entry.claim_id}`"
        )
    if entry.action in SOURCE_ACTIONS:
        domain = safe(entry.domain, 100, one_line=True)
        if entry.action == "source-clear":
            return f"🗞️ {who} cleared the note on {domain} (was: {_value(before.get('rating'))})"
        return (
            f"🗞️ {who} set the note on {domain}: {_value(before.get('rating'))} → "
            f"{_value(after.get('rating'))}"
        )
    if entry.action in CLAIM_ACTIONS:
        head = f"📝 {who} {entry.action} claim #{entry.claim_id}"
        if not before:
            verdict = after.get("verdict")
            label = verdict_label(verdict) if isinstance(verdict, str) else "?"
            return f"{head}: {label}: {_value(after.get('claim'), 300)}"
        changes = [
            f"{name}: {_value(before.get(name))} → {_value(after.get(name))}"
            for name in CLAIM_FIELDS
            if before.get(name) != after.get(name)
        ]
        return f"{head}: " + ("; ".join(changes) if changes else "no visible change")
    return None


def mod_log_messages(lines: Sequence[str]) -> list[str]:
    """Lines packed into as few messages as Discord's limit allows (a burst is not a flood)."""
    messages: list[str] = []
    current = ""
    for line in lines:
        line = line[: MESSAGE_LIMIT - 1]
        if current and len(current) + 1 + len(line) > MESSAGE_LIMIT:
            messages.append(current)
            current = ""
        current = f"{current}\n{line}" if current else line
    if current:
        messages.append(current)
    return messages
