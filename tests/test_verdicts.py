from __future__ import annotations

import pytest

from bot.verdicts import VERDICTS, map_rating, parse_verdict


@pytest.mark.parametrize(
    ("label", "verdict"),
    [
        ("False", "false"),
        ("Pants on Fire!", "false"),
        ("Mostly False", "mostly-false"),
        ("Half True", "mixed"),
        ("Mixture", "mixed"),
        ("Missing Context", "missing-context"),
        ("Miscaptioned", "misleading"),
        ("Unproven", "unproven"),
        ("Mostly True", "mostly-true"),
        ("TRUE", "true"),
        ("Labeled Satire", "satire"),
        ("Outdated", "outdated"),
        ("Four Pinocchios", "false"),
        ("", "unproven"),
        (None, "unproven"),
        ("Something nobody rates", "unproven"),
        ("Not false", "unproven"),
    ],
)
def test_map_rating(label: str | None, verdict: str) -> None:
    assert map_rating(label) == verdict


def test_every_verdict_maps_to_itself() -> None:
    for verdict in VERDICTS:
        assert map_rating(verdict) == verdict
        assert parse_verdict(verdict) == verdict


def test_parse_verdict_refuses_typos_with_the_vocabulary() -> None:
    with pytest.raises(ValueError, match="use one of: false, mostly-false"):
        parse_verdict("fasle")
    assert parse_verdict("Mostly False") == "mostly-false"
