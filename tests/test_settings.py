"""Per-server settings: parsing what a moderator types, resolving over the config's defaults,
the store's audited rows, and the reply threshold a server chooses."""

from __future__ import annotations

import re

import pytest

from bot import settings as model
from bot.checking import CheckResult, LinkReport, Match
from bot.settings import Defaults, SettingError, parse_value, resolve, with_threshold
from bot.store import InvalidInput, NewClaim, Store


@pytest.mark.parametrize(
    ("key", "text", "value"),
    [
        ("watch", "all", None),
        ("watch", "12, 11,12", [11, 12]),
        ("watch", "<#33>", [33]),
        ("ignore", "none", None),
        ("ignore", "11,12", [11, 12]),
        ("reply_style", "Compact", "compact"),
        ("reply_style", "default", None),
        ("reply_threshold", "0.5", 0.5),
        ("reply_threshold", "default", None),
        ("backfill_hours", "0", 0.0),
        ("backfill_hours", " 12.5 ", 12.5),
        ("backfill_hours", "1e1", 10.0),
        ("reply_threshold", ".5", 0.5),
        ("mod_log", "none", None),
        ("mod_log", "77", 77),
        ("moderator_roles", "none", []),
        ("moderator_roles", "default", None),
        ("moderator_roles", "5,6", [5, 6]),
    ],
)
def test_values_parse(key: str, text: str, value: object) -> None:
    assert parse_value(key, text) == value


@pytest.mark.parametrize(
    ("key", "text", "message"),
    [
        ("colour", "red", "unknown setting 'colour'"),
        ("watch", "general", "not a channel id: 'general'"),
        ("watch", "none", "not a channel id"),
        ("ignore", "11,-3", "not a channel id: '-3'"),
        ("ignore", ",", "no channel ids given"),
        ("reply_style", "loud", "reply_style must be one of"),
        ("reply_threshold", "1.5", "from 0 to 1"),
        ("reply_threshold", "nan", "from 0 to 1"),
        ("backfill_hours", "1000", "from 0 to 168"),
        # float() reads these: "5_0" as 50 hours, other scripts' digits as ours.
        ("backfill_hours", "5_0", "from 0 to 168"),
        ("backfill_hours", "\u0665", "from 0 to 168"),
        ("backfill_hours", "\uff15", "from 0 to 168"),
        ("reply_threshold", "0.\u0665", "from 0 to 1"),
        ("reply_threshold", "infinity", "from 0 to 1"),
        ("mod_log", "99999999999999999999999", "not a channel id"),
    ],
)
def test_bad_values_are_one_line_errors(key: str, text: str, message: str) -> None:
    with pytest.raises(SettingError) as caught:
        parse_value(key, text)
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_a_negative_zero_is_stored_and_shown_as_zero() -> None:
    # float("-0") is -0.0: `settings show` printed "reply_threshold -0 (set)".
    value = parse_value("reply_threshold", "-0")
    assert (value, str(value)) == (0.0, "0.0")


def test_channel_overrides_take_only_style_and_threshold() -> None:
    assert parse_value("reply_style", "off", channel=True) == "off"
    with pytest.raises(SettingError, match="per channel"):
        parse_value("ignore", "1", channel=True)


def test_resolve_over_defaults_and_scopes() -> None:
    defaults = Defaults(reply_style="compact", backfill_hours=12, moderator_roles=(9,))
    plain = resolve((), defaults)
    assert plain.watches((1,)) and plain.style_for((1,)) == "compact"
    assert plain.moderator_roles == (9,) and plain.backfill_hours == 12
    rows = [
        (0, "watch", [100, 200]),
        (0, "ignore", [201]),
        (0, "moderator_roles", []),
        (100, "reply_style", "full"),
        (100, "reply_threshold", 0.4),
    ]
    current = resolve(rows, defaults)
    assert current.moderator_roles == ()
    assert current.watches((100,)) and not current.watches((300,))
    # A thread (its own id first) follows its parent channel, and a watched category's channels
    # are watched unless ignored.
    assert current.watches((555, 100)) and current.watches((201, 200)) is False
    assert current.watches((300, 200))
    assert current.style_for((555, 100)) == "full" and current.style_for((300,)) == "compact"
    assert current.threshold_for((100,)) == 0.4 and current.threshold_for((300,)) is None
    assert current.explicit == {"watch", "ignore", "moderator_roles"}


def _claim(claim_id: int) -> object:
    from bot.store import Claim

    return Claim(claim_id, None, "c", "false", "", None, "", None, "t", "t", "t", "t", True)


def test_a_server_threshold_moves_content_matches_only() -> None:
    content = Match(_claim(1), "content", 0.7)  # type: ignore[arg-type]
    url = Match(_claim(2), "url", 1.0)  # type: ignore[arg-type]
    below = CheckResult((LinkReport("u", "k", candidates=(content,)),))
    assert with_threshold(below, 0.6, 0.85).links[0].matches == (content,)
    above = CheckResult((LinkReport("u", "k", matches=(content,)),))
    quieter = with_threshold(above, 0.9, 0.6)
    assert quieter.links[0].matches == () and quieter.links[0].candidates == (content,)
    by_url = CheckResult((LinkReport("u", "k", matches=(url,)),))
    assert with_threshold(by_url, 1.0, 0.6) == by_url
    assert with_threshold(above, None, 0.6) is above


def _content(claim_id: int, score: float) -> Match:
    return Match(_claim(claim_id), "content", score)  # type: ignore[arg-type]


def test_a_server_threshold_applies_to_every_content_match_as_the_default_does() -> None:
    # A server that raised its threshold must not see a claim below it under "Also:", and one
    # that lowered it gets every claim above it (up to the usual three), as the checker does
    # with the default threshold.
    strong, fair, weak = _content(1, 0.95), _content(2, 0.86), _content(3, 0.7)
    both = CheckResult((LinkReport("u", "k", matches=(strong, fair), candidates=(weak,)),))
    quieter = with_threshold(both, 0.9, 0.85).links[0]
    assert quieter.matches == (strong,)
    assert quieter.candidates == (fair, weak)
    listed = CheckResult((LinkReport("u", "k", candidates=(strong, fair, weak)),))
    louder = with_threshold(listed, 0.6, 0.99).links[0]
    assert louder.matches == (strong, fair, weak) and louder.candidates == ()
    many = tuple(_content(10 + i, 0.9 - i / 100) for i in range(5))
    capped = with_threshold(CheckResult((LinkReport("u", "k", candidates=many),)), 0.5, 0.99)
    assert capped.links[0].matches == many[:3] and capped.links[0].candidates == many[3:]


async def test_store_settings_are_audited_and_validated(store: Store) -> None:
    assert await store.set_setting(1, "ignore", [11, 12], actor="test")
    assert not await store.set_setting(1, "ignore", [11, 12], actor="test")  # no-op: no row
    assert await store.set_setting(1, "reply_style", "off", actor="test", channel_id=11)
    assert await store.set_setting(2, "watch", [5], actor="test")
    assert await store.audit_count() == 3
    rows = await store.setting_rows(1)
    assert [(r.guild_id, r.channel_id, r.key, r.value) for r in rows] == [
        (1, 0, "ignore", [11, 12]),
        (1, 11, "reply_style", "off"),
    ]
    change = (await store.changes_since(0))[0]
    assert (change.action, change.guild_id, change.after) == (
        "settings",
        1,
        {"key": "ignore", "channel_id": None, "value": [11, 12]},
    )
    assert await store.set_setting(1, "ignore", None, actor="test")
    assert [r.key for r in await store.setting_rows(1)] == ["reply_style"]
    # The audit row of a removal keeps what was set, so a moderator can see what was undone.
    removed = (await store.changes_since(0))[-1]
    assert (removed.before, removed.after) == (
        {"key": "ignore", "channel_id": None, "value": [11, 12]},
        {"key": "ignore", "channel_id": None, "value": None},
    )
    # A moderator's typo is refused with the reason, and changes nothing.
    for key, value, channel, reason in (
        ("ignore", "x", None, "not a channel id: 'x'"),
        ("watch", [1], 11, "unknown setting 'watch' per channel; use one of: "),
        ("bogus", 1, None, "unknown setting 'bogus' for a server; use one of: watch, "),
    ):
        with pytest.raises(InvalidInput, match=f"^{re.escape(reason)}"):
            await store.set_setting(1, key, value, actor="test", channel_id=channel)
    assert await store.audit_count() == 4


async def test_change_feed_reads_forward_from_an_id(store: Store) -> None:
    assert await store.latest_change_id() == 0
    claim = await store.add_claim(NewClaim("c", "false"), actor="t", guild_id=None)
    start = await store.latest_change_id()
    await store.edit_claim(claim.id, actor="t", guild_id=None, note="n")
    await store.set_active(claim.id, False, actor="t", guild_id=None)
    changes = await store.changes_since(start)
    assert [c.action for c in changes] == ["edit", "retire"]
    assert [c.action for c in await store.changes_since(start, limit=1)] == ["edit"]


def test_show_marks_what_a_server_set() -> None:
    current = resolve([(0, "reply_style", "off")], Defaults())
    lines = dict(model.settings_lines(current, default_threshold=0.85))
    assert lines["reply_style"] == "off (set)" and lines["watch"] == "all"
    assert lines["reply_threshold"] == "0.85"


async def test_a_read_racing_a_change_is_not_kept(store: Store) -> None:
    import asyncio

    from bot.live import SettingsBook

    book = SettingsBook(store, Defaults())
    racing = asyncio.create_task(book.get(1))
    await asyncio.sleep(0)  # let the read start before the change (a yield, not a wait)
    await store.set_setting(1, "ignore", [11], actor="test")
    book.forget(1)
    await racing  # read before or after the change: either way it answers
    assert (await book.get(1)).ignore == {11}
    assert (await book.get(2)).ignore == frozenset()
