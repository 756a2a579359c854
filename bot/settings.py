"""Per-server settings: the keys, how a moderator's text becomes a value, and what they resolve to.

Pure: no I/O. The store keeps one row per key a server (or a channel) set; a key without a row
takes the config file's value (:class:`Defaults`). ``/settings`` and ``factbot settings set``
both parse with :func:`parse_value`, so a typo is the same one-line error in both.

Channel scope: a message's channel is looked up with its parents (a thread's or forum post's
parent channel, then the channel's category), so threads follow their parent channel.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    # Types only: the store imports this module, and bot.checking imports the store.
    from bot.checking import CheckResult, LinkReport

REPLY_STYLES = ("full", "compact", "reaction", "off")
GUILD_KEYS = (
    "watch",
    "ignore",
    "reply_style",
    "reply_threshold",
    "backfill_hours",
    "mod_log",
    "moderator_roles",
)
CHANNEL_KEYS = ("reply_style", "reply_threshold")
MAX_BACKFILL_HOURS = 168.0
MAX_IDS = 100
# Discord ids (snowflakes) are positive 64-bit integers.
MAX_ID = (1 << 63) - 1

KEY_HELP = {
    "watch": "`all`, or channel ids the bot answers in (comma-separated)",
    "ignore": "channel ids the bot never answers in, or `none`",
    "reply_style": "`full`, `compact`, `reaction` or `off` (or `default`)",
    "reply_threshold": "a number from 0 to 1 (higher is quieter), or `default`",
    "backfill_hours": f"hours (0 to {MAX_BACKFILL_HOURS:g}; 0 = off), or `default`",
    "mod_log": "a channel id, or `none`",
    "moderator_roles": "role ids (besides Manage Messages), `none`, or `default`",
}


class SettingError(ValueError):
    """A setting that cannot be stored as given; ``str()`` is one line for a moderator."""


def parse_id(text: str, what: str = "id") -> int:
    """A Discord id (also from a mention like ``<#123>``); raises SettingError."""
    cleaned = text.strip().removeprefix("<").removesuffix(">").lstrip("#@&!")
    if not cleaned.isascii() or not cleaned.isdigit() or not 0 < int(cleaned) <= MAX_ID:
        raise SettingError(f"not a {what}: {text.strip()[:40]!r}")
    return int(cleaned)


def _ids(text: str, what: str) -> list[int]:
    parts = [p for p in text.replace(" ", ",").split(",") if p.strip()]
    if not parts:
        raise SettingError(f"no {what}s given")
    if len(parts) > MAX_IDS:
        raise SettingError(f"more than {MAX_IDS} {what}s")
    return sorted(set(parse_id(p, what) for p in parts))


# A plain decimal in ASCII: float() also reads "5_0" (50), other scripts' digits, "nan", "inf".
_NUMBER_RE = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def _number(text: str, key: str, low: float, high: float) -> float:
    text = text.strip()
    value = float(text) if _NUMBER_RE.fullmatch(text) else math.nan
    if not math.isfinite(value) or not low <= value <= high:
        raise SettingError(f"{key} must be a number from {low:g} to {high:g}")
    return value + 0.0  # -0.0 is 0.0, and shown so


def check_key(key: str, *, channel: bool) -> str:
    keys = CHANNEL_KEYS if channel else GUILD_KEYS
    if key not in keys:
        where = "per channel" if channel else "for a server"
        raise SettingError(f"unknown setting {key!r} {where}; use one of: {', '.join(keys)}")
    return key


def parse_value(key: str, text: str, *, channel: bool = False) -> Any:
    """The value to store for ``key``, or None for "back to the default" (the row is removed).

    Lists are comma-separated ids; ``all`` (watch), ``none`` (ignore, mod_log,
    moderator_roles) and ``default`` (every key) are words.
    """
    check_key(key, channel=channel)
    word = text.strip().lower()
    if word == "default":
        return None
    if key == "watch":
        return None if word == "all" else _ids(text, "channel id")
    if key == "ignore":
        return None if word == "none" else _ids(text, "channel id")
    if key == "moderator_roles":
        # `none` is stored: no roles at all, not the config file's.
        return [] if word == "none" else _ids(text, "role id")
    if key == "mod_log":
        return None if word == "none" else parse_id(text, "channel id")
    if key == "reply_style":
        if word not in REPLY_STYLES:
            raise SettingError(f"reply_style must be one of: {', '.join(REPLY_STYLES)}, default")
        return word
    if key == "reply_threshold":
        return _number(word, key, 0.0, 1.0)
    assert key == "backfill_hours"
    return _number(word, key, 0.0, MAX_BACKFILL_HOURS)


def check_value(key: str, value: Any, *, channel: bool = False) -> Any:
    """A value already parsed (from the store or ``/settings``' selects), checked again."""
    if value is None:
        return None
    if isinstance(value, list):
        text = ",".join(str(v) for v in value) if value else "none"
    else:
        text = str(value)
    if key == "moderator_roles" and value == []:
        return []
    return parse_value(key, text, channel=channel)


def encode(value: Any) -> str:
    return json.dumps(value)


@dataclass(frozen=True)
class Defaults:
    """The config file's values, which a server's settings override."""

    reply_style: str = "full"
    reply_threshold: float | None = None  # None: the checker's tuned default
    backfill_hours: float = 24.0
    moderator_roles: tuple[int, ...] = ()


@dataclass(frozen=True)
class ChannelSettings:
    reply_style: str | None = None
    reply_threshold: float | None = None


@dataclass(frozen=True)
class GuildSettings:
    watch: frozenset[int] | None = None  # None: every channel
    ignore: frozenset[int] = frozenset()
    reply_style: str = "full"
    reply_threshold: float | None = None
    backfill_hours: float = 24.0
    mod_log: int | None = None
    moderator_roles: tuple[int, ...] = ()
    channels: Mapping[int, ChannelSettings] = field(default_factory=dict)
    explicit: frozenset[str] = frozenset()  # keys the server set itself

    def watches(self, scope: Sequence[int]) -> bool:
        """Whether the bot answers in a channel (``scope``: it, then its parents)."""
        if any(i in self.ignore for i in scope):
            return False
        return self.watch is None or any(i in self.watch for i in scope)

    def _override(self, scope: Sequence[int], name: str) -> Any:
        for channel_id in scope:
            found = self.channels.get(channel_id)
            if found is not None and getattr(found, name) is not None:
                return getattr(found, name)
        return None

    def style_for(self, scope: Sequence[int]) -> str:
        override = self._override(scope, "reply_style")
        return str(override) if override is not None else self.reply_style

    def threshold_for(self, scope: Sequence[int]) -> float | None:
        override = self._override(scope, "reply_threshold")
        return float(override) if override is not None else self.reply_threshold


def resolve(rows: Iterable[tuple[int, str, Any]], defaults: Defaults) -> GuildSettings:
    """A server's settings from its stored (channel_id, key, value) rows over the defaults."""
    settings = GuildSettings(
        reply_style=defaults.reply_style,
        reply_threshold=defaults.reply_threshold,
        backfill_hours=defaults.backfill_hours,
        moderator_roles=defaults.moderator_roles,
    )
    server: dict[str, Any] = {}
    channels: dict[int, dict[str, Any]] = {}
    for channel_id, key, value in rows:
        if channel_id:
            channels.setdefault(channel_id, {})[key] = value
        else:
            server[key] = value
    changes: dict[str, Any] = {}
    for key, value in server.items():
        if key in ("watch", "ignore"):
            changes[key] = frozenset(value)
        elif key == "moderator_roles":
            changes[key] = tuple(value)
        elif key in ("reply_threshold", "backfill_hours"):
            changes[key] = float(value)
        elif key in GUILD_KEYS:
            changes[key] = value
    return replace(
        settings,
        **changes,
        channels={
            cid: ChannelSettings(
                reply_style=values.get("reply_style"),
                reply_threshold=values.get("reply_threshold"),
            )
            for cid, values in channels.items()
        },
        explicit=frozenset(k for k in server if k in GUILD_KEYS),
    )


def _shown(value: Any) -> Any:
    return "none" if value == [] else value


def settings_json(
    settings: GuildSettings, *, channel_id: int | None = None, default_threshold: float
) -> dict[str, Any]:
    """The effective settings, as ``factbot settings show --json`` prints them."""
    if channel_id is not None:
        scope = (channel_id,)
        override = settings.channels.get(channel_id, ChannelSettings())
        threshold = settings.threshold_for(scope)
        return {
            "channel_id": channel_id,
            "watched": settings.watches(scope),
            "reply_style": settings.style_for(scope),
            "reply_threshold": default_threshold if threshold is None else threshold,
            "overridden": [k for k in CHANNEL_KEYS if getattr(override, k) is not None],
        }
    return {
        "watch": "all" if settings.watch is None else sorted(settings.watch),
        "ignore": sorted(settings.ignore),
        "reply_style": settings.reply_style,
        "reply_threshold": (
            default_threshold if settings.reply_threshold is None else settings.reply_threshold
        ),
        "backfill_hours": settings.backfill_hours,
        "mod_log": settings.mod_log,
        "moderator_roles": list(settings.moderator_roles),
        "overridden": sorted(settings.explicit),
        "channels": {
            str(cid): {k: getattr(c, k) for k in CHANNEL_KEYS if getattr(c, k) is not None}
            for cid, c in sorted(settings.channels.items())
        },
    }


def settings_lines(
    settings: GuildSettings, *, channel_id: int | None = None, default_threshold: float
) -> list[tuple[str, str]]:
    """(key, value as text) for showing; a value the server set is marked ``(set)``."""
    data = settings_json(settings, channel_id=channel_id, default_threshold=default_threshold)
    overridden = set(data.pop("overridden"))
    data.pop("channels", None)
    data.pop("channel_id", None)
    lines: list[tuple[str, str]] = []
    for key, value in data.items():
        if isinstance(value, list):
            text = ", ".join(str(v) for v in value) or "none"
        elif value is None:
            text = "none"
        elif isinstance(value, float):
            text = f"{value:g}"
        else:
            text = str(value).lower() if isinstance(value, bool) else str(value)
        lines.append((key, text + (" (set)" if key in overridden else "")))
    return lines


def with_threshold(result: CheckResult, threshold: float | None, default: float) -> CheckResult:
    """The check as a server with its own reply threshold sees it.

    Only content matches depend on the threshold: above the default, a content match below the
    server's threshold becomes a candidate; below it, the best candidate at or above the
    server's threshold is replied (the checker lists candidates best first).
    """
    if threshold is None or threshold == default:
        return result
    return replace(result, links=tuple(_rethreshold(r, threshold) for r in result.links))


def _rethreshold(report: LinkReport, threshold: float) -> LinkReport:
    # As the checker picks them with the default (bot.matching.replies): every content match at
    # or above the threshold, best first, at most MAX_REPLIES; the rest are candidates.
    from bot.matching import MAX_REPLIES  # numpy and friends: only where a check ran

    if any(m.match != "content" for m in report.matches):
        return report  # known by URL or as a copy: no content match was made
    pool = sorted((*report.matches, *report.candidates), key=lambda m: m.score, reverse=True)
    passing = [m for m in pool if m.score >= threshold][:MAX_REPLIES]  # a prefix of the pool
    return replace(report, matches=tuple(passing), candidates=tuple(pool[len(passing) :]))
