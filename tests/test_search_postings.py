"""Content search ranks from per-term postings (V7), which every write keeps in step (both engines).

What a user notices: a claim is found by the words it says now (after an add, an edit, an
import), not by the words it no longer says, and not at all once its server's data is
forgotten; its score is the BM25 that FTS5 gives the same query over what the store holds.
"""

from __future__ import annotations

import math
import sqlite3
from collections import Counter
from pathlib import Path

import asyncpg
import pytest

from bot import matching
from bot.services import open_store
from bot.store import InvalidInput, NewClaim, Store, is_postgres_url, postings, validate_new_claim
from bot.store.sqlite.connection import _migrations as _sqlite_migrations

GUILD_A = 111
GUILD_B = 222


def new_claim(text: str, context: str = "", **kw: object) -> NewClaim:
    fields: dict[str, object] = {
        "claim": text,
        "verdict": "false",
        "note": "No.",
        "context": context,
    }
    fields.update(kw)
    return NewClaim(**fields)  # type: ignore[arg-type]


def expression(*words: str) -> str:
    expr = matching.match_expression_for([t for w in words for t in matching.query_terms(w)])
    assert expr is not None
    return expr


async def reference_bm25(
    store: Store, indexed_ids: list[int], shown_ids: list[int], words: list[str]
) -> dict[int, float]:
    """FTS5's bm25() (k1 1.2, b 0.75, equal column weights) over the store's indexed text."""
    terms = {t for w in words for t in matching.query_terms(w)}
    indexed = await store.indexed_terms(indexed_ids)
    tokens = {i: (a + " " + b).split() for i, (a, b, _, _) in indexed.items()}
    docs = len(tokens)
    avgdl = sum(len(t) for t in tokens.values()) / docs
    hits = {t: sum(1 for toks in tokens.values() if t in toks) for t in terms}
    scores: dict[int, float] = {}
    for claim_id in shown_ids:
        counts = Counter(tokens[claim_id])
        score = 0.0
        for term in terms:
            f = counts.get(term, 0)
            if not f:
                continue
            idf = math.log((docs - hits[term] + 0.5) / (hits[term] + 0.5))
            idf = idf if idf > 0 else 1e-6
            norm = 1.2 * (1 - 0.75 + 0.75 * len(tokens[claim_id]) / avgdl)
            score += idf * f * 2.2 / (f + norm)
        if score:
            scores[claim_id] = score
    return scores


async def assert_ranked_as_bm25(
    store: Store,
    indexed_ids: list[int],
    shown_ids: list[int],
    words: list[str],
    guild_id: int | None,
) -> None:
    found = await store.search_claims(expression(*words), guild_id=guild_id, limit=50)
    expected = await reference_bm25(store, indexed_ids, shown_ids, words)
    assert {i for i, _ in found} == set(expected)
    for claim_id, score in found:
        assert score == pytest.approx(expected[claim_id], rel=1e-9)
    assert [s for _, s in found] == sorted((s for _, s in found), reverse=True)


async def test_scores_are_bm25_of_what_the_store_holds_after_every_kind_of_write(
    store: Store,
) -> None:
    ids = []
    for text, context in [
        ("The moon landing was staged in a studio", "Apollo 11 hoax claims"),
        ("Vaccines cause autism in children", "A retracted study"),
        ("The moon is made of cheese, cheese and more cheese", ""),
        ("Drinking bleach cures the flu", "Moon-phase remedies"),
        ("The earth is flat", "A flat earth conference"),
    ]:
        ids.append((await store.add_claim(new_claim(text, context), actor="t", guild_id=None)).id)
    own = await store.add_claim(new_claim("Our moon rocks are fake"), actor="t", guild_id=GUILD_A)
    await store.edit_claim(ids[1], actor="t", guild_id=None, claim="Vaccines contain moon dust")
    imported = await store.import_claims(
        [
            validate_new_claim(new_claim("Moon dust cures autism", external_id="feed:1")),
            validate_new_claim(new_claim("The flu is a hoax", external_id="feed:2")),
        ],
        actor="t",
        guild_id=None,
    )
    await store.import_claims(
        [validate_new_claim(new_claim("Moon dust cures nothing at all", external_id="feed:1"))],
        actor="t",
        guild_id=None,
    )
    await store.set_active(ids[4], False, actor="t", guild_id=None)
    every = [*ids, own.id, *imported.claim_ids]
    shown_global = [i for i in every if i not in (own.id, ids[4])]
    words = ["moon", "cheese", "dust", "autism", "flu", "hoax", "earth"]
    await assert_ranked_as_bm25(store, every, shown_global, words, None)
    await assert_ranked_as_bm25(store, every, [*shown_global, own.id], words, GUILD_A)


async def test_an_edited_claim_is_found_by_its_new_words_only(store: Store) -> None:
    claim = await store.add_claim(new_claim("Windmills cause cancer"), actor="t", guild_id=None)
    await store.add_claim(new_claim("Cancer is curable with lemons"), actor="t", guild_id=None)
    await store.edit_claim(claim.id, actor="t", guild_id=None, claim="Windmills kill whales")
    old = await store.search_claims(expression("cancer"), guild_id=None, limit=5)
    new = await store.search_claims(expression("whales"), guild_id=None, limit=5)
    assert claim.id not in [i for i, _ in old]
    assert [i for i, _ in new] == [claim.id]
    ranked = await matching.rank_claims(store, "Do windmills kill whales?", guild_id=None)
    assert ranked[0].claim_id == claim.id


async def test_a_reimport_replaces_the_words_a_claim_is_found_by(store: Store) -> None:
    first = validate_new_claim(new_claim("Tap water is radioactive", external_id="feed:9"))
    result = await store.import_claims([first], actor="t", guild_id=None)
    claim_id = result.claim_ids[0]
    assert [
        i for i, _ in await store.search_claims(expression("radioactive"), guild_id=None, limit=5)
    ] == [claim_id]
    again = validate_new_claim(new_claim("Tap water is poisoned", external_id="feed:9"))
    await store.import_claims([again], actor="t", guild_id=None)
    assert await store.search_claims(expression("radioactive"), guild_id=None, limit=5) == []
    found = await store.search_claims(expression("poisoned"), guild_id=None, limit=5)
    assert [i for i, _ in found] == [claim_id]


async def test_a_forgotten_servers_claims_are_no_longer_found(store: Store) -> None:
    kept = await store.add_claim(new_claim("Comets carry viruses"), actor="t", guild_id=None)
    gone = await store.add_claim(new_claim("Comets are drones"), actor="t", guild_id=GUILD_A)
    assert {
        i for i, _ in await store.search_claims(expression("comets"), guild_id=GUILD_A, limit=5)
    } == {kept.id, gone.id}
    await store.forget_guild(GUILD_A, actor="t")
    found = await store.search_claims(expression("comets", "drones"), guild_id=GUILD_A, limit=5)
    assert [i for i, _ in found] == [kept.id]
    # The forgotten claim no longer counts in the index's totals either.
    await assert_ranked_as_bm25(store, [kept.id], [kept.id], ["comets", "viruses"], None)


async def test_a_visible_claim_below_many_hidden_ones_is_still_found(store: Store) -> None:
    # Another server's claims outrank the global one for the query, far beyond the first pool.
    hidden = [
        validate_new_claim(new_claim(f"Moon moon moon base number {n}", external_id=f"a:{n}"))
        for n in range(150)
    ]
    await store.import_claims(hidden, actor="t", guild_id=GUILD_A)
    shown = await store.add_claim(
        new_claim("A very long claim about the moon and many other words besides it"),
        actor="t",
        guild_id=None,
    )
    found = await store.search_claims(expression("moon"), guild_id=GUILD_B, limit=1)
    assert [i for i, _ in found] == [shown.id]


async def _drop_postings(target: str) -> None:
    """What a store from before V7 holds after the migration: empty postings."""
    if is_postgres_url(target):
        conn = await asyncpg.connect(target)
        try:
            await conn.execute("DELETE FROM claim_postings")
            await conn.execute("DELETE FROM meta WHERE key = 'claim_postings'")
        finally:
            await conn.close()
        return
    with sqlite3.connect(target) as db:
        db.execute("DELETE FROM claim_postings")
        db.execute("DELETE FROM claim_term_docs")
        db.execute("DELETE FROM claim_postings_totals")
    db.close()


async def test_a_store_from_before_postings_gets_them_when_it_opens(store_target: str) -> None:
    store = await open_store(store_target)
    try:
        ids = [
            (await store.add_claim(new_claim(text), actor="t", guild_id=None)).id
            for text in ("Sharks get cancer never", "Cancer is a fungus", "Sharks are fish")
        ]
    finally:
        await store.close()
    await _drop_postings(store_target)
    store = await open_store(store_target)
    try:
        await assert_ranked_as_bm25(store, ids, ids, ["sharks", "cancer", "fungus"], None)
        total, counts = await store.term_document_counts(["shark", "cancer", "whale"])
        assert (total, counts) == (3, {"shark": 2, "cancer": 2})
    finally:
        await store.close()


async def test_sqlite_ranks_exactly_as_fts5_bm25(tmp_path: object) -> None:
    path = str(tmp_path) + "/fts.db"  # type: ignore[operator]
    store = await open_store(path)
    try:
        for n, text in enumerate(
            [
                "The moon landing was staged",
                "The moon is cheese cheese cheese",
                "Landing on the moon is impossible, the moon is a hologram",
                "Cheese causes nightmares",
                "Staged photos of a landing",
            ]
        ):
            await store.add_claim(new_claim(text, f"context {n} moon"), actor="t", guild_id=None)
        expr = expression("moon", "landing", "cheese", "staged")
        found = await store.search_claims(expr, guild_id=None, limit=10)
    finally:
        await store.close()
    # FTS5 itself, over the text the store indexed (the store keeps no FTS5 index since V8).
    db = sqlite3.connect(":memory:")
    db.execute("ATTACH DATABASE ? AS store", (path,))
    db.execute(
        "CREATE VIRTUAL TABLE fts USING fts5 (claim, context, "
        "tokenize = 'unicode61 remove_diacritics 2')"
    )
    db.execute("INSERT INTO fts (rowid, claim, context) SELECT * FROM store.claim_search")
    fts = db.execute(
        "SELECT rowid, -bm25(fts) FROM fts WHERE fts MATCH ? ORDER BY bm25(fts), rowid", (expr,)
    ).fetchall()
    db.close()
    assert len(fts) == 5
    assert [i for i, _ in found] == [r[0] for r in fts]
    assert [s for _, s in found] == pytest.approx([r[1] for r in fts], rel=1e-12)


async def test_a_store_indexed_by_fts5_keeps_its_text_and_rankings_after_v8(
    tmp_path: Path,
) -> None:
    # A store as factbot left it up to V7: the indexed text in an FTS5 table.
    path = tmp_path / "v7.db"
    db = sqlite3.connect(path, isolation_level=None)
    for version, sql in _sqlite_migrations():
        if version <= 7:
            db.executescript(f"BEGIN;\n{sql}\nPRAGMA user_version = {version};\nCOMMIT;")
    texts = {1: "Sharks never get cancer", 2: "Cancer is a fungus", 3: "Sharks are fish"}
    for claim_id, text in texts.items():
        db.execute(
            "INSERT INTO claims (id, claim, verdict, external_id, created_by, created_at, "
            "updated_by, updated_at) VALUES (?, ?, 'false', ?, 't', 'now', 't', 'now')",
            (claim_id, text, f"x:{claim_id}"),
        )
        db.execute(
            "INSERT INTO claim_search (rowid, claim, context) VALUES (?, ?, '')",
            (claim_id, matching.index_terms(text)),
        )
    db.close()
    store = await open_store(str(path))
    try:
        assert await store.indexed_terms([2]) == {
            2: (matching.index_terms(texts[2]), "", None, None)
        }
        found = await store.search_claims(expression("sharks", "cancer"), guild_id=None, limit=5)
        assert [i for i, _ in found] == [1, 2, 3]
    finally:
        await store.close()
    with sqlite3.connect(path) as db:
        kinds = dict(
            db.execute("SELECT name, type FROM sqlite_master WHERE name LIKE 'claim_search%'")
        )
    db.close()
    assert kinds == {"claim_search": "table"}


async def test_one_identity_twice_in_one_import_is_found_by_its_last_words(store: Store) -> None:
    records = [
        validate_new_claim(new_claim("Bananas are radioactive", external_id="feed:7")),
        validate_new_claim(new_claim("Bananas are blue inside", external_id="feed:7")),
        validate_new_claim(new_claim("Radioactive rain falls in spring", external_id="feed:8")),
    ]
    result = await store.import_claims(records, actor="t", guild_id=None)
    banana, rain = result.claim_ids[0], result.claim_ids[2]
    found = await store.search_claims(expression("radioactive"), guild_id=None, limit=5)
    assert [i for i, _ in found] == [rain]
    await assert_ranked_as_bm25(
        store, [banana, rain], [banana, rain], ["bananas", "blue", "radioactive"], None
    )


def postings_rows(claims: dict[int, str], words: list[str]) -> list[tuple[str, int, bytes]]:
    """The postings rows a search for ``words`` reads, for claims (id -> text)."""
    change = postings.PostingsChange()
    for claim_id, text in claims.items():
        change.add(claim_id, matching.index_terms(text), "")
    wanted = set(matching.query_terms(" ".join(words)))
    return [(t, chunk, b"".join(data)) for (t, chunk), data in change.added.items() if t in wanted]


DAM_TEXTS = [
    "The Marren dam will flood the whole valley next spring",
    "Flood warnings for the coast this weekend",
    "The valley dam is safe, engineers say",
    "A new bridge over the river opens in May",
    "The dam flood story is false",
]


@pytest.mark.parametrize("best", [None, 2])
def test_claims_with_ids_past_eight_million_rank_as_with_small_ids(best: int | None) -> None:
    # A store whose ids run past the dense range (a long-lived PostgreSQL store, a copied
    # one) must rank its claims exactly as a store whose ids are small.
    small = {i + 1: text for i, text in enumerate(DAM_TEXTS)}
    sparse = {9_000_000 + 70_001 * i: text for i, text in enumerate(DAM_TEXTS)}
    words = ["dam", "flood", "valley"]
    totals = {"docs": len(DAM_TEXTS), "tokens": 30, "weights": (1.0, 0.5), "best": best}
    expected = postings.rank(postings_rows(small, words), **totals)  # type: ignore[arg-type]
    got = postings.rank(postings_rows(sparse, words), **totals)  # type: ignore[arg-type]
    assert len(expected.ids) == (best or 4)  # the bridge holds none of the words
    assert expected.scores == sorted(expected.scores, reverse=True)
    assert got.ids == [9_000_000 + 70_001 * (i - 1) for i in expected.ids]
    assert got.scores == pytest.approx(expected.scores)
    assert got.complete == expected.complete == (best is None)


def test_a_search_that_is_not_an_or_of_quoted_terms_is_refused() -> None:
    assert postings.match_terms('"dam" OR "he said ""no"""') == ["dam", "he", "said", '"no"']
    for bad in ['"dam" AND "flood"', "dam", '"dam" OR flood', ""]:
        with pytest.raises(InvalidInput, match=r"^a search is an OR of quoted terms$"):
            postings.match_terms(bad)


def fts5_bm25(
    tf: tuple[int, int],
    length: int,
    *,
    hits: int,
    docs: int,
    tokens: int,
    weights: tuple[float, float],
) -> float:
    """FTS5's bm25() for one term of one claim, written out from its documentation."""
    idf = math.log((docs - hits + 0.5) / (hits + 0.5))
    idf = idf if idf > 0 else 1e-6
    freq = weights[0] * tf[0] + weights[1] * tf[1]
    return idf * freq * 2.2 / (freq + 1.2 * (0.25 + 0.75 * length / (tokens / docs)))


@pytest.mark.parametrize(("docs", "tokens"), [(10, 20), (2, 3)])
def test_a_term_in_the_claim_and_one_in_its_context_score_as_fts5(docs: int, tokens: int) -> None:
    change = postings.PostingsChange()
    change.add(1, "dam", "")
    change.add(2, "flood", "dam")
    rows = [(t, c, b"".join(d)) for (t, c), d in change.added.items() if t == "dam"]
    weights = (1.0, 0.25)
    ranked = postings.rank(rows, docs=docs, tokens=tokens, weights=weights, best=None)
    totals = {"hits": 2, "docs": docs, "tokens": tokens, "weights": weights}
    assert ranked.ids == [1, 2]  # the claim that says it before the one whose context does
    assert ranked.scores == pytest.approx(
        [fts5_bm25((1, 0), 1, **totals), fts5_bm25((0, 1), 2, **totals)], rel=1e-9
    )


def test_a_store_of_one_word_scores_as_fts5() -> None:
    rows = postings_rows({1: "dam"}, ["dam"])
    ranked = postings.rank(rows, docs=1, tokens=1, weights=(1.0, 1.0), best=None)
    totals = {"hits": 1, "docs": 1, "tokens": 1, "weights": (1.0, 1.0)}
    assert ranked.ids == [1]
    assert ranked.scores == pytest.approx([fts5_bm25((1, 0), 1, **totals)], rel=1e-9)


def test_claims_tied_at_the_cut_are_all_kept() -> None:
    texts = {1: "the dam will flood", 2: "the dam will flood", 3: "a dam", 4: "flood"}
    rows = postings_rows(texts, ["dam", "flood"])
    totals = {"docs": 4, "tokens": 8, "weights": (1.0, 1.0)}
    tied = postings.rank(rows, best=1, **totals)  # type: ignore[arg-type]
    assert tied.ids == [1, 2] and tied.scores[0] == tied.scores[1]
    assert not tied.complete  # claims 3 and 4 were left out
    every = postings.rank(rows, best=4, **totals)  # type: ignore[arg-type]
    assert every.ids[:2] == [1, 2] and sorted(every.ids) == [1, 2, 3, 4] and every.complete


@pytest.mark.parametrize(
    ("rows", "docs"),
    [([], 5), ([("dam", 0, b"")], 5), ([("dam", 0, postings_rows({1: "dam"}, ["dam"])[0][2])], 0)],
    ids=["no-rows", "emptied-row", "no-claims-counted"],
)
def test_nothing_to_rank_ranks_nothing(rows: list[tuple[str, int, bytes]], docs: int) -> None:
    ranked = postings.rank(rows, docs=docs, tokens=10, weights=(1.0, 1.0), best=3)
    assert ranked == postings.Ranked([], [], True)


def test_a_claim_added_and_removed_in_one_change_leaves_no_entry() -> None:
    # One import holding one identity twice: its first words must not stay findable.
    change = postings.PostingsChange()
    change.add(70_000, "dam flood", "")
    change.add(70_001, "dam", "")
    change.remove(70_000, "dam flood", "")
    assert change.new_data(("dam", 1), None) == b"".join(change.added[("dam", 1)])
    assert ("flood", 1) not in change.added
    kept = postings.rank(
        [("dam", 1, change.new_data(("dam", 1), None))],
        docs=1,
        tokens=1,
        weights=(1.0, 1.0),
        best=None,
    )
    assert kept.ids == [70_001]
    assert change.docs == 1 and change.tokens == 1


def test_a_change_counts_the_claims_of_a_term_across_id_ranges() -> None:
    # Claims 65,536 ids apart sit in different postings rows; the term's claim count (its
    # IDF) must add them all, and subtract every removed one.
    change = postings.PostingsChange()
    for claim_id in (1, 2, 70_000, 140_000):
        change.add(claim_id, "dam flood", "")
    for claim_id in (5, 70_005):
        change.remove(claim_id, "dam", "")
    change.remove(140_001, "river", "")
    assert change.term_docs() == {"dam": 2, "flood": 4, "river": -1}


@pytest.mark.parametrize("at_once", [4096, 4])
def test_claims_added_together_rank_as_claims_added_one_by_one(
    at_once: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An import counts a batch's postings at once (add_many, ``at_once`` claims at a time):
    # its rows must be exactly those of adding each claim alone, so every search ranks the
    # same: across id ranges, a term in the claim and its context, a claim with words only in
    # its context, a term repeated past the 255 a posting counts, a claim longer than the
    # 65,535 tokens a posting records, and no words.
    monkeypatch.setattr(postings, "_MANY", at_once)
    claims = [
        (3, "dam flood valley dam", "flood warning"),
        (65_535, "flood", ""),
        (65_536, "bridge river", "dam " * 300),
        (70_000, "", ""),
        (140_001, "valley valley", "river"),
        (4, "dam", "dam dam"),
        (9, "", "flood flood"),
        (10, "levee", "silt " * 70_000),
    ]
    one_by_one, together = postings.PostingsChange(), postings.PostingsChange()
    for claim in claims:
        one_by_one.add(*claim)
    together.add_many(claims)
    keys = together.keys()
    assert sorted(keys) == sorted(one_by_one.keys())
    for key in keys:
        assert together.new_data(key, None) == one_by_one.new_data(key, None), key
    assert (together.docs, together.tokens) == (one_by_one.docs, one_by_one.tokens)
    assert (together.docs, together.tokens) == (8, 315 + 2 + 70_001)
    assert (
        together.term_docs()
        == one_by_one.term_docs()
        == {
            "dam": 3,
            "flood": 3,
            "valley": 2,
            "warning": 1,
            "bridge": 1,
            "river": 2,
            "levee": 1,
            "silt": 1,
        }
    )
    for change in (one_by_one, together):
        change.remove(3, "dam flood valley dam", "flood warning")  # one identity twice

    def ranked(change: postings.PostingsChange, term: str) -> postings.Ranked:
        keys = [key for key in change.keys() if key[0] == term]  # noqa: SIM118 (not a dict)
        rows = [(t, c, change.new_data((t, c), None)) for t, c in keys]
        return postings.rank(rows, docs=7, tokens=70_312, weights=(1.0, 0.5), best=None)

    for term in ("dam", "flood", "valley", "warning", "bridge", "river", "levee", "silt"):
        assert ranked(together, term) == ranked(one_by_one, term)
    assert ranked(together, "dam").ids == [65_536, 4]
    assert ranked(together, "flood").ids == [65_535, 9]
    assert ranked(together, "warning").ids == []


def test_claims_added_in_batches_count_as_claims_added_one_by_one() -> None:
    # add_many is add for each claim, also into a change that holds claims already: BM25's
    # claim count and mean length must count every batch, not the last one only.
    batches = [[(1, "dam flood", "")], [(2, "valley dam", "river"), (3, "bridge", "")]]
    one_by_one, in_batches = postings.PostingsChange(), postings.PostingsChange()
    for batch in batches:
        for claim in batch:
            one_by_one.add(*claim)
        in_batches.add_many(batch)
    assert (in_batches.docs, in_batches.tokens) == (one_by_one.docs, one_by_one.tokens) == (3, 6)
    assert (
        in_batches.term_docs()
        == one_by_one.term_docs()
        == {
            "dam": 2,
            "flood": 1,
            "valley": 1,
            "river": 1,
            "bridge": 1,
        }
    )


async def test_an_import_over_thousands_of_known_words_keeps_older_claims_found_by_each(
    store: Store,
) -> None:
    # A feed's second import repeats words the first brought (more than 5,000 of them, as a big
    # import does): every older claim is still found by each of its words, as well as before.
    words = [f"w{n:04d}" for n in range(5200)]
    texts = [" ".join(words[start : start + 100]) for start in range(0, len(words), 100)]
    for feed in ("first", "second"):
        records = [
            validate_new_claim(new_claim(text, external_id=f"{feed}:{n}"))
            for n, text in enumerate(texts)
        ]
        await store.import_claims(records, actor=feed, guild_id=None)
    found = await store.search_claims(expression(*words), guild_id=None, limit=2 * len(texts))
    assert sorted(i for i, _ in found) == list(range(1, 2 * len(texts) + 1))
    # Every claim holds 100 words, each held by two claims: all score alike.
    scores = [s for _, s in found]
    assert scores == pytest.approx([scores[0]] * len(scores), rel=1e-9)
