"""Text normalisation, FTS5 query building against a real FTS5 table, and the reply decision."""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Sequence
from datetime import date

import pytest

from bot import matching
from bot.store import NewClaim, Store, validate_new_claim


async def add_claims(store: Store, claims: Sequence[tuple[str, str]]) -> list[int]:
    records = [
        validate_new_claim(NewClaim(claim=claim, verdict="false", context=context))
        for claim, context in claims
    ]
    result = await store.import_claims(records, actor="test", guild_id=None)
    return result.claim_ids


# --- normalisation ---------------------------------------------------------------------------


def test_index_terms_stems_and_drops_stop_words() -> None:
    assert matching.index_terms("The vaccines are causing autism") == "vaccin caus autism"


def test_index_terms_strips_links_and_splits_tags() -> None:
    text = "Look! https://t.co/AbC123 pic.twitter.com/xyz #DefundTheCBC @realDonaldTrump"
    assert matching.index_terms(text) == "look defund cbc real donald trump"


def test_index_terms_folds_possessives_apostrophes_and_thousands() -> None:
    assert matching.index_terms("McDonald’s paid 1,000 dollars") == matching.index_terms(
        "mcdonalds paid 1000 dollar"
    )
    assert matching.index_terms("Don't") == ""


def test_index_terms_fold_what_people_type_in_capitals_full_width_and_other_scripts() -> None:
    assert matching.index_terms("HTTPS://EXAMPLE.COM/A WWW.EXAMPLE.ORG/B THE BOSS’S") == "boss"
    assert matching.index_terms("ＶＡＣＣＩＮＥＳ") == matching.index_terms("vaccines")
    # A hashtag with no Latin words keeps its own; a camel-cased one is split.
    assert matching.index_terms("#東京 #NoCamelCase #2020Election") == "東京 camel case 2020 elect"


def test_query_terms_are_distinct_in_text_order() -> None:
    assert matching.query_terms("Obama obama OBAMA banned flags, flag") == ["obama", "ban", "flag"]


def test_choose_terms_keeps_the_rarest_known_terms() -> None:
    counts = {"a": 50, "b": 2, "c": 9, "d": 2}
    assert matching.choose_terms(["a", "b", "x", "c", "d"], counts, max_terms=3) == ["b", "d", "c"]


# --- the FTS5 expression ---------------------------------------------------------------------

HOSTILE = [
    '"',
    '""quoted"" "unbalanced',
    "*",
    "pre* *fix",
    "NEAR",
    "NEAR(",
    "NEAR(a b, 3)",
    "-",
    "-minus --double",
    "^start ^",
    ":",
    "claim: context:value {claim context}:x",
    "AND",
    "OR",
    "NOT",
    "cats AND dogs OR NOT birds",
    "and or not near",
    "(((",
    ")) unbalanced (",
    "+ - * / \\ | & ! ? , . ; ' ` ~ @ # $ % = [ ] { } < >",
    "🔥🔥 vaccine 💉 emoji 🇨🇦",
    "\x00 null \u200b zero-width \ufeff",
    "",
    "   \n\t ",
]


def test_match_expression_quotes_every_term() -> None:
    expr = matching.match_expression('NEAR( cats AND "dogs" -birds*')
    assert expr == '"near" OR "cat" OR "dog" OR "bird"'


@pytest.mark.parametrize("text", ["", "   ", "the and of", "!!! ???", "https://example.com/a"])
def test_match_expression_is_none_when_nothing_is_searchable(text: str) -> None:
    assert matching.match_expression(text) is None


def test_match_expression_caps_terms() -> None:
    text = " ".join(f"word{i}" for i in range(500))
    expr = matching.match_expression(text, max_terms=7)
    assert expr is not None
    assert expr.count(" OR ") == 6


def _junk(rng: random.Random, size: int) -> str:
    alphabet = "\"'*:^-+()[]{}<>NEARANDORNOT near and or not abc xyz 123 ,.;!?#@\\/|&~`$%\n\t🔥é"
    return "".join(rng.choice(alphabet) for _ in range(size))


async def test_hostile_text_never_breaks_the_fts_query(store: Store) -> None:
    ids = await add_claims(store, [("Cats and dogs are near the border", "NOT a real claim")])
    rng = random.Random(20240501)
    texts = [*HOSTILE, _junk(rng, 10_000), *(_junk(rng, rng.randint(1, 300)) for _ in range(200))]
    for text in texts:
        expr = matching.match_expression(text)
        if expr is not None:
            hits = await store.search_claims(
                expr, guild_id=None, limit=5, weights=matching.COLUMN_WEIGHTS
            )
            assert {hit[0] for hit in hits} <= set(ids)
        for guild_id in (None, 123):
            ranked = await matching.rank_claims(store, text, guild_id=guild_id, limit=5)
            assert {c.claim_id for c in ranked} <= set(ids)
            assert all(0.0 <= c.confidence <= 1.0 for c in ranked)
    # The store still answers an honest query.
    honest = await matching.rank_claims(store, "cats and dogs near the border", guild_id=None)
    assert [c.claim_id for c in honest] == ids


async def test_empty_store_ranks_nothing(store: Store) -> None:
    assert await matching.rank_claims(store, "vaccines cause autism", guild_id=None) == []


async def test_ranking_gives_the_ten_best_by_default_and_none_for_a_limit_below_one(
    store: Store,
) -> None:
    """Twelve claims share the text's words: ten come back unless asked for another number, and
    none for a limit of zero or less (not "all but the last", as a negative slice would give).
    A candidate lists the text's units only when asked (the semantic stage asks)."""
    ids = await add_claims(
        store, [(f"Vaccines cause autism in {n} children", "") for n in range(12)]
    )
    text = "Vaccines cause autism in children, a post says"
    ranked = await matching.rank_claims(store, text, guild_id=None)
    assert len(ranked) == 10 and {c.claim_id for c in ranked} <= set(ids)
    assert all(c.units == () for c in ranked)
    assert len(await matching.rank_claims(store, text, guild_id=None, limit=1)) == 1
    for limit in (0, -1):
        assert await matching.rank_claims(store, text, guild_id=None, limit=limit) == []


# --- ranking and the reply decision ----------------------------------------------------------

CLAIMS = [
    (
        "Drinking bleach cures the coronavirus.",
        "Does Drinking Bleach Cure COVID-19?\nHealth officials warn against drinking it.",
    ),
    (
        "The Eiffel Tower will be dismantled and moved to Las Vegas in 2025.",
        "Is the Eiffel Tower Moving to Las Vegas?\nA satirical article said it was sold.",
    ),
    (
        "A photo shows a shark swimming on a flooded highway in Houston after Hurricane Harvey",
        "Shark on a Houston Freeway?\nThe image is a composite that resurfaces after storms.",
    ),
    (
        "Bill Gates said vaccines will be used to implant microchips in people.",
        "Did Bill Gates Plan to Microchip People Through Vaccines?\nNo such statement was made.",
    ),
    (
        "NASA confirmed that the Earth will experience six days of total darkness in December.",
        "Six Days of Darkness?\nA hoax about a solar storm has circulated since 2012.",
    ),
    (
        "McDonald's uses ground worms as filler in its hamburgers.",
        "Worms in McDonald's Burgers?\nAn old rumor about cheap protein filler.",
    ),
    (
        "The city of Houston banned grocery stores from selling bottled water during storms.",
        "Did Houston Ban Bottled Water Sales?\nNo ordinance banned the sale of water.",
    ),
    (
        "Scientists found that eating chocolate every day helps you lose weight.",
        "Chocolate Diet Study\nThe study was a deliberate hoax to expose bad science reporting.",
    ),
]

MIRROR_ARTICLE = (
    "Viral photo: shark swimming on flooded Houston highway after Hurricane Harvey\n"
    "A photograph said to show a shark swimming on a flooded highway in Houston is being shared "
    "again as Hurricane Harvey hits Texas.\n"
    "As floodwaters rose across Houston, social media users shared a photograph of a shark "
    "swimming along a flooded highway, saying it was taken after Hurricane Harvey made landfall."
)

UNRELATED_ARTICLE = (
    "Local council approves new cycling lanes for the city centre\n"
    "The council voted on Tuesday to add protected bike lanes on three main streets.\n"
    "Residents said the new lanes would make commuting safer, while some shop owners worried "
    "about losing parking spaces during the two-year construction period."
)


async def test_article_on_a_mirror_site_is_matched_by_content(store: Store) -> None:
    ids = await add_claims(store, CLAIMS)
    candidates = await matching.rank_claims(store, MIRROR_ARTICLE, guild_id=None, limit=5)
    assert candidates[0].claim_id == ids[2]
    assert matching.should_reply(candidates, matching.DEFAULT_REPLY_THRESHOLD)
    assert all(0.0 <= c.confidence <= 1.0 for c in candidates)
    assert [c.score for c in candidates] == sorted((c.score for c in candidates), reverse=True)


async def test_unrelated_article_is_left_silent(store: Store) -> None:
    await add_claims(store, CLAIMS)
    candidates = await matching.rank_claims(store, UNRELATED_ARTICLE, guild_id=None, limit=5)
    assert not matching.should_reply(candidates, matching.DEFAULT_REPLY_THRESHOLD)


async def test_article_sharing_one_topic_word_is_left_silent(store: Store) -> None:
    await add_claims(store, CLAIMS)
    text = "Houston weather: rain expected on the weekend, and city crews clear storm drains."
    candidates = await matching.rank_claims(store, text, guild_id=None, limit=5)
    assert not matching.should_reply(candidates, matching.DEFAULT_REPLY_THRESHOLD)


async def test_two_rival_claims_make_neither_confident(store: Store) -> None:
    await add_claims(
        store,
        [
            ("Senator Smith voted to ban plastic straws in restaurants.", ""),
            ("Senator Jones voted to ban plastic straws in restaurants.", ""),
            *CLAIMS,
        ],
    )
    text = "A senator voted to ban plastic straws in restaurants, the post says."
    candidates = await matching.rank_claims(store, text, guild_id=None, limit=5)
    assert not matching.should_reply(candidates, matching.DEFAULT_REPLY_THRESHOLD)


async def test_a_twin_is_not_a_rival(store: Store) -> None:
    # The same claim stored twice (quote marks differ) must not make the match look ambiguous.
    ids = await add_claims(
        store,
        [
            ('Mike Pence said that "only guilty people need a criminal defense attorney."', ""),
            ("Mike Pence said that 'only guilty people need a criminal defense attorney.'", ""),
            *CLAIMS,
        ],
    )
    text = "Mike Pence: only guilty people need to hire a criminal defense attorney"
    candidates = await matching.rank_claims(store, text, guild_id=None, limit=5)
    assert {c.claim_id for c in candidates[:2]} == set(ids[:2])
    assert matching.should_reply(candidates, matching.DEFAULT_REPLY_THRESHOLD)


async def test_excluded_claims_are_ranked_as_if_absent(store: Store) -> None:
    ids = await add_claims(store, CLAIMS)
    candidates = await matching.rank_claims(
        store, MIRROR_ARTICLE, guild_id=None, limit=5, exclude={ids[2]}
    )
    assert ids[2] not in [c.claim_id for c in candidates]
    assert not matching.should_reply(candidates, matching.DEFAULT_REPLY_THRESHOLD)


async def test_excluded_claims_leave_a_full_pool_of_the_others(store: Store) -> None:
    """Holding claims out (as the evaluation does) still ranks a full pool of the rest."""
    ids = await add_claims(
        store, [(f"Vaccines cause autism in {n} children", "") for n in range(70)]
    )
    pool = matching.GATHER_POOL
    ranked = await matching.rank_claims(
        store, "Vaccines cause autism in children", guild_id=None, limit=pool, exclude=ids[:3]
    )
    assert len(ranked) == pool and not {c.claim_id for c in ranked} & set(ids[:3])


async def test_retired_and_other_guilds_claims_are_not_ranked(store: Store) -> None:
    ids = await add_claims(store, CLAIMS)
    await store.set_active(ids[2], False, actor="test", guild_id=None)
    candidates = await matching.rank_claims(store, MIRROR_ARTICLE, guild_id=None, limit=10)
    assert ids[2] not in [c.claim_id for c in candidates]
    own = await store.import_claims(
        [validate_new_claim(NewClaim(claim=CLAIMS[2][0], verdict="false", external_id="g1"))],
        actor="test",
        guild_id=42,
    )
    other = await matching.rank_claims(store, MIRROR_ARTICLE, guild_id=7, limit=10)
    assert own.claim_ids[0] not in [c.claim_id for c in other]
    seen = await matching.rank_claims(store, MIRROR_ARTICLE, guild_id=42, limit=10)
    assert seen[0].claim_id == own.claim_ids[0]


def test_replies_are_every_passing_claim_most_confident_first_three_at_most() -> None:
    low, high = matching.Candidate(1, 9.0, 0.2), matching.Candidate(2, 3.0, 0.99)
    assert not matching.should_reply([], 0.5)
    assert not matching.should_reply([low], 0.5)
    assert matching.replies([low, high], 0.5) == [high]
    assert matching.should_reply([high], 0.99)
    passing = [matching.Candidate(i, 10.0 - i, 0.6 + i / 100) for i in range(5)]
    assert [c.claim_id for c in matching.replies(passing, 0.5)] == [4, 3, 2]


def test_confidence_grows_with_coverage_and_margin() -> None:
    assert 0.0 < matching.confidence(0.5, 0.0) < matching.confidence(0.5, 0.5) < 1.0
    assert matching.confidence(0.5, 0.5) < matching.confidence(1.0, 0.5)
    # A claim far ahead of the rest but barely covered is not a match.
    assert matching.confidence(0.1, 1.0) < matching.DEFAULT_REPLY_THRESHOLD
    assert matching.confidence(1.0, 1.0) > matching.DEFAULT_REPLY_THRESHOLD
    assert matching.confidence(1.0, 0.05) < matching.DEFAULT_REPLY_THRESHOLD


async def test_a_claim_imported_twice_is_not_its_own_rival(store: Store) -> None:
    twice = "Scientists found that eating chocolate every day helps you lose weight."
    await add_claims(store, [(twice, ""), (twice, ""), *CLAIMS])
    text = "Eating chocolate every day helps you lose weight, scientists found!"
    candidates = await matching.rank_claims(store, text, guild_id=None, limit=5)
    assert all(c.confidence >= matching.DEFAULT_REPLY_THRESHOLD for c in candidates[:2])


async def test_a_small_store_does_not_reply_on_one_shared_word(store: Store) -> None:
    await add_claims(
        store,
        [
            ("5G towers spread the coronavirus in Wuhan", ""),
            ("Bill Gates wants to microchip everyone through vaccines", ""),
            ("The 2020 election was stolen through Dominion voting machines", ""),
        ],
    )
    for text in (
        "Wuhan reopens its famous night markets after years of closure, with tourists returning",
        "Dominion Energy raises electricity prices for customers in Virginia this winter",
        "New vaccines for flu season are available at pharmacies, officials say",
        "Coronavirus cases spread quickly through schools in Wuhan, officials say",
        "Local team celebrates as 5G coverage is upgraded on towers across the city",
    ):
        candidates = await matching.rank_claims(store, text, guild_id=None)
        assert not matching.should_reply(candidates, matching.DEFAULT_REPLY_THRESHOLD), text
    repeated = "Viral post claims 5G towers spread the coronavirus in Wuhan; experts disagree"
    candidates = await matching.rank_claims(store, repeated, guild_id=None)
    assert matching.should_reply(candidates, matching.DEFAULT_REPLY_THRESHOLD)


# A new server's notes: sixteen claims, half about vaccines, so "vaccines" weighs little and
# "graphene" carries most of the first claim.
SIXTEEN_CLAIMS = [
    *("Graphene in vaccines", "COVID vaccines make people magnetic", "Vaccines alter your DNA"),
    *("Vaccines contain microchips", "Vaccines are made from aborted fetuses"),
    *("Vaccines cause autism", "Flu vaccines give you the flu"),
    "Vaccines kill more people than they save",
    "5G towers spread the coronavirus in Wuhan",
    "The 2020 election was stolen through Dominion voting machines",
    "Drinking bleach cures COVID-19",
    "The moon landing was filmed in a studio",
    "A photo shows a shark swimming on a flooded highway in Houston",
    "Wind turbines cause cancer in nearby residents",
    "Fluoride in tap water lowers IQ",
    "Eating carrots improves night vision",
]


async def test_one_heavy_shared_word_is_not_enough_to_reply(store: Store) -> None:
    """A text about graphene batteries is not the claim about graphene in vaccines.

    With one shared term allowed, this store replied publicly to both texts (confidence 0.87).
    """
    await add_claims(store, [(claim, "") for claim in SIXTEEN_CLAIMS])
    for text in (
        "New graphene batteries charge a phone in five minutes, researchers say",
        "Graphene batteries could power electric cars for a thousand kilometres",
    ):
        candidates = await matching.rank_claims(store, text, guild_id=None)
        assert not matching.should_reply(candidates, matching.DEFAULT_REPLY_THRESHOLD), text
    repeated = "Viral video claims there is graphene in the vaccines; chemists disagree"
    candidates = await matching.rank_claims(store, repeated, guild_id=None)
    assert matching.should_reply(candidates, matching.DEFAULT_REPLY_THRESHOLD)


async def test_two_common_words_of_a_longer_claim_are_not_enough_to_reply(store: Store) -> None:
    """ "2020 election" is a third of the claim about Dominion voting machines: that is another
    text about the election, not the claim (without the coverage floor: confidence 0.998)."""
    await add_claims(store, [(claim, "") for claim in SIXTEEN_CLAIMS])
    candidates = await matching.rank_claims(store, "Vaccines and the 2020 election", guild_id=None)
    assert not matching.should_reply(candidates, matching.DEFAULT_REPLY_THRESHOLD)
    repeated = "Posts say the 2020 election was stolen through Dominion voting machines"
    candidates = await matching.rank_claims(store, repeated, guild_id=None)
    assert matching.should_reply(candidates, matching.DEFAULT_REPLY_THRESHOLD)


# --- the FTS5 query's quoting ----------------------------------------------------------------


async def test_a_term_holding_a_double_quote_stays_one_quoted_fts_string(store: Store) -> None:
    ids = await add_claims(store, [('They said "no" to vaccines', "")])
    expr = matching.match_expression_for(['say "no', "vaccin"])
    assert expr == '"say ""no" OR "vaccin"'
    hits = await store.search_claims(expr, guild_id=None, limit=5, weights=matching.COLUMN_WEIGHTS)
    assert [claim_id for claim_id, _ in hits] == ids


# --- scores, weights and the confidence model ------------------------------------------------


async def _assert_scored_as_fts5_does(store: Store, text: str, count: int) -> None:
    """Every candidate of a one-sentence text scores FTS5's own bm25() for it (plus the whole
    text's share, the same bm25 again), and the ranking finds the claims FTS5 finds."""
    ranked = await matching.rank_claims(store, text, guild_id=None)
    expr = matching.match_expression(text)
    assert expr is not None
    fts = dict(
        await store.search_claims(expr, guild_id=None, limit=10, weights=matching.COLUMN_WEIGHTS)
    )
    assert len(ranked) == len(fts) == count
    for candidate in ranked:
        expected = (1 + matching.WHOLE_TEXT_WEIGHT) * fts[candidate.claim_id]
        assert candidate.score == pytest.approx(expected, rel=1e-9, abs=1e-12)


async def test_a_one_sentence_text_is_scored_with_fts5s_own_bm25(store: Store) -> None:
    """Every claim is a candidate here, so the pool's mean length is the index's: the score of
    the text's one sentence is FTS5's bm25() for the same terms (plus the whole-text share,
    the same query here). "water" and "houston" are in most claims: their IDF is FTS5's floor."""
    await add_claims(
        store,
        [
            ("Houston banned the sale of bottled water during storms", "No ordinance did."),
            ("Tap water in Houston is poisoned", ""),
            ("Bottled water expires after a year", "Water does not go off."),
            ("Storms in Houston are caused by weather machines", "Water vapour is no machine."),
        ],
    )
    text = "Houston banned bottled water sales during the storms"
    await _assert_scored_as_fts5_does(store, text, 4)


async def test_claims_of_a_word_or_two_are_scored_with_fts5s_own_bm25(store: Store) -> None:
    """As above, for claims shorter than two terms on average (a mean length is floored only
    below one term, where it would divide by nothing)."""
    await add_claims(store, [("Chemtrails", ""), ("Chemtrails poison", ""), ("Fluoride", "")])
    text = "Chemtrails poison fluoride"
    await _assert_scored_as_fts5_does(store, text, 3)


def test_coverage_weights_are_bm25_idf_positive_even_for_a_term_in_every_claim() -> None:
    # The weights the confidence model was fitted with (Lucene's BM25 IDF).
    assert matching.idf(1, 1) == pytest.approx(math.log(4 / 3))
    assert matching.idf(0, 10) == pytest.approx(math.log(22))
    assert matching.idf(10, 10) == pytest.approx(math.log(1 + 0.5 / 10.5))


def test_coverage_is_the_idf_weighted_share_and_unweighted_terms_count_nothing() -> None:
    weights = {"graphen": 3.0, "vaccin": 1.0}
    assert matching.coverage(["graphen", "vaccin"], {"vaccin"}, weights) == 0.25
    # A term without a weight (no claim holds it any more) weighs nothing, on either side.
    assert matching.coverage(["graphen", "vaccin", "gone"], {"graphen"}, weights) == 0.75
    assert matching.coverage(["graphen", "gone"], {"graphen", "gone"}, weights) == 1.0
    # A claim with no weighted terms (all stop words) is covered by nothing.
    assert matching.coverage([], {"graphen"}, weights) == 0.0
    assert matching.coverage(["gone"], {"gone"}, weights) == 0.0


def test_a_half_covered_claim_needs_a_third_of_its_score_ahead_of_rivals() -> None:
    """The short-text model's reply boundary at coverage 0.5: a margin of about 0.35."""
    threshold = matching.DEFAULT_REPLY_THRESHOLD
    assert matching.confidence(0.5, 0.34) < threshold <= matching.confidence(0.5, 0.36)
    assert matching.confidence(1.0, 0.19) < threshold <= matching.confidence(1.0, 0.21)


def test_the_coverage_floor_admits_exactly_a_third_of_the_weight() -> None:
    weights = {"a": 0.34, "b": 0.0, "c": 0.66}
    claim = frozenset(weights)
    at_floor = matching._confidence(claim, frozenset("ab"), weights, 1.0, 0, 0.0)
    assert at_floor == matching.confidence(matching.MIN_COVERAGE, 1.0) > 0.0


def test_a_sentence_a_tweet_would_be_answered_for_is_not_enough_in_a_long_page() -> None:
    """Half the claim's weight, all its phrases, far ahead of every rival: a reply as a tweet,
    silence as one sentence of a 6,000-character page (a long text matches by chance), and
    the longer the page, the less such a sentence is worth."""
    claim = frozenset({"graphen", "vaccin", "magnet", "dna"})
    weights = dict.fromkeys(claim, 1.0)
    sentence = frozenset({"graphen", "vaccin"})
    tweet = matching._confidence(claim, sentence, weights, 1.0, 140, 1.0)
    pages = [matching._confidence(claim, sentence, weights, 1.0, n, 1.0) for n in (3000, 6000)]
    assert tweet == matching.confidence(0.5, 1.0) > matching.DEFAULT_REPLY_THRESHOLD
    assert pages[1] < matching.DEFAULT_REPLY_THRESHOLD
    assert pages == sorted(pages, reverse=True)
    longer = [matching._confidence(claim, sentence, weights, 1.0, n, 1.0) for n in (12_000, 30_000)]
    assert pages[1] > longer[0] > longer[1]


def test_in_a_long_text_a_longer_claim_repeated_whole_is_surer_than_a_two_word_one() -> None:
    """Two words of a claim meet in some sentence of a long page by chance far more often
    than twelve do: repeated whole, in order, far ahead of every rival, the twelve-word claim
    is the surer match (the claim's length term of the long-text correction)."""
    short = frozenset({"graphen", "vaccin"})
    long_ = frozenset(f"term{i}" for i in range(12))
    for chars in (1600, 6000):
        two = matching._confidence(short, short, dict.fromkeys(short, 1.0), 1.0, chars, 1.0)
        twelve = matching._confidence(long_, long_, dict.fromkeys(long_, 1.0), 1.0, chars, 1.0)
        assert two < twelve


async def test_a_claim_repeated_whole_in_a_long_article_is_replied(store: Store) -> None:
    """The long-text correction was fitted on passages of 1,600 to 1,800 characters; carried
    on past them it silenced articles: one sentence repeating a claim whole got 0.69 in a
    3,800-character page and 0.03 in a 7,500-character one. The same pages without that
    sentence stay silent."""
    ids = await add_claims(store, [(claim, "") for claim in SIXTEEN_CLAIMS])
    filler = [
        f"Clinics in district {n} gave {n * 130} doses of measles vaccines on day {n}, the "
        "health office said."
        for n in range(1, 80)
    ]
    repeat = "A viral post claims that COVID vaccines make people magnetic, which doctors deny."
    for size in (40, 79):
        text = " ".join([*filler[: size // 2], repeat, *filler[size // 2 : size]])
        assert len(text) > 3500
        ranked = await matching.rank_claims(store, text, guild_id=None)
        replied = matching.replies(ranked, matching.DEFAULT_REPLY_THRESHOLD)
        assert [(c.claim_id, c.quote) for c in replied] == [(ids[1], repeat)]
        without = await matching.rank_claims(store, " ".join(filler[:size]), guild_id=None)
        assert not matching.should_reply(without, matching.DEFAULT_REPLY_THRESHOLD)


# --- the document-count cache ----------------------------------------------------------------


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> _Clock:
    """matching's own clock, set by the test (asyncio keeps the real one)."""
    clock = _Clock()
    monkeypatch.setattr(matching, "time", clock)
    return clock


async def test_term_counts_are_reused_for_the_ttl_then_read_again(
    store: Store, clock: _Clock
) -> None:
    await add_claims(store, [("A shark on the highway", ""), ("A shark in the pool", "")])
    assert await matching.document_counts(store, ["shark"]) == (2, {"shark": 2})
    await add_claims(store, [("A shark in the mall", "")])
    clock.now += matching.DOC_COUNT_TTL_SECONDS - 1
    assert await matching.document_counts(store, ["shark"]) == (2, {"shark": 2})
    # A term no claim held was not cached: a new claim's words are searched at once.
    assert await matching.document_counts(store, ["mall"]) == (3, {"mall": 1})
    clock.now += 1
    assert await matching.document_counts(store, ["shark"]) == (3, {"shark": 3})


async def test_the_claim_total_is_read_even_for_no_terms(store: Store, clock: _Clock) -> None:
    await add_claims(store, [("A shark on the highway", ""), ("A shark in the pool", "")])
    assert await matching.document_counts(store, []) == (2, {})
    await add_claims(store, [("A shark in the mall", "")])
    clock.now += matching.DOC_COUNT_TTL_SECONDS
    assert await matching.document_counts(store, []) == (3, {})


async def test_a_full_count_cache_starts_over(
    store: Store, clock: _Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(matching, "_DOC_COUNT_CACHE_SIZE", 1)
    await add_claims(store, [("A shark on the highway", ""), ("A shark in the pool", "")])
    assert await matching.document_counts(store, ["shark"]) == (2, {"shark": 2})
    await add_claims(store, [("A shark in the pool", "x")])
    # At its size the cache is still used; a term it lacks is read, with the total.
    assert await matching.document_counts(store, ["shark"]) == (2, {"shark": 2})
    assert await matching.document_counts(store, ["pool"]) == (3, {"pool": 2})
    # Past its size it starts over: the count it held is read afresh.
    assert await matching.document_counts(store, ["shark"]) == (3, {"shark": 3})


# --- sentences, runs and quotes --------------------------------------------------------------


def _pieces(text: str) -> list[str]:
    return [text[s.start : s.end] for s in matching.split_sentences(text)]


def test_sentences_are_the_texts_own_words_without_surrounding_space() -> None:
    assert _pieces(" Leading space.  Next one.   ") == ["Leading space.", "Next one."]
    # The same sentence three times is three places in the text.
    spans = [(s.start, s.end) for s in matching.split_sentences("Yes. Yes. Yes.")]
    assert spans == [(0, 4), (5, 9), (10, 14)]


def test_a_run_without_punctuation_is_cut_at_spaces_into_full_pieces() -> None:
    words = [f"word{i:04d}" for i in range(100)]  # 899 characters, no sentence end
    pieces = _pieces(" ".join(words))
    assert " ".join(pieces).split() == words  # no word cut, none lost
    assert all(len(p) <= matching.MAX_SENTENCE_CHARS for p in pieces)
    # Each piece is as long as it can be: the next word would not have fitted.
    assert all(
        len(p) + 1 + len(n.split()[0]) > matching.MAX_SENTENCE_CHARS
        for p, n in itertools.pairwise(pieces)
    )
    exact = "x" * 395 + " end."
    assert _pieces(exact) == [exact]  # exactly MAX_SENTENCE_CHARS: one piece
    assert _pieces("y" * 900) == ["y" * 400, "y" * 400, "y" * 100]  # no space: cut anyway


# Ties between a run and a longer run holding it go to the one that starts first: a long
# sentence just before the sentences a claim is said in keeps longer runs out of the window.
LONG_SENTENCE = "Parking " + "and more parking " * 15 + "was all the residents talked about."
BUDGET_CLAIM = ("Officials cut the school budget by 40 percent", "")
BRIDGE_CLAIM = ("The old bridge over the river will close for repairs in March", "")


async def test_a_claim_said_over_two_sentences_is_quoted_whole_wherever_it_is(
    store: Store,
) -> None:
    ids = await add_claims(store, [BUDGET_CLAIM, BRIDGE_CLAIM, *CLAIMS])
    budget = "They cut the school budget. By 40 percent, officials said."
    filler = " ".join(f"Residents met on day {n} to talk about parking." for n in range(12))
    bridge = "The old bridge over the river will close. Repairs start in March."
    text = f"{budget} {filler} {LONG_SENTENCE} {bridge}"
    assert text.index(bridge) > matching.MAX_WINDOW_CHARS
    quotes = {c.claim_id: c.quote for c in await matching.rank_claims(store, text, guild_id=None)}
    assert quotes[ids[0]] == budget  # the first two sentences of a long text
    assert quotes[ids[1]] == bridge  # two sentences far past the first window


async def test_a_quote_is_the_best_run_said_first(store: Store) -> None:
    """The three sentences score above the last two by the little "vaccines" weighs in a store
    where most claims name it: still more, so the quote is all three (a shorter run wins only
    a tie, within rounding)."""
    ids = await add_claims(store, [(claim, "") for claim in SIXTEEN_CLAIMS])
    text = "Vaccines, again. They make people. Magnetic, a post says."
    quotes = {c.claim_id: c.quote for c in await matching.rank_claims(store, text, guild_id=None)}
    assert quotes[ids[1]] == text
    # Said twice, the claim is quoted where it is said first.
    text = "Vaccines make people magnetic. VACCINES MAKE PEOPLE MAGNETIC!"
    quotes = {c.claim_id: c.quote for c in await matching.rank_claims(store, text, guild_id=None)}
    assert quotes[ids[1]] == "Vaccines make people magnetic."


async def test_a_run_of_exactly_one_window_is_still_one_unit(store: Store) -> None:
    ids = await add_claims(store, [BUDGET_CLAIM, *CLAIMS])
    second = " By 40 percent, officials said."
    first = "They cut the school budget" + " " * 10 + "today."
    first = first.replace(
        " today", " " * (matching.MAX_WINDOW_CHARS - len(first + second)) + " today"
    )
    text = first + second
    assert len(text) == matching.MAX_WINDOW_CHARS
    ranked = await matching.rank_claims(store, text, guild_id=None)
    assert ranked[0].claim_id == ids[0]
    assert ranked[0].quote == " ".join(text.split())


async def test_a_candidate_lists_its_best_places_in_the_text_when_asked(store: Store) -> None:
    """What the semantic stage embeds: each candidate's best units, best first, none overlapping
    a better one (a claim said twice: both places, the first first)."""
    ids = await add_claims(store, [(claim, "") for claim in SIXTEEN_CLAIMS])
    first, again = "Vaccines make people magnetic, a post says.", "VACCINES MAKE PEOPLE MAGNETIC!"
    text = f"{first} Nobody agrees. {again}"
    for asked, units in ((1, (first,)), (2, (first, again)), (3, (first, again))):
        ranked = await matching.rank_claims(store, text, guild_id=None, unit_choices=asked)
        assert next(c.units for c in ranked if c.claim_id == ids[1]) == units
        assert all(c.units and c.units[0] == c.quote for c in ranked)


def test_best_units_touching_spans_do_not_overlap() -> None:
    spans = [(0, 10), (10, 20), (20, 30)]
    assert matching.best_units(spans, [{0: 2.0}, {0: 1.0}, {}], [0], 2) == [[(0, 10), (10, 20)]]
    assert matching.best_units(spans, [{0: 1.0}, {0: 2.0}, {}], [0], 2) == [[(10, 20), (0, 10)]]
    # No more than asked for.
    scores = [{0: 3.0}, {0: 2.0}, {0: 1.0}]
    assert matching.best_units(spans, scores, [0], 2) == [[(0, 10), (10, 20)]]


def test_best_units_scores_within_rounding_are_ties_won_by_the_earlier_unit() -> None:
    spans = [(0, 10), (0, 20)]
    assert matching.best_units(spans, [{0: 1.0}, {0: 1.0 + 4e-10}], [0], 1) == [[(0, 10)]]
    assert matching.best_units(spans, [{0: 1.0}, {0: 1.0 + 4e-9}], [0], 1) == [[(0, 20)]]


@pytest.mark.parametrize(
    "late",
    [
        # The claim's words, none of its phrases in order: one sentence, or a run of two.
        "Magnetic people, make vaccines COVID, the post went on.",
        "Magnetic people make vaccines. COVID, the post went on.",
    ],
)
async def test_only_the_quote_s_own_phrases_count_in_a_long_page(store: Store, late: str) -> None:
    """The long-text correction counts the claim's phrases that its best sentence repeats in
    order: the same phrase in another sentence of the page adds nothing."""
    ids = await add_claims(store, [(claim, "") for claim in SIXTEEN_CLAIMS])
    filler = " ".join(f"Residents met on day {n} to talk about parking." for n in range(6))

    async def confidence(first: str) -> float:
        text = f"{first} {filler} {LONG_SENTENCE} {late}"
        assert len(text) > matching.MAX_WINDOW_CHARS
        ranked = await matching.rank_claims(store, text, guild_id=None)
        best = next(c for c in ranked if c.claim_id == ids[1])
        assert best.quote == late
        return best.confidence

    # "COVID vaccines" is one of the claim's phrases, in another sentence.
    assert await confidence("COVID vaccines were in the news.") == await confidence(
        "Green lanterns were in the news."
    )


async def test_a_two_word_claims_phrase_counts_in_its_own_sentence_only(store: Store) -> None:
    """A claim of two words repeated in order in a long page is more likely the claim than the
    same words apart; the words apart stay apart when the next sentence happens to start with
    the claim's second word."""
    ids = await add_claims(store, [(c, "") for c in [*SIXTEEN_CLAIMS, "Chemtrails poison"]])
    filler = " ".join(f"Residents met on day {n} to talk about parking." for n in range(6))

    async def confidence(first: str, second: str) -> float:
        text = f"{first} {second} {filler} {LONG_SENTENCE}"
        assert len(text) > matching.MAX_WINDOW_CHARS
        ranked = await matching.rank_claims(store, text, guild_id=None)
        return next(c.confidence for c in ranked if c.claim_id == ids[-1])

    in_order = await confidence("Chemtrails poison vaccines.", "Yellow ivy grew by the lot.")
    apart = await confidence("Vaccines poison chemtrails.", "Yellow ivy grew by the lot.")
    assert in_order > apart > 0.0
    assert await confidence("Vaccines poison chemtrails.", "Poison ivy grew by the lot.") == apart


@pytest.mark.parametrize("claims", [matching.RIVAL_POOL - 1, matching.RIVAL_POOL])
async def test_a_long_page_is_judged_as_long_from_rival_pool_distinct_claims(
    store: Store, claims: int
) -> None:
    """Below RIVAL_POOL distinct claims sharing the text's words, a sentence in a long page is
    judged as the sentence alone; from RIVAL_POOL on, the page's length counts."""
    vaccine_claims = [c for c in SIXTEEN_CLAIMS if "accines" in c][:claims]
    ids = await add_claims(store, [(c, "") for c in vaccine_claims])
    sentence = "Vaccines alter your DNA, a post says."
    filler = " ".join(f"Residents met on day {n} to talk about parking." for n in range(8))

    async def confidence(text: str) -> float:
        ranked = await matching.rank_claims(store, text, guild_id=None)
        assert len(ranked) == claims
        return next(c.confidence for c in ranked if c.claim_id == ids[2])

    alone, in_page = await confidence(sentence), await confidence(f"{sentence} {filler}")
    assert len(f"{sentence} {filler}") > matching.MAX_WINDOW_CHARS
    assert (in_page == alone) if claims < matching.RIVAL_POOL else (in_page != alone)


# --- the one store query's terms -------------------------------------------------------------


def _sentences(*terms: Sequence[str]) -> list[matching.Sentence]:
    return [matching.Sentence(0, 1, tuple(t)) for t in terms]


def test_a_tweets_query_is_its_rarest_terms_only() -> None:
    terms = [f"t{i}" for i in range(40)]
    counts = {t: i + 1 for i, t in enumerate(terms)}
    assert matching.gather_terms(_sentences(terms), counts, 1000) == terms[:24]


def test_each_sentences_rare_terms_join_the_query_while_their_claims_fit_the_budget() -> None:
    terms = [f"t{i}" for i in range(40)]
    counts = {t: 10 * (i + 1) for i, t in enumerate(terms)}  # t24 is in 250 claims, t31 in 320
    sentences = _sentences(*(terms[k : k + 2] for k in range(0, 40, 2)))
    # Twice the store (2,280 claims) holds the text's 24 rarest, then t24..t31: 250 + ... + 320
    # = 2,280 exactly (a term that just fits is taken); t32 would not fit.
    assert matching.gather_terms(sentences, counts, 1140) == terms[:32]
    assert matching.gather_terms(sentences, counts, 1139) == terms[:31]
    # A small store's budget is MIN_GATHER_POSTINGS (1,000), not twice the store: all 16 more
    # terms (520 postings), or 250 + ... + 280 at ten times the counts.
    assert matching.gather_terms(sentences, {t: n // 10 for t, n in counts.items()}, 20) == terms
    assert matching.gather_terms(sentences, counts, 20) == terms[:27]


def test_the_query_holds_at_most_max_gather_terms(monkeypatch: pytest.MonkeyPatch) -> None:
    terms = [f"t{i}" for i in range(60)]
    counts = dict.fromkeys(terms, 1)
    sentences = _sentences(*(terms[k : k + 2] for k in range(0, 60, 2)))
    assert matching.gather_terms(sentences, counts, 1000) == terms  # all 60 fit
    monkeypatch.setattr(matching, "MAX_GATHER_TERMS", 30)
    assert matching.gather_terms(sentences, counts, 1000) == terms[:30]


async def test_a_claim_far_behind_its_rival_in_a_small_store_is_ranked_not_a_crash(
    store: Store,
) -> None:
    # Three notes sharing most of their words: the first one's best sentence holds only terms in
    # nearly every claim (scored 1e-6 each) while a rival scores normally on the same sentence.
    # Its margin was about -270,000 and the confidence overflowed (OverflowError).
    ids = await add_claims(
        store,
        [
            ("Petrol prices doubled in a single month", ""),
            ("Petrol prices doubled in a month after the tax rise", ""),
            ("Petrol prices doubled after the tax rise, fuel duty was to blame", ""),
        ],
    )
    text = "Breaking News: petrol prices doubled after the tax rise, fuel duty to blame."
    candidates = await matching.rank_claims(store, text, guild_id=None, limit=5)
    assert candidates[0].claim_id == ids[2]
    assert {c.claim_id for c in candidates} == set(ids)
    assert all(0.0 <= c.confidence <= 1.0 for c in candidates)


async def test_a_claim_behind_a_rival_twice_as_strong_is_judged_alike_however_far(
    store: Store,
) -> None:
    """In a long page, "vaccines cause autism" said with four or six more of a rival claim's
    rare words: that rival leads by over twice either way, which is as far behind as a claim
    gets, so its confidence is the same (the texts are of one length)."""
    rival = "Vaccines cause autism: mercury thimerosal aluminium adjuvants formaldehyde squalene"
    ids = await add_claims(store, [(c, "") for c in [*SIXTEEN_CLAIMS, rival]])
    filler = " ".join(f"Residents met on day {n} to talk about parking." for n in range(60))
    words = "mercury thimerosal aluminium adjuvants formaldehyde squalene"

    async def judged(extra: str) -> tuple[float, float]:
        text = f"Vaccines cause autism, {extra}. {filler}"
        assert len(text) == 2_894
        ranked = {c.claim_id: c for c in await matching.rank_claims(store, text, guild_id=None)}
        claim, ahead = ranked[ids[5]], ranked[ids[-1]]
        return ahead.score / claim.score, claim.confidence

    (lead, confidence), (far_lead, far_confidence) = [
        await judged(extra) for extra in (f"{words[:38]:<60}", words)
    ]
    assert 2.0 < lead < 3.0 < far_lead
    assert far_confidence == confidence < matching.DEFAULT_REPLY_THRESHOLD


# --- claimants -------------------------------------------------------------------------------


async def test_a_text_naming_the_claimant_ranks_that_claimants_claim_first(store: Store) -> None:
    said = "We now have the lowest unemployment rate we have had in 17 years."
    # The same words said by two people and by nobody known: only a name can tell them apart.
    named = [
        validate_new_claim(NewClaim(said, "mostly-true", claimant=who))
        for who in ("Mike Pence", "Donald Trump", None)
    ]
    others = [validate_new_claim(NewClaim(c, "false", context=x)) for c, x in CLAIMS]
    result = await store.import_claims([*named, *others], actor="t", guild_id=None)
    pence, trump, nobody = result.claim_ids[:3]
    transcript = "TRUMP: And we now have the lowest unemployment rate in 17 years, believe me."
    ranked = await matching.rank_claims(store, transcript, guild_id=None, limit=3)
    assert [c.claim_id for c in ranked][:1] == [trump]
    assert [c.claimant_named for c in ranked] == [True, False, False]
    article = "Pence's speech: we have the lowest unemployment rate we've had in 17 years."
    ranked = await matching.rank_claims(store, article, guild_id=None, limit=3)
    assert ranked[0].claim_id == pence
    assert ranked[0].score > ranked[1].score
    assert {c.claim_id for c in ranked} == {pence, trump, nobody}


@pytest.mark.parametrize(
    ("claimant", "text", "named"),
    [
        ("Donald Trump", "TRUMP: It's rigged.", True),
        ("Donald Trump", "Trump's rally drew a crowd.", True),
        ("Donald Trump Jr.", "As Trump said on Monday.", True),
        ("Donald Trump", "He played his trump card.", False),
        ("Donald Trump", "Trumpets played.", False),
        ("Beto O'Rourke", "O'Rourke told the crowd", True),
        ("Facebook posts", "Facebook posts claim the vote was rigged.", True),
        ("Facebook posts", "The posts claim the vote was rigged.", False),
        ("Facebook posts", "Facebook said nothing.", False),
        ("Facebook posts", "Shared thousands of times from Facebook posts", True),
        ("Andrew Ng", "NG SAYS THE MODEL IS FINE", False),
        ("Andrew Ng", "Ng says the model is fine.", True),
        ("Facebook Posts", "Posts on Facebook claim it.", False),
        ("Fox News", "Breaking News: prices doubled.", False),
        ("Fox News", "Fox News reported it.", True),
        ("Democratic Party", "The Republican Party said so.", False),
        ("Theresa May", "Prices rose sharply in May.", False),
        ("Theresa May", "Theresa May told MPs.", True),
        ("Malcolm X", "He posted it on X.", False),
        ("Joe Biden, President", "The President spoke.", False),
        ("Trump, Donald", "Donald Duck is a cartoon.", False),
        ("Sen. Ted Cruz (R-Texas)", "Cruz said it twice.", True),
        ("Donald Trump", "YOU WON'T BELIEVE WHAT TRUMP SAID", False),
        ("Barack Obama", "PRESIDENT OBAMA: Well, let me say this.", True),
        ("Beto O'Rourke", "O’Rourke told the crowd", True),
        ("Recep Tayyip Erdoğan", "Erdogan said on Tuesday", True),
        ("May", "In May it rained.", False),
        ("   ", "Anyone at all", False),
        (None, "Donald Trump said it.", False),
    ],
)
def test_a_claimant_is_named_by_surname_or_by_the_whole_description(
    claimant: str | None, text: str, named: bool
) -> None:
    assert matching.NamesInText(text).mention(claimant) is named


async def test_a_page_repeating_every_claim_of_a_small_store_finds_them_all(store: Store) -> None:
    # A new server's handful of notes, all repeated by one page: none is left out of the query.
    ids = await add_claims(store, CLAIMS)
    page = "Weekly roundup of rumours.\n" + " ".join(claim for claim, _ in CLAIMS)
    candidates = await matching.rank_claims(store, page, guild_id=None, limit=len(CLAIMS))
    assert {c.claim_id for c in candidates} == set(ids)


# --- claim dates -----------------------------------------------------------------------------


async def test_a_dated_text_ranks_the_claim_made_nearest_its_date_first(store: Store) -> None:
    said = "We now have the lowest unemployment rate we have had in 17 years."
    dated = [
        validate_new_claim(NewClaim(said, "mostly-true", claim_date=day))
        for day in ("2012-10-03", "2017-08-22", None)
    ]
    others = [validate_new_claim(NewClaim(c, "false", context=x)) for c, x in CLAIMS]
    result = await store.import_claims([*dated, *others], actor="t", guild_id=None)
    old, recent, undated = result.claim_ids[:3]
    text = "And we now have the lowest unemployment rate in 17 years, believe me."

    async def order(on: date | None) -> list[int]:
        ranked = await matching.rank_claims(store, text, guild_id=None, limit=3, text_date=on)
        assert len({c.confidence for c in ranked}) == 1  # the date orders; it does not gate
        return [c.claim_id for c in ranked]

    assert await order(date(2017, 9, 1)) == [recent, old, undated]
    assert await order(date(2012, 1, 1)) == [old, recent, undated]
    assert set(await order(None)) == {old, recent, undated}
    ranked = await matching.rank_claims(store, text, guild_id=None, limit=3)
    assert len({c.score for c in ranked}) == 1  # undated: the same words score the same
    # Each candidate says what its date did (the semantic stage keeps candidates without it).
    on = date(2017, 9, 1)  # 1,794 days after the old claim, 10 after the recent one
    factor = {old: 1.0 + matching.DATE_WEIGHT / (1.0 + 1794 / matching.DATE_DAYS), undated: 1.0}
    factor[recent] = 1.0 + matching.DATE_WEIGHT / (1.0 + 10 / matching.DATE_DAYS)
    for c in await matching.rank_claims(store, text, guild_id=None, limit=3, text_date=on):
        assert c.date_factor == pytest.approx(factor[c.claim_id], rel=1e-12)
        assert c.score / c.date_factor == pytest.approx(ranked[0].score, rel=1e-12)


@pytest.mark.parametrize(
    ("claim_date", "text_date", "factor"),
    [
        ("2020-05-01", date(2020, 5, 1), 2.0),  # the same day: double
        ("2020-05-01", date(2021, 5, 1), 1.5),  # a year (365 days) apart
        ("2021-05-01", date(2020, 5, 1), 1.5),  # either way round
        ("2017-05-02", date(2020, 5, 1), 1.25),  # three years (1,095 days) apart
        (None, date(2020, 5, 1), 1.0),  # a claim without a date gains nothing
        ("2020-05-01", None, 1.0),  # nor does any claim for a text without one
        ("May 2020", date(2020, 5, 1), 1.0),  # a stored value that is no ISO date: none
    ],
)
def test_the_date_factor(claim_date: str | None, text_date: date | None, factor: float) -> None:
    assert matching.date_factor(claim_date, text_date) == pytest.approx(factor, abs=1e-3)


async def test_newer_claims_in_similar_words_never_push_a_confident_claim_out(store: Store) -> None:
    # An old claim the text repeats word for word, and newer ones sharing most of its words:
    # dated, two newer ones outscore it, but the candidates kept (and so the replies) are the
    # ones the text's words alone choose. The bot keeps a few candidates; two here.
    old = await add_old_claim_and_newer_rivals(store)

    async def top(on: date | None) -> list[matching.Candidate]:
        return await matching.rank_claims(store, OLD_CLAIM, guild_id=None, limit=2, text_date=on)

    undated, dated = await top(None), await top(date(2026, 12, 1))
    assert undated[0].claim_id == old
    assert dated[0].claim_id != old  # a newer claim in the same words comes first ...
    assert {c.claim_id for c in dated} == {c.claim_id for c in undated}  # ... among the same
    threshold = matching.DEFAULT_REPLY_THRESHOLD
    replied = [c.claim_id for c in matching.replies(dated, threshold)]
    assert replied == [old] == [c.claim_id for c in matching.replies(undated, threshold)]


OLD_CLAIM = "Wind turbines near Ostrava kill 40,000 migrating birds every single year."


async def add_old_claim_and_newer_rivals(store: Store) -> int:
    """A claim of 1996, claims of 2026 sharing most of its words, and others: the old one's id."""
    newer = [
        "Near Ostrava, turbines kill migrating birds.",
        "Ostrava wind turbines kill migrating birds.",
        "Wind turbines near Ostrava kill migrating birds.",
        "Turbines near Ostrava kill birds every single year.",
        "Wind turbines kill migrating birds every single year.",
        "Ostrava turbines kill birds every year.",
    ]
    records = [validate_new_claim(NewClaim(OLD_CLAIM, "false", claim_date="1996-04-01"))]
    records += [validate_new_claim(NewClaim(c, "false", claim_date="2026-11-30")) for c in newer]
    records += [validate_new_claim(NewClaim(c, "false", context=x)) for c, x in CLAIMS]
    return (await store.import_claims(records, actor="t", guild_id=None)).claim_ids[0]
