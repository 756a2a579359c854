"""Synthetic claims, URLs and articles for the benchmarks, built from the words of real claims.

Word frequencies and claim lengths come from the CLEF ``vclaims.jsonl`` files in
``../shared/data/claimmatch/``; everything else is drawn from a seeded generator, so two runs
build the same data. Nothing here knows which claim answers which query.
"""

from __future__ import annotations

import itertools
import json
import random
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.store import NewClaim, Source

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"

_WORD_RE = re.compile(r"\w+(?:['’]\w+)*")
_SECTIONS = ("news", "politics", "world", "health", "science", "us", "business", "opinion")
_TLDS = ("com", "com", "com", "org", "net", "co.uk", "com.au", "de", "fr", "info", "news")
ARTICLE_CHARS = 2000  # a title, description and lead
LONG_ARTICLE_WORDS = 5000  # a long page; the checker hands the matcher at most 30,000 chars


@dataclass(frozen=True)
class Vocabulary:
    words: list[str]  # most frequent first
    cumulative: list[int]  # cumulative counts, same order
    claim_lengths: list[int]  # words per real claim
    title_lengths: list[int]  # words per real title
    slug_words: list[str]  # lower-case ASCII words fit for hosts and URL slugs


def load_vocabulary(folder: Path) -> Vocabulary:
    """Word frequencies and lengths of the real verified claims (every split's vclaims)."""
    counts: Counter[str] = Counter()
    claim_lengths: list[int] = []
    title_lengths: list[int] = []
    files = sorted(folder.glob("*/vclaims.jsonl"))
    if not files:
        raise SystemExit(f"no vclaims.jsonl under {folder} (shared data missing?)")
    for path in files:
        with path.open(encoding="utf-8") as fh:
            for line in fh:
                record = json.loads(line)
                words = _WORD_RE.findall(record.get("vclaim") or "")
                counts.update(words)
                claim_lengths.append(len(words))
                for key in ("title", "subtitle"):
                    extra = _WORD_RE.findall(record.get(key) or "")
                    counts.update(extra)
                    if key == "title" and extra:
                        title_lengths.append(len(extra))
    ranked = counts.most_common()
    return Vocabulary(
        words=[w for w, _ in ranked],
        cumulative=list(itertools.accumulate(c for _, c in ranked)),
        claim_lengths=[n for n in claim_lengths if n > 0],
        title_lengths=title_lengths,
        slug_words=sorted(
            {w.lower() for w, _ in ranked if w.isascii() and w.isalpha() and len(w) > 2}
        ),
    )


class Generator:
    """Seeded synthetic data: claims with URLs, lookup keys, articles, ClaimReview records."""

    def __init__(self, vocab: Vocabulary, seed: int = 5) -> None:
        self.vocab = vocab
        self.rng = random.Random(seed)
        hosts = set()
        while len(hosts) < 3000:
            a, b = self.rng.sample(vocab.slug_words, 2)
            hosts.add(f"{a}{b}.{self.rng.choice(_TLDS)}")
        self.hosts = sorted(hosts)

    # --- text ---------------------------------------------------------------------------

    def words(self, count: int) -> list[str]:
        return self.rng.choices(self.vocab.words, cum_weights=self.vocab.cumulative, k=count)

    def sentence(self, lengths: list[int]) -> str:
        count = max(3, self.rng.choice(lengths))
        words = self.words(count)
        return " ".join([words[0][:1].upper() + words[0][1:], *words[1:]]) + "."

    def claim_text(self) -> str:
        return self.sentence(self.vocab.claim_lengths)

    def title_text(self) -> str:
        return self.sentence(self.vocab.title_lengths).rstrip(".")

    def article(self, about: str | None = None) -> str:
        """An article-sized text; ``about`` (a claim) is restated in its title and first lines."""
        parts: list[str] = []
        if about is not None:
            words = about.rstrip(".").split()
            self.rng.shuffle(words)
            parts.append(" ".join(words))
            parts.append(about)
        while sum(len(p) + 1 for p in parts) < ARTICLE_CHARS:
            parts.append(self.claim_text())
        return "\n".join(parts)[:ARTICLE_CHARS]

    def long_article(self, about: Sequence[str] = ()) -> str:
        """A 5,000-word page, paragraphs of five sentences; each ``about`` claim is restated
        in one sentence somewhere in it."""
        sentences: list[str] = []
        words = 0
        while words < LONG_ARTICLE_WORDS:
            sentence = self.claim_text()
            sentences.append(sentence)
            words += len(sentence.split())
        for claim in about:
            sentences.insert(self.rng.randrange(len(sentences)), claim)
        paragraphs = [" ".join(sentences[i : i + 5]) for i in range(0, len(sentences), 5)]
        return "\n".join(paragraphs)

    # --- URLs ---------------------------------------------------------------------------

    def url(self, serial: int) -> str:
        """A canonical article URL (``canonical_url(url) == url``), unique by ``serial``."""
        rng = self.rng
        host = rng.choice(self.hosts)
        if serial % 10 == 9:
            return f"https://x.com/i/status/{10**18 + serial}"
        slug = "-".join(rng.choices(self.vocab.slug_words, k=rng.randint(3, 7)))
        section = rng.choice(_SECTIONS)
        if serial % 10 == 8:
            return f"https://{host}/{section}/article.php?id={serial}"
        year, month, day = 2015 + serial % 9, 1 + serial % 12, 1 + serial % 28
        return f"https://{host}/{section}/{year}/{month:02d}/{day:02d}/{slug}-{serial}"

    def posted_form(self, url: str) -> str:
        """The same link as people post it: www., http, tracking parameters."""
        if "x.com/i/status/" in url:
            return url.replace("https://x.com/i/status/", "https://twitter.com/someone/status/")
        _, rest = url.split("://", 1)
        joiner = "&" if "?" in rest else "?"
        return f"http://www.{rest}{joiner}utm_source=twitter&utm_medium=social"

    # --- claims -------------------------------------------------------------------------

    def claim(self, serial: int, urls: tuple[str, ...]) -> NewClaim:
        """A claim as a fact-checker's import would carry it, with the given URLs."""
        host = self.rng.choice(self.hosts)
        return NewClaim(
            claim=self.claim_text(),
            verdict="false",
            note=self.claim_text(),
            urls=urls,
            sources=(Source(f"https://factcheck.example.org/{serial}", host, "fact-check"),),
            rating_label="Pants on Fire",
            context=f"{self.title_text()}\n{self.claim_text()}",
            external_id=f"bench:{serial}",
        )

    def claim_review(self, serial: int) -> dict[str, Any]:
        """One ClaimReview object as a fact-checker's feed carries it."""
        return {
            "@context": "https://schema.org",
            "@type": "ClaimReview",
            "@id": f"https://factcheck.example.org/review/{serial}",
            "url": f"https://factcheck.example.org/review/{serial}",
            "author": {"@type": "Organization", "name": "Example Checks"},
            "claimReviewed": self.claim_text(),
            "headline": self.title_text(),
            "description": self.claim_text(),
            "reviewBody": self.claim_text(),
            "reviewRating": {"@type": "Rating", "alternateName": "False"},
            "itemReviewed": {
                "@type": "Claim",
                "appearance": [
                    {"@type": "CreativeWork", "url": self.posted_form(self.url(serial * 3 + i))}
                    for i in range(3)
                ],
            },
        }


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]
