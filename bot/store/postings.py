"""Per-term postings of the search index, and BM25 over them for a query of many terms.

Both engines keep, beside their full-text index, a table ``claim_postings`` (V7): for each
indexed term and each range of 65,536 claim ids, one packed array of the claims holding the
term, each entry the claim id, the claim's indexed length and the term's count in the claim
and in its context. Ranking a text's gathering query (up to 128 terms, some in half the
store) is then one read of those rows and a few array operations: FTS5 spent ~1.6 µs a
matching claim merging 128 doclists and calling ``bm25()`` (100 ms at 100,000 claims), and
PostgreSQL unnested every matching tsvector.

The score is FTS5's ``bm25()`` (k1 = 1.2, b = 0.75, its IDF floor and column weights), from
the index's own totals (claims indexed, tokens indexed), so the ranking is the one the reply
confidence was fitted on. Claim ids are grouped in chunks so that adding a claim rewrites a
few small rows, not a term's whole list.
"""

from __future__ import annotations

import re
import struct
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from bot.store.models import InvalidInput

#: Claim ids per postings row: ``chunk = claim_id >> CHUNK_BITS``. Reading a row costs more
#: than its bytes: at 100,000 claims, a 128-term query read 3,000 rows in 7 ms with 4,096 ids
#: a row, 256 rows in 0.6 ms with 65,536.
CHUNK_BITS = 16
_OFFSET_MASK = (1 << CHUNK_BITS) - 1

#: One posting: the claim id's low bits (the row's chunk holds the rest), the claim's indexed
#: tokens (claim + context), the term's count in the claim and in the context. Lengths past
#: 65,535 and counts past 255 are clipped (a claim's text is validated far below that).
ENTRY = np.dtype([("offset", "<u2"), ("length", "<u2"), ("tf_claim", "u1"), ("tf_context", "u1")])

_BM25_K1 = 1.2
_BM25_B = 0.75
_MAX_LENGTH = 65_535
_MAX_COUNT = 255

_QUOTED = re.compile(r'"((?:[^"]|"")*)"')


def match_terms(match_expr: str) -> list[str]:
    """The terms of a match expression as :mod:`bot.matching` writes it: ``"a" OR "b"``.

    That OR of quoted terms is the search language both engines accept; anything else is
    refused rather than guessed at.
    """
    terms = [m.replace('""', '"') for m in _QUOTED.findall(match_expr)]
    rest = _QUOTED.sub(" ", match_expr).split()
    if not terms or any(word != "OR" for word in rest):
        raise InvalidInput("a search is an OR of quoted terms")
    # FTS5 reads a quoted run of words as a phrase; here each word counts on its own.
    return list(dict.fromkeys(word for term in terms for word in term.split()))


def chunk_of(claim_id: int) -> int:
    return claim_id >> CHUNK_BITS


#: Claims counted at once by :meth:`PostingsChange.add_many`.
_MANY = 4096

_PACK = struct.Struct("<HHBB")
assert _PACK.size == ENTRY.itemsize


def indexed_length(claim_terms: str, context_terms: str) -> int:
    return len(claim_terms.split()) + len(context_terms.split())


@dataclass
class PostingsChange:
    """What one write does to the postings: entries added and claims removed, per row key.

    ``added`` holds, per row key, packed entries in the order they were added (each item one
    entry or, from :meth:`add_many`, a run of them).
    """

    added: dict[tuple[str, int], list[bytes]] = field(default_factory=dict)
    removed: dict[tuple[str, int], set[int]] = field(default_factory=dict)
    docs: int = 0
    tokens: int = 0

    def add(self, claim_id: int, claim_terms: str, context_terms: str) -> None:
        # A PostgreSQL import adds every claim here, and an SQLite import every claim it
        # updates (new claims go through add_many); written out, this loop took 0.6 s of CPU
        # for 20,000 synthetic claims, 0.8 s before.
        chunk = chunk_of(claim_id)
        words = claim_terms.split()
        extra = context_terms.split()
        in_claim = Counter(words)
        in_context = Counter(extra)
        length = min(len(words) + len(extra), _MAX_LENGTH)
        offset = claim_id & _OFFSET_MASK
        pack = _PACK.pack
        added = self.added
        for term in dict.fromkeys([*in_claim, *in_context]) if extra else in_claim:
            entry = pack(
                offset,
                length,
                min(in_claim.get(term, 0), _MAX_COUNT),
                min(in_context.get(term, 0), _MAX_COUNT),
            )
            rows = added.get((term, chunk))
            if rows is None:
                added[(term, chunk)] = [entry]
            else:
                rows.append(entry)
        self.docs += 1
        self.tokens += len(words) + len(extra)

    def add_many(self, claims: Sequence[tuple[int, str, str]]) -> None:
        """:meth:`add` for each (id, claim terms, context terms): the same entries in the same
        order, counted with numpy (an import's 20,000 synthetic claims, 555,000 entries: 0.6 s
        one :meth:`add` at a time, 0.2 s here), a few thousand claims at a time so that the
        arrays stay small whatever the import's size (all 20,000 at once: 0.17 s, but 80 MB
        more at peak, while the import's whole process peaks at 210 MB).
        """
        for start in range(0, len(claims), _MANY):
            self._add_some(claims[start : start + _MANY])

    def _add_some(self, claims: Sequence[tuple[int, str, str]]) -> None:
        if not claims:
            return
        words: list[str] = []
        in_claim = np.empty(len(claims), dtype=np.int64)
        in_context = np.empty(len(claims), dtype=np.int64)
        for i, (_, claim_terms, context_terms) in enumerate(claims):
            claim, context = claim_terms.split(), context_terms.split()
            words += claim
            words += context
            in_claim[i], in_context[i] = len(claim), len(context)
        sizes = in_claim + in_context
        self.docs += len(claims)
        self.tokens += int(sizes.sum())
        if not words:
            return
        vocab = dict.fromkeys(words, 0)
        for number, word in enumerate(vocab):
            vocab[word] = number
        term = np.fromiter(map(vocab.__getitem__, words), dtype=np.int64, count=len(words))
        ids = np.fromiter((claim[0] for claim in claims), dtype=np.int64, count=len(claims))
        chunk_numbers, chunk_of_claim = np.unique(ids >> CHUNK_BITS, return_inverse=True)
        owner = np.repeat(np.arange(len(claims), dtype=np.int64), sizes)
        # Whether each word is in the context: its place among its claim's words is past the claim.
        place = np.arange(len(words), dtype=np.int64) - np.repeat(np.cumsum(sizes) - sizes, sizes)
        in_ctx = place >= np.repeat(in_claim, sizes)
        # One sort key a word: row (term, chunk), then the claim's place in the input, then where.
        rows = term * len(chunk_numbers) + chunk_of_claim[owner]
        keys, counts = np.unique((rows * len(claims) + owner) * 2 + in_ctx, return_counts=True)
        pair = keys >> 1
        new = np.concatenate(([True], pair[1:] != pair[:-1]))
        slot = np.cumsum(new) - 1
        pair = pair[new]
        tf = np.zeros((2, len(pair)), dtype=np.int64)
        tf[keys & 1, slot] = counts
        row, claim_at = np.divmod(pair, len(claims))
        entries = np.empty(len(pair), dtype=ENTRY)
        entries["offset"] = ids[claim_at] & _OFFSET_MASK
        entries["length"] = np.minimum(sizes[claim_at], _MAX_LENGTH)
        entries["tf_claim"] = np.minimum(tf[0], _MAX_COUNT)
        entries["tf_context"] = np.minimum(tf[1], _MAX_COUNT)
        starts = np.flatnonzero(np.concatenate(([True], row[1:] != row[:-1])))
        ends = [*starts[1:].tolist(), len(pair)]
        term_number, chunk_index = np.divmod(row[starts], len(chunk_numbers))
        chunk_of_row = chunk_numbers[chunk_index].tolist()
        names = list(vocab)
        data = entries.tobytes()
        size = ENTRY.itemsize
        added = self.added
        for start, end, number, chunk in zip(
            starts.tolist(), ends, term_number.tolist(), chunk_of_row, strict=True
        ):
            key = (names[number], chunk)
            blob = data[start * size : end * size]
            pending = added.get(key)
            if pending is None:
                added[key] = [blob]
            else:
                pending.append(blob)

    def remove(self, claim_id: int, claim_terms: str, context_terms: str) -> None:
        chunk = chunk_of(claim_id)
        offset = claim_id & _OFFSET_MASK
        for term in set(claim_terms.split()) | set(context_terms.split()):
            self.removed.setdefault((term, chunk), set()).add(claim_id)
            pending = self.added.get((term, chunk))
            if pending:  # added earlier in this same change (one import, one identity twice)
                entries = np.frombuffer(b"".join(pending), dtype=ENTRY)
                kept = entries[entries["offset"] != offset]
                if len(kept):
                    self.added[(term, chunk)] = [kept.tobytes()]
                else:
                    del self.added[(term, chunk)]
        self.docs -= 1
        self.tokens -= indexed_length(claim_terms, context_terms)

    def keys(self) -> list[tuple[str, int]]:
        return list(dict.fromkeys([*self.removed, *self.added]))

    def new_data(self, key: tuple[str, int], existing: bytes | None) -> bytes:
        """The row's data after this change (empty: the row goes)."""
        data = existing or b""
        gone = self.removed.get(key)
        if gone and data:
            entries = np.frombuffer(data, dtype=ENTRY)
            offsets = [claim_id & _OFFSET_MASK for claim_id in gone]
            data = entries[~np.isin(entries["offset"], offsets)].tobytes()
        return data + b"".join(self.added.get(key, ()))

    def term_docs(self) -> dict[str, int]:
        """{term: change in the claims holding it}."""
        delta: dict[str, int] = {}
        size = ENTRY.itemsize
        for (term, _), entries in self.added.items():
            delta[term] = delta.get(term, 0) + sum(map(len, entries)) // size
        for (term, _), claim_ids in self.removed.items():
            delta[term] = delta.get(term, 0) - len(claim_ids)
        return {term: n for term, n in delta.items() if n}

    def __bool__(self) -> bool:
        return bool(self.added or self.removed)


def rebuild(claims: Iterable[tuple[int, str, str]]) -> PostingsChange:
    """Every posting of the indexed (id, claim, context) texts, as one change to empty rows."""
    change = PostingsChange()
    change.add_many(list(claims))
    return change


@dataclass(frozen=True)
class Ranked:
    """Claims holding a query term, best BM25 first (ties: lower id first)."""

    ids: list[int]
    scores: list[float]
    complete: bool  # every claim holding a term is here (else only the best and their ties)


#: Ids up to this are counted in an array indexed by id; past it (a sparse id range), by sorting.
_DENSE_IDS = 8_000_000


def rank(
    rows: Sequence[tuple[str, int, bytes]],
    *,
    docs: int,
    tokens: int,
    weights: tuple[float, float],
    best: int | None,
) -> Ranked:
    """The claims of the postings ``rows`` (term, chunk, data) by their summed BM25, best first.

    ``best``: only that many (and every claim tied with the last of them) are returned;
    None: all.
    """
    if not rows or docs <= 0:
        return Ranked([], [], True)
    terms: dict[str, int] = {}
    size = ENTRY.itemsize
    counts = np.array([len(data) // size for _, _, data in rows], dtype=np.int64)
    row_terms = np.array([terms.setdefault(t, len(terms)) for t, _, _ in rows], dtype=np.int64)
    chunks = np.array([chunk for _, chunk, _ in rows], dtype=np.int64)
    entries = np.frombuffer(b"".join([data for _, _, data in rows]), dtype=ENTRY)
    if not len(entries):
        return Ranked([], [], True)
    term_of = np.repeat(row_terms, counts)
    # FTS5's nHit: how many claims hold the term.
    hits = np.bincount(term_of).astype(np.float64)
    idf = np.log((docs - hits + 0.5) / (hits + 0.5))
    idf[idf <= 0.0] = 1e-6
    avgdl = max(tokens, 1) / docs
    freq = weights[0] * entries["tf_claim"].astype(np.float64)
    freq += weights[1] * entries["tf_context"].astype(np.float64)
    norm = _BM25_K1 * (1.0 - _BM25_B + _BM25_B * entries["length"] / avgdl)
    contribution = idf[term_of] * (freq * (_BM25_K1 + 1.0)) / (freq + norm)
    claims = np.repeat(chunks << CHUNK_BITS, counts) + entries["offset"]
    top = int(claims.max())
    if top <= _DENSE_IDS:
        ids = np.flatnonzero(np.bincount(claims))
        scores = np.bincount(claims, weights=contribution)[ids]
    else:
        ids, at = np.unique(claims, return_inverse=True)
        scores = np.bincount(at, weights=contribution, minlength=len(ids))
    if best is not None and best < len(ids):
        cut = np.partition(scores, len(ids) - best)[len(ids) - best]
        keep = np.flatnonzero(scores >= cut)
        ids, scores = ids[keep], scores[keep]
        complete = False
    else:
        complete = True
    order = np.lexsort((ids, -scores))
    return Ranked(ids[order].tolist(), scores[order].tolist(), complete)
