"""Configuration: a TOML file plus the environment, validated all at once.

``load_config`` is pure (it takes the environment as an argument) and reports every bad key in one
error, so an operator fixes a config file in one go. The Discord token comes from ``DISCORD_TOKEN``
(which wins over the file) and is never logged or shown in ``repr``.
"""

from __future__ import annotations

import ipaddress
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.fetch import FetchConfig
from bot.store.targets import is_postgres_url

DEFAULT_DB_PATH = "factbot.db"


class ConfigError(Exception):
    """A config file that cannot be used; the message lists every problem, one a line."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class DiscordConfig:
    token: str | None = field(default=None, repr=False)
    moderator_roles: tuple[int, ...] = ()
    owner_ids: tuple[int, ...] = ()


@dataclass(frozen=True)
class StoreConfig:
    path: str = DEFAULT_DB_PATH
    # A PostgreSQL URL may carry a password: never in a repr (and so never in a log line).
    url: str | None = field(default=None, repr=False)

    @property
    def target(self) -> str:
        """Where the store is: the PostgreSQL URL when one is set, else the SQLite file."""
        return self.url if self.url is not None else self.path


@dataclass(frozen=True)
class RepliesConfig:
    repeat_window_minutes: float = 30.0
    max_links_per_message: int = 5
    max_sources: int = 3
    # A server's defaults until its /settings say otherwise (bot.settings).
    style: str = "full"
    backfill_hours: float = 24.0


@dataclass(frozen=True)
class LiveConfig:
    """Following the store while the bot runs: the change feed and corrections (issue 10)."""

    poll_seconds: float = 3.0
    corrections_horizon_days: float = 30.0
    correction_interval_s: float = 1.0
    correction_attempts: int = 3


@dataclass(frozen=True)
class CommunityConfig:
    """Members' requests and votes, and what leaves with a server (issue 11)."""

    requests_per_hour: int = 10  # per member and server
    flag_min_members: int = 3  # distinct members finding a claim's note not helpful
    forget_after_days: float = 30.0  # grace period after the bot leaves a server


@dataclass(frozen=True)
class MatchingConfig:
    reply_threshold: float | None = None  # None: the tuned default in bot.matching
    candidates: int = 5
    semantic: str = "auto"  # "auto": use the semantic extra when installed; "off": lexical only


@dataclass(frozen=True)
class PagesConfig:
    enabled: bool = True
    cache_ttl_hours: float = 24.0
    failure_ttl_minutes: float = 5.0
    user_fetches_per_minute: int = 6


@dataclass(frozen=True)
class Config:
    discord: DiscordConfig = field(default_factory=DiscordConfig)
    store: StoreConfig = field(default_factory=StoreConfig)
    replies: RepliesConfig = field(default_factory=RepliesConfig)
    matching: MatchingConfig = field(default_factory=MatchingConfig)
    fetch: FetchConfig = field(default_factory=FetchConfig)
    pages: PagesConfig = field(default_factory=PagesConfig)
    live: LiveConfig = field(default_factory=LiveConfig)
    community: CommunityConfig = field(default_factory=CommunityConfig)
    log_level: str = "INFO"


# --- validation -------------------------------------------------------------------------------

Check = Callable[[Any], Any]


def _int(minimum: int, maximum: int) -> Check:
    def check(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError("must be a whole number")
        if not minimum <= value <= maximum:
            raise ValueError(f"must be between {minimum} and {maximum}")
        return value

    return check


def _float(minimum: float, maximum: float) -> Check:
    def check(value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError("must be a number")
        if not minimum <= value <= maximum:
            raise ValueError(f"must be between {minimum} and {maximum}")
        return float(value)

    return check


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError("must be true or false")
    return value


def _str(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("must be a string")
    return value


def _path(value: Any) -> str:
    text = _str(value)
    if not text.strip():
        raise ValueError("must be a file path, not empty")
    return text


def _postgres_url(value: Any) -> str:
    text = _str(value)
    if not is_postgres_url(text):
        raise ValueError("must be a postgresql:// URL")
    return text


def _choice(*choices: str) -> Check:
    def check(value: Any) -> str:
        if value not in choices:
            raise ValueError(f"must be one of {', '.join(choices)}")
        return str(value)

    return check


def _ids(value: Any) -> tuple[int, ...]:
    if not isinstance(value, list) or not all(
        isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value
    ):
        raise ValueError("must be a list of Discord ids (numbers)")
    return tuple(value)


def _ports(value: Any) -> tuple[int, ...]:
    if not isinstance(value, list) or not all(
        isinstance(v, int) and not isinstance(v, bool) and 0 < v < 65536 for v in value
    ):
        raise ValueError("must be a list of port numbers")
    return tuple(value)


def _networks(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError('must be a list of networks like "127.0.0.0/8"')
    for network in value:
        try:
            ipaddress.ip_network(network, strict=False)
        except ValueError:
            raise ValueError(f"{network!r} is not a network") from None
    return tuple(value)


_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")

# section -> key -> check; keys are the dataclass field names
_SCHEMA: dict[str, dict[str, Check]] = {
    "discord": {"token": _str, "moderator_roles": _ids, "owner_ids": _ids},
    "store": {"path": _path, "url": _postgres_url},
    "replies": {
        "repeat_window_minutes": _float(0, 7 * 24 * 60),
        "max_links_per_message": _int(1, 10),
        "max_sources": _int(0, 10),
        "style": _choice("full", "compact", "reaction", "off"),
        "backfill_hours": _float(0, 168),
    },
    "matching": {
        "reply_threshold": _float(0.0, 1.0),
        "candidates": _int(0, 25),
        "semantic": _choice("auto", "off"),
    },
    "fetch": {
        "timeout_s": _float(0.5, 60),
        "connect_timeout_s": _float(0.5, 60),
        "max_bytes": _int(16 * 1024, 16 * 1024 * 1024),
        "max_redirects": _int(0, 10),
        "allowed_ports": _ports,
        "allowed_private_networks": _networks,
        "max_concurrent": _int(1, 64),
        "max_per_host": _int(1, 16),
        "user_agent": _str,
    },
    "pages": {
        "enabled": _bool,
        "cache_ttl_hours": _float(0, 24 * 30),
        "failure_ttl_minutes": _float(0, 24 * 60),
        "user_fetches_per_minute": _int(1, 600),
    },
    "live": {
        "poll_seconds": _float(0.1, 10),
        "corrections_horizon_days": _float(0, 365),
        "correction_interval_s": _float(0, 60),
        "correction_attempts": _int(1, 10),
    },
    "community": {
        "requests_per_hour": _int(1, 1000),
        "flag_min_members": _int(1, 1000),
        "forget_after_days": _float(0, 365),
    },
    "logging": {"level": _choice(*_LOG_LEVELS)},
}


def parse_config(data: Mapping[str, Any], environ: Mapping[str, str]) -> Config:
    """Validate a parsed TOML document; raise ConfigError listing every problem."""
    problems: list[str] = []
    values: dict[str, dict[str, Any]] = {section: {} for section in _SCHEMA}
    for section, table in data.items():
        if section not in _SCHEMA:
            problems.append(f"[{section}]: unknown section")
            continue
        if not isinstance(table, Mapping):
            problems.append(f"[{section}]: must be a table")
            continue
        for key, raw in table.items():
            check = _SCHEMA[section].get(key)
            if check is None:
                problems.append(f"[{section}] {key}: unknown key")
                continue
            try:
                values[section][key] = check(raw)
            except ValueError as exc:
                problems.append(f"[{section}] {key}: {exc}")

    token = environ.get("DISCORD_TOKEN") or values["discord"].get("token") or None
    if problems:
        raise ConfigError(problems)
    discord_values = {k: v for k, v in values["discord"].items() if k != "token"}
    return Config(
        discord=DiscordConfig(token=token, **discord_values),
        store=StoreConfig(**values["store"]),
        replies=RepliesConfig(**values["replies"]),
        matching=MatchingConfig(**values["matching"]),
        fetch=FetchConfig(**values["fetch"]),
        pages=PagesConfig(**values["pages"]),
        live=LiveConfig(**values["live"]),
        community=CommunityConfig(**values["community"]),
        log_level=values["logging"].get("level", "INFO"),
    )


def load_config(path: str | Path | None, environ: Mapping[str, str]) -> Config:
    """Read ``path`` (None: defaults only) and the environment into a validated Config."""
    data: dict[str, Any] = {}
    if path is not None:
        try:
            with open(path, "rb") as fh:
                data = tomllib.load(fh)
        except FileNotFoundError:
            raise ConfigError([f"{path}: no such file"]) from None
        except UnicodeDecodeError:
            raise ConfigError([f"{path}: not UTF-8 text"]) from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError([f"{path}: not valid TOML ({exc})"]) from None
        except OSError as exc:
            raise ConfigError([f"{path}: cannot read ({exc.strerror})"]) from None
    return parse_config(data, environ)
