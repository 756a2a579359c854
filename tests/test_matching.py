"""Text normalisation, FTS5 query building against a real FTS5 table, and the reply decision."""

from __future__ import annotations

import random
from collections.abc import Sequence

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
