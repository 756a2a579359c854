"""Near-duplicate fingerprints of article text, to recognise syndicated copies on other sites."""

from __future__ import annotations

import hashlib
import re

_WORD = re.compile(r"\w+", re.UNICODE)

# Below this many words a text is too generic (a headline, a cookie banner) to call a copy.
MIN_WORDS = 40
# Texts whose 64-bit SimHashes differ in at most this many bits count as the same article.
MAX_DISTANCE = 3
SHINGLE = 3


def simhash(text: str) -> int | None:
    """A 64-bit SimHash over word 3-shingles, or None for texts too short to fingerprint."""
    words = _WORD.findall(text.casefold())
    if len(words) < MIN_WORDS:
        return None
    weights = [0] * 64
    for i in range(len(words) - SHINGLE + 1):
        shingle = " ".join(words[i : i + SHINGLE]).encode()
        value = int.from_bytes(hashlib.blake2b(shingle, digest_size=8).digest(), "big")
        for bit in range(64):
            weights[bit] += 1 if value >> bit & 1 else -1
    return sum(1 << bit for bit in range(64) if weights[bit] > 0)


def distance(a: int, b: int) -> int:
    return (a ^ b).bit_count()
