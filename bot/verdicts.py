"""The one verdict vocabulary, and the mapping of free-text ratings onto it."""

from __future__ import annotations

import re
import unicodedata

VERDICTS: tuple[str, ...] = (
    "false",
    "mostly-false",
    "mixed",
    "misleading",
    "missing-context",
    "unproven",
    "mostly-true",
    "true",
    "satire",
    "outdated",
)

LABELS: dict[str, str] = {
    "false": "False",
    "mostly-false": "Mostly false",
    "mixed": "Mixed",
    "misleading": "Misleading",
    "missing-context": "Missing context",
    "unproven": "Unproven",
    "mostly-true": "Mostly true",
    "true": "True",
    "satire": "Satire",
    "outdated": "Outdated",
}

# Embed colours: red for false, amber for the in-between, green for true, grey for the rest.
COLOURS: dict[str, int] = {
    "false": 0xD93025,
    "mostly-false": 0xE8710A,
    "mixed": 0xF9AB00,
    "misleading": 0xE8710A,
    "missing-context": 0xF9AB00,
    "unproven": 0x80868B,
    "mostly-true": 0x7CB342,
    "true": 0x1E8E3E,
    "satire": 0x8E24AA,
    "outdated": 0x80868B,
}

# Free-text ratings seen in ClaimReview feeds (Snopes, PolitiFact, AFP, Full Fact, ...). Keys are
# normalised with _normalise_label. Anything not listed maps to "unproven", never to "false": a
# rating we do not understand must not turn into an accusation.
_ALIASES: dict[str, str] = {
    "false": "false",
    "fake": "false",
    "fabricated": "false",
    "incorrect": "false",
    "wrong": "false",
    "pants on fire": "false",
    "pants on fire!": "false",
    "four pinocchios": "false",
    "hoax": "false",
    "scam": "false",
    "untrue": "false",
    "not true": "false",
    "altered": "false",
    "altered photo": "false",
    "manipulated": "misleading",
    "miscaptioned": "misleading",
    "misattributed": "false",
    "mostly false": "mostly-false",
    "mostly-false": "mostly-false",
    "largely false": "mostly-false",
    "three pinocchios": "mostly-false",
    "mixture": "mixed",
    "mixed": "mixed",
    "half true": "mixed",
    "half-true": "mixed",
    "partly false": "mixed",
    "partly true": "mixed",
    "partially false": "mixed",
    "partially true": "mixed",
    "two pinocchios": "mixed",
    "misleading": "misleading",
    "distorts the facts": "misleading",
    "exaggerated": "misleading",
    "exaggeration": "misleading",
    "spins the facts": "misleading",
    "cherry picks": "misleading",
    "missing context": "missing-context",
    "missing-context": "missing-context",
    "lacks context": "missing-context",
    "needs context": "missing-context",
    "out of context": "missing-context",
    "unproven": "unproven",
    "unverified": "unproven",
    "unsupported": "unproven",
    "no evidence": "unproven",
    "research in progress": "unproven",
    "unknown": "unproven",
    "mostly true": "mostly-true",
    "mostly-true": "mostly-true",
    "largely true": "mostly-true",
    "one pinocchio": "mostly-true",
    "true": "true",
    "correct": "true",
    "accurate": "true",
    "correct attribution": "true",
    "legit": "true",
    "geppetto checkmark": "true",
    "satire": "satire",
    "labeled satire": "satire",
    "parody": "satire",
    "outdated": "outdated",
    "legend": "unproven",
    "recall": "outdated",
    "lost legend": "unproven",
}

_SPACE = re.compile(r"[\s_]+")


def _normalise_label(label: str) -> str:
    folded = unicodedata.normalize("NFKC", label).casefold().strip().strip(".!")
    return _SPACE.sub(" ", folded)


def map_rating(label: str | None) -> str:
    """Map a free-text rating label onto the vocabulary; unknown labels map to ``unproven``."""
    if not label:
        return "unproven"
    key = _normalise_label(label)
    if key in _ALIASES:
        return _ALIASES[key]
    hyphenated = key.replace(" ", "-")
    if hyphenated in VERDICTS:
        return hyphenated
    return "unproven"


def parse_verdict(text: str) -> str:
    """A verdict typed by a moderator or an operator: in the vocabulary, or an alias of one."""
    key = _normalise_label(text).replace(" ", "-")
    if key in VERDICTS:
        return key
    alias = _ALIASES.get(_normalise_label(text))
    if alias is not None:
        return alias
    raise ValueError(f"unknown verdict {text!r}; use one of: {', '.join(VERDICTS)}")
