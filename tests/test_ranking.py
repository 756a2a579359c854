"""The semantic stage inside the bot's ranking: vectors kept in step with the claims."""

from __future__ import annotations

import asyncio
import json
from datetime import date
from pathlib import Path

import pytest

from bot import matching, semantic
from bot.cli import main
from bot.ranking import Ranker, embed_missing_claims
from bot.services import open_store
from bot.store import NewClaim, Store
from tests.articles import ARTICLE_CLAIMS, partisan_article
from tests.test_matching import OLD_CLAIM, SIXTEEN_CLAIMS, add_old_claim_and_newer_rivals

# Without the semantic extra there is nothing to rank with: skip, as tests/test_semantic.py does.
pytestmark = pytest.mark.skipif(
    not semantic.semantic_available(), reason="factbot[semantic] not installed"
)


@pytest.fixture(scope="module")
def embedder() -> semantic.Embedder:
    return semantic.load_embedder()


CLAIMS = [
    "Bill Gates wants to microchip everyone through vaccines",
    "5G towers spread the coronavirus in Wuhan",
    "The 2020 election was stolen through Dominion voting machines",
]


async def test_claims_added_after_start_up_are_ranked_semantically(
    store: Store, embedder: semantic.Embedder
) -> None:
    ids = [
        (await store.add_claim(NewClaim(c, "false"), actor="t", guild_id=None)).id for c in CLAIMS
    ]
    assert await store.get_vectors(semantic.MODEL_ID, ids) == {}
    ranker = Ranker(embedder)
    text = "Viral post says Bill Gates wants to microchip everyone through vaccines"
    candidates = await ranker.rank(store, text, guild_id=None, limit=3)
    assert candidates[0].claim_id == ids[0]
    assert candidates[0].confidence >= matching.DEFAULT_REPLY_THRESHOLD
    # The missing vectors were made once and kept.
    assert set(await store.get_vectors(semantic.MODEL_ID, ids)) >= {ids[0]}


async def test_an_unrelated_text_stays_below_the_threshold(
    store: Store, embedder: semantic.Embedder
) -> None:
    for claim in CLAIMS:
        await store.add_claim(NewClaim(claim, "false"), actor="t", guild_id=None)
    ranker = Ranker(embedder)
    for text in (
        "New vaccines for flu season are available at pharmacies, officials say",
        "Dominion Energy raises electricity prices for customers in Virginia this winter",
    ):
        candidates = await ranker.rank(store, text, guild_id=None, limit=3)
        assert not candidates or candidates[0].confidence < matching.DEFAULT_REPLY_THRESHOLD, text


async def test_editing_a_claim_replaces_its_vector(
    store: Store, embedder: semantic.Embedder
) -> None:
    claim = await store.add_claim(NewClaim(CLAIMS[0], "false"), actor="t", guild_id=None)
    assert await embed_missing_claims(store, embedder) == 1
    before = await store.get_vectors(semantic.MODEL_ID, [claim.id])
    await store.edit_claim(claim.id, actor="mod", guild_id=None, claim=CLAIMS[1])
    assert await store.get_vectors(semantic.MODEL_ID, [claim.id]) == {}
    assert await embed_missing_claims(store, embedder) == 1
    assert await store.get_vectors(semantic.MODEL_ID, [claim.id]) != before


async def test_bulk_embedding_stores_each_claim_its_own_vector(
    store: Store, embedder: semantic.Embedder
) -> None:
    # Claims of many lengths, embedded in length order by two workers at once: every vector
    # must still land on its own claim.
    texts = [f"{CLAIMS[i % 3]} {'and more words ' * (i % 7)}claim {i}" for i in range(40)]
    ids = [
        (await store.add_claim(NewClaim(t, "false"), actor="t", guild_id=None)).id for t in texts
    ]
    assert await embed_missing_claims(store, embedder, workers=2) == len(texts)
    stored = await store.get_vectors(semantic.MODEL_ID, ids)
    alone = embedder.embed(texts)
    for i, claim_id in enumerate(ids):
        assert float(semantic.blob_to_vector(stored[claim_id]) @ alone[i]) > 0.999, texts[i]
    assert await embed_missing_claims(store, embedder, workers=2) == 0


async def test_an_article_is_matched_and_quoted_by_the_sentence_that_repeats_the_claim(
    store: Store, embedder: semantic.Embedder
) -> None:
    ids = [
        (await store.add_claim(NewClaim(c, "false"), actor="t", guild_id=None)).id
        for c in ARTICLE_CLAIMS
    ]
    headline, standfirst, body = partisan_article()
    page = "\n".join([f"{headline} | Another Site", "Our view, reposted.", standfirst, *body])
    candidates = await Ranker(embedder).rank(store, page, guild_id=None, limit=5)
    replied = matching.replies(candidates, matching.DEFAULT_REPLY_THRESHOLD)
    # Only the claim the page repeats is replied, and the quote is the page's own sentence.
    assert [c.claim_id for c in replied] == [ids[0]]
    quote = replied[0].quote
    assert quote is not None and "41 million pounds" in quote
    assert quote in " ".join(" ".join(body).split())


async def test_a_claim_repeated_whole_in_a_long_article_is_replied_semantically(
    store: Store, embedder: semantic.Embedder
) -> None:
    """As in the lexical stage (tests/test_matching.py): pages of 3,800 and 7,500 characters
    with one sentence repeating a claim whole get that reply, quoted; without it, silence."""
    ids = [
        (await store.add_claim(NewClaim(c, "false"), actor="t", guild_id=None)).id
        for c in SIXTEEN_CLAIMS
    ]
    filler = [
        f"Clinics in district {n} gave {n * 130} doses of measles vaccines on day {n}, the "
        "health office said."
        for n in range(1, 80)
    ]
    repeat = "A viral post claims that COVID vaccines make people magnetic, which doctors deny."
    ranker = Ranker(embedder)
    for size in (40, 79):
        text = " ".join([*filler[: size // 2], repeat, *filler[size // 2 : size]])
        ranked = await ranker.rank(store, text, guild_id=None, limit=5)
        replied = matching.replies(ranked, matching.DEFAULT_REPLY_THRESHOLD)
        assert [(c.claim_id, c.quote) for c in replied] == [(ids[1], repeat)]
        without = await ranker.rank(store, " ".join(filler[:size]), guild_id=None, limit=5)
        assert not matching.should_reply(without, matching.DEFAULT_REPLY_THRESHOLD)


async def test_a_transcript_naming_the_claimant_ranks_that_persons_claim_first(
    store: Store, embedder: semantic.Embedder
) -> None:
    said = "Our tariffs brought back 40,000 steel jobs to Ohio in one year."
    ids = {
        who: (
            await store.add_claim(NewClaim(said, "false", claimant=who), actor="t", guild_id=None)
        ).id
        for who in ("Senator Ann Ruiz", "Governor Bo Park")
    }
    for claim in CLAIMS:
        await store.add_claim(NewClaim(claim, "false"), actor="t", guild_id=None)
    transcript = (
        "MODERATOR: Governor, your response on trade.\n"
        "PARK: Thank you. Let me say what this administration did for working families. "
        "Our tariffs brought back 40,000 steel jobs to Ohio in a single year, and the mills "
        "that had closed are hiring again. Nobody thought it could be done. We did it.\n"
        "MODERATOR: Senator, thirty seconds."
    )
    candidates = await Ranker(embedder).rank(store, transcript, guild_id=None, limit=3)
    assert [c.claim_id for c in candidates[:2]] == [
        ids["Governor Bo Park"],
        ids["Senator Ann Ruiz"],
    ]
    assert [c.claimant_named for c in candidates[:2]] == [True, False]


async def test_the_claim_of_the_texts_time_ranks_first_and_the_date_keeps_no_claim_out(
    store: Store, embedder: semantic.Embedder
) -> None:
    old = await add_old_claim_and_newer_rivals(store)
    new = NewClaim(OLD_CLAIM, "false", claim_date="2026-11-29")
    again = (await store.add_claim(new, actor="t", guild_id=None)).id
    ranker = Ranker(embedder)

    async def top(on: date | None) -> list[matching.Candidate]:
        return await ranker.rank(store, OLD_CLAIM, guild_id=None, limit=3, text_date=on)

    # The same words checked in 1996 and again in 2026: the check of the text's time first.
    then, now = await top(date(1996, 4, 2)), await top(date(2026, 12, 1))
    assert [c.claim_id for c in then[:2]] == [old, again]
    assert [c.claim_id for c in now[:2]] == [again, old]
    # The newer claims in other words may rise, but which are kept is the text's words' choice.
    undated = await top(None)
    assert {c.claim_id for c in now} == {c.claim_id for c in undated}
    threshold = matching.DEFAULT_REPLY_THRESHOLD
    replied = {c.claim_id for c in matching.replies(now, threshold)}
    assert replied == {old, again} == {c.claim_id for c in matching.replies(undated, threshold)}


async def test_every_claim_is_quoted_where_the_page_says_it_even_past_the_embedded_places(
    store: Store, embedder: semantic.Embedder
) -> None:
    # More claims than the semantic stage embeds places for (its best candidates' best units):
    # a claim whose own sentence was not embedded is still quoted by that sentence, never by the
    # sentence another claim's vector happened to be closest to.
    sentences = [
        "The new bridge over the Elm river cost 90 million dollars.",
        "Half of the city's buses now run on hydrogen fuel cells.",
        "Crime in the harbour district fell by a third last year.",
        "The mayor's office hired 400 new teachers in September.",
        "Water bills in the northern suburbs doubled since 2019.",
        "The airport expansion will destroy 12 square kilometres of wetland.",
        "Every public library will close on Sundays from next spring.",
        "The stadium deal gives the football club 50 years rent free.",
    ]
    assert len(sentences) > semantic.MAX_UNITS
    ids = {}
    for sentence in sentences:
        claim = await store.add_claim(NewClaim(sentence, "false"), actor="t", guild_id=None)
        ids[claim.id] = sentence
    # A store of some size: the gathering query reads postings up to twice the store's claims.
    others = [
        NewClaim(f"Unrelated rumour number {n} about {n} aliens.", "false") for n in range(60)
    ]
    await store.import_claims(others, actor="t", guild_id=None)
    page = "City news roundup.\n" + " ".join(sentences)
    candidates = await Ranker(embedder).rank(store, page, guild_id=None, limit=len(sentences))
    assert {c.claim_id for c in candidates} == set(ids)
    assert {c.claim_id: c.quote for c in candidates} == ids


async def test_an_article_on_the_same_topic_that_repeats_no_claim_stays_silent(
    store: Store, embedder: semantic.Embedder
) -> None:
    for claim in ARTICLE_CLAIMS:
        await store.add_claim(NewClaim(claim, "false"), actor="t", guild_id=None)
    headline, standfirst, body = partisan_article()
    # The same article without the paragraph that repeats the payment claim.
    rest = [p for p in body if "41 million" not in p]
    assert len(rest) < len(body)
    page = "\n".join([headline, standfirst, *rest])
    candidates = await Ranker(embedder).rank(store, page, guild_id=None, limit=5)
    assert matching.replies(candidates, matching.DEFAULT_REPLY_THRESHOLD) == []


async def test_an_import_leaves_every_claim_with_its_own_vector(tmp_path: Path) -> None:
    # More claims than one write of vectors holds: the model loads while the records go in,
    # and each written group of vectors lands on its own claims.
    texts = [f"{CLAIMS[i % 3]} {'and more words ' * (i % 5)}claim number {i}" for i in range(600)]
    feed = tmp_path / "feed.json"
    reviews = [
        {
            "@type": "ClaimReview",
            "@id": f"https://fc.example.org/review/{i}",
            "claimReviewed": text,
            "reviewRating": {"alternateName": "False"},
        }
        for i, text in enumerate(texts)
    ]
    feed.write_text(json.dumps(reviews), encoding="utf-8")
    db = tmp_path / "store.db"
    assert await asyncio.to_thread(main, ["import", str(feed), "--db", str(db)]) == 0
    store = await open_store(str(db))
    try:
        assert await store.claims_without_vectors(semantic.MODEL_ID) == []
        claims = await store.list_claims(guild_id=None)
        stored = await store.get_vectors(semantic.MODEL_ID, [c.id for c in claims])
        picked = [claims[0], claims[300], claims[599]]
        alone = semantic.load_embedder().embed([c.claim for c in picked])
        for claim, vector in zip(picked, alone, strict=True):
            assert float(semantic.blob_to_vector(stored[claim.id]) @ vector) > 0.999
    finally:
        await store.close()


async def test_vectors_of_the_published_graph_are_replaced_after_the_upgrade(
    store: Store, embedder: semantic.Embedder
) -> None:
    # A store written by the version before the derived graph: its vectors are another space.
    ids = [
        (await store.add_claim(NewClaim(c, "false"), actor="t", guild_id=None)).id for c in CLAIMS
    ]
    old = semantic.vector_to_blob([1.0] + [0.0] * (embedder.dim - 1))
    await store.put_vectors("all-MiniLM-L6-v2-onnx-int8", [(i, old) for i in ids])
    assert await embed_missing_claims(store, embedder, batch_size=2) == len(ids)
    assert await store.claims_without_vectors(semantic.MODEL_ID) == []
    stored = await store.get_vectors(semantic.MODEL_ID, ids)
    fresh = embedder.embed(list(CLAIMS))
    assert [semantic.blob_to_vector(stored[i]).tolist() for i in ids] == fresh.tolist()
    assert await store.get_vectors("all-MiniLM-L6-v2-onnx-int8", ids) == {}
    assert await embed_missing_claims(store, embedder) == 0
