from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot import claimreview
from bot.store import Store

REVIEW = {
    "@context": "https://schema.org",
    "@type": "ClaimReview",
    "url": "https://factcheck.example.org/reviews/moon",
    "claimReviewed": "The moon landing was filmed in a studio.",
    "author": {"@type": "Organization", "name": "Example Checks"},
    "reviewRating": {"@type": "Rating", "ratingValue": 1, "alternateName": "Pants on Fire"},
    "itemReviewed": {
        "@type": "Claim",
        "appearance": [{"@type": "CreativeWork", "url": "https://blog.example.com/moon-hoax"}],
        "firstAppearance": {"@type": "CreativeWork", "url": "https://video.example.net/watch?v=1"},
    },
}


def test_one_claim_review_maps_onto_a_claim() -> None:
    parsed = claimreview.parse_document(REVIEW)
    assert parsed.errors == []
    (record,) = parsed.records
    assert record.claim == "The moon landing was filmed in a studio."
    assert record.verdict == "false"
    assert record.rating_label == "Pants on Fire"
    assert record.urls == (
        "https://blog.example.com/moon-hoax",
        "https://video.example.net/watch?v=1",
    )
    assert record.sources[0].url == "https://factcheck.example.org/reviews/moon"
    assert record.sources[0].title == "Example Checks"
    assert record.sources[0].kind == "fact-check"


def test_unknown_ratings_map_to_unproven_never_false() -> None:
    review = {**REVIEW, "reviewRating": {"alternateName": "Zombie Claim (rated 3/5)"}}
    (record,) = claimreview.parse_document(review).records
    assert record.verdict == "unproven"
    assert record.rating_label == "Zombie Claim (rated 3/5)"


@pytest.mark.parametrize(
    "document",
    [
        [REVIEW, {**REVIEW, "claimReviewed": "Second"}],
        {"@graph": [REVIEW, {**REVIEW, "claimReviewed": "Second"}]},
        {"@type": "DataFeed", "dataFeedElement": [REVIEW, {**REVIEW, "claimReviewed": "Second"}]},
        {
            "@type": "DataFeed",
            "dataFeedElement": [
                {"@type": "DataFeedItem", "item": [REVIEW]},
                {"@type": "DataFeedItem", "item": {**REVIEW, "claimReviewed": "Second"}},
            ],
        },
    ],
    ids=["list", "graph", "datafeed", "datafeed-items"],
)
def test_containers(document: object) -> None:
    parsed = claimreview.parse_document(document)
    assert [r.claim for r in parsed.records] == [REVIEW["claimReviewed"], "Second"]


def test_bad_records_are_reported_by_position_and_skipped() -> None:
    document = [
        REVIEW,
        {"@type": "ClaimReview"},
        "just a string",
        {
            **REVIEW,
            "claimReviewed": "ok",
            "itemReviewed": {"appearance": [{"url": "javascript:x"}]},
        },
        {"@type": "Recipe", "claimReviewed": "soup"},
        {**REVIEW, "claimReviewed": "Third"},
    ]
    parsed = claimreview.parse_document(document)
    assert [r.claim for r in parsed.records] == [REVIEW["claimReviewed"], "Third"]
    assert [e.split(":")[0] for e in parsed.errors] == [
        "record 2",
        "record 3",
        "record 4",
        "record 5",
    ]
    assert "missing claimReviewed" in parsed.errors[0]


def test_a_claim_reviewed_that_is_there_but_no_text_is_not_called_missing() -> None:
    # The operator reads the message against the file: a claimReviewed they can see there is
    # not "missing", it is empty or of the wrong type.
    document = [
        {**REVIEW, "claimReviewed": 123},
        {**REVIEW, "claimReviewed": "   "},
        {**REVIEW, "claimReviewed": None},
        {key: value for key, value in REVIEW.items() if key != "claimReviewed"},
    ]
    assert claimreview.parse_document(document).errors == [
        "record 1: claimReviewed is not text",
        "record 2: claimReviewed is empty",
        "record 3: claimReviewed is not text",
        "record 4: missing claimReviewed",
    ]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"{not json", "not valid JSON"),
        (b"\xff\xfe\x00garbage", "not UTF-8"),
        (b'{"@type": "DataFeed", "dataFeedElement": []}', "no ClaimReview records"),
        (b"[]", "no ClaimReview records"),
    ],
)
def test_broken_files_are_refused_whole(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "feed.json"
    path.write_bytes(content)
    with pytest.raises(claimreview.ImportFileError, match=message):
        claimreview.parse_file(str(path))


def test_missing_file() -> None:
    with pytest.raises(claimreview.ImportFileError, match="no such file"):
        claimreview.parse_file("/nonexistent/feed.json")


async def test_export_reads_back_unchanged(store: Store) -> None:
    document = {
        "@type": "DataFeed",
        "dataFeedElement": [
            REVIEW,
            {
                **REVIEW,
                "@id": "custom-id-2",
                "claimReviewed": "Vaccines contain microchips.",
                "reviewRating": {"alternateName": "False"},
                "reviewBody": "No vaccine contains a microchip.",
                "headline": "Do vaccines contain microchips?",
                "citation": [
                    {"url": "https://health.example.org/vaccines", "name": "How vaccines work"}
                ],
            },
        ],
    }
    parsed = claimreview.parse_document(document)
    await store.import_claims(parsed.records, actor="t", guild_id=None)
    exported = claimreview.export_document(await store.list_claims(guild_id=None))

    reparsed = claimreview.parse_document(json.loads(json.dumps(exported)))
    assert reparsed.errors == []
    result = await store.import_claims(reparsed.records, actor="t", guild_id=None)
    assert (result.created, result.updated, result.unchanged) == (0, 0, 2)
    again = claimreview.export_document(await store.list_claims(guild_id=None))
    assert again == exported
    claims = await store.list_claims(guild_id=None)
    assert claims[1].note == "No vaccine contains a microchip."
    assert {s.kind for s in claims[1].sources} == {"fact-check", "alternative"}


def test_the_claimant_is_the_reviewed_claims_author() -> None:
    item = {**REVIEW["itemReviewed"], "author": {"@type": "Person", "name": " Jane   Doe "}}
    (record,) = claimreview.parse_document({**REVIEW, "itemReviewed": item}).records
    assert record.claimant == "Jane Doe"
    (unnamed,) = claimreview.parse_document(REVIEW).records
    assert unnamed.claimant is None


@pytest.mark.parametrize(
    ("author", "claimant"),
    [
        ("\u200b\u2060", None),  # only invisible characters: nobody named
        ("-", None),  # "nobody known", as in the moderators' commands
        ("x" * 200, "x" * 200),  # the longest name kept
    ],
)
def test_what_a_feed_says_about_the_claimant(author: str, claimant: str | None) -> None:
    item = {**REVIEW["itemReviewed"], "author": {"name": author}}
    parsed = claimreview.parse_document({**REVIEW, "itemReviewed": item})
    assert [r.claimant for r in parsed.records] == [claimant]
    assert parsed.warnings == []


@pytest.mark.parametrize(
    ("author", "why"),
    [
        ("x" * 201, "claimant is longer than 200 characters"),
        ("Jane\x00Doe", "claimant holds a control character or a lone surrogate"),
        ("Jane \x1b[31mDoe", "claimant holds a control character or a lone surrogate"),
        ("Jane \ud800Doe", "claimant holds a control character or a lone surrogate"),
    ],
)
def test_a_claimant_that_is_no_name_is_left_out_and_the_fact_check_kept(
    author: str, why: str
) -> None:
    item = {**REVIEW["itemReviewed"], "author": {"name": author}}
    parsed = claimreview.parse_document([REVIEW, {**REVIEW, "@id": "2", "itemReviewed": item}])
    assert parsed.errors == []
    assert [r.claimant for r in parsed.records] == [None, None]
    assert parsed.records[1].urls == parsed.records[0].urls
    assert parsed.warnings == [f"record 2: itemReviewed.author: {why}"]


async def test_the_claimant_survives_export_and_a_new_claimant_updates_the_claim(
    store: Store,
) -> None:
    item = {**REVIEW["itemReviewed"], "author": {"@type": "Person", "name": "Jane Doe"}}
    named = {**REVIEW, "itemReviewed": item}
    await store.import_claims(claimreview.parse_document(named).records, actor="t", guild_id=None)
    exported = claimreview.export_document(await store.list_claims(guild_id=None))
    assert exported["dataFeedElement"][0]["itemReviewed"]["author"] == {"name": "Jane Doe"}
    reparsed = claimreview.parse_document(json.loads(json.dumps(exported)))
    result = await store.import_claims(reparsed.records, actor="t", guild_id=None)
    assert (result.created, result.updated, result.unchanged) == (0, 0, 1)

    item = {**item, "author": {"@type": "Person", "name": "John Roe"}}
    records = claimreview.parse_document({**REVIEW, "itemReviewed": item}).records
    result = await store.import_claims(records, actor="t", guild_id=None)
    assert (result.created, result.updated, result.unchanged) == (0, 1, 0)
    (claim,) = await store.list_claims(guild_id=None)
    assert claim.claimant == "John Roe"


@pytest.mark.parametrize(
    ("published", "claim_date"),
    [
        ("2016-06-20", "2016-06-20"),
        (" 2016-06-20 ", "2016-06-20"),
        ("2016-06-20T23:30:00-05:00", "2016-06-20"),  # the day as the claimant saw it
        ("2016-06-20T10:00:00Z", "2016-06-20"),
        ("", None),
    ],
)
def test_the_claims_date_is_when_the_reviewed_claim_was_published(
    published: str, claim_date: str | None
) -> None:
    item = {**REVIEW["itemReviewed"], "datePublished": published}
    parsed = claimreview.parse_document({**REVIEW, "itemReviewed": item})
    assert [r.claim_date for r in parsed.records] == [claim_date]
    assert parsed.warnings == []
    (undated,) = claimreview.parse_document(REVIEW).records
    assert undated.claim_date is None


@pytest.mark.parametrize(
    ("published", "why"),
    [
        ("last Tuesday", "not an ISO 8601 date: 'last Tuesday'"),
        ("2016-02-30", "not an ISO 8601 date: '2016-02-30'"),
        ("June " + "x" * 60, "not an ISO 8601 date: 'June " + "x" * 35 + "'"),  # clipped at 40
        (20160620, "not a string"),
        ({"@value": "2016-06-20"}, "not a string"),
    ],
)
def test_a_claim_date_that_is_no_date_is_left_out_and_the_fact_check_kept(
    published: object, why: str
) -> None:
    item = {**REVIEW["itemReviewed"], "datePublished": published}
    parsed = claimreview.parse_document([REVIEW, {**REVIEW, "@id": "2", "itemReviewed": item}])
    assert parsed.errors == []
    assert [r.claim_date for r in parsed.records] == [None, None]
    assert parsed.records[1].urls == parsed.records[0].urls
    assert parsed.warnings == [f"record 2: itemReviewed.datePublished: {why}"]


async def test_the_claim_date_survives_export_and_a_new_date_updates_the_claim(
    store: Store,
) -> None:
    def on(day: str) -> dict[str, object]:
        return {**REVIEW, "itemReviewed": {**REVIEW["itemReviewed"], "datePublished": day}}

    await store.import_claims(
        claimreview.parse_document(on("2016-06-20")).records, actor="t", guild_id=None
    )
    (claim,) = await store.list_claims(guild_id=None)
    assert claim.claim_date == "2016-06-20"
    exported = claimreview.export_document([claim])
    assert exported["dataFeedElement"][0]["itemReviewed"]["datePublished"] == "2016-06-20"
    reparsed = claimreview.parse_document(json.loads(json.dumps(exported)))
    result = await store.import_claims(reparsed.records, actor="t", guild_id=None)
    assert (result.created, result.updated, result.unchanged) == (0, 0, 1)

    records = claimreview.parse_document(on("2017-01-02")).records
    result = await store.import_claims(records, actor="t", guild_id=None)
    assert (result.created, result.updated, result.unchanged) == (0, 1, 0)
    (claim,) = await store.list_claims(guild_id=None)
    assert claim.claim_date == "2017-01-02"
    # A feed that stops saying when is a change too: the date is what the feed says.
    result = await store.import_claims(
        claimreview.parse_document(REVIEW).records, actor="t", guild_id=None
    )
    assert (result.created, result.updated, result.unchanged) == (0, 1, 0)
    assert (await store.get_claim(claim.id, guild_id=None)).claim_date is None


async def test_the_store_keeps_a_claims_date_as_a_day_and_refuses_one_that_is_no_date(
    store: Store,
) -> None:
    from bot.store import InvalidInput, NewClaim

    timed = NewClaim("Dated claim", "false", claim_date="2016-06-20T23:30:00-05:00")
    claim = await store.add_claim(timed, actor="t", guild_id=None)
    assert (await store.get_claim(claim.id, guild_id=None)).claim_date == "2016-06-20"
    with pytest.raises(InvalidInput, match="not an ISO 8601 date: 'soon'"):
        await store.add_claim(
            NewClaim("Undated", "false", claim_date="soon"), actor="t", guild_id=None
        )
    assert await store.count_claims() == 1


async def test_claims_added_by_hand_round_trip_too(store: Store) -> None:
    from bot.store import NewClaim, Source

    await store.add_claim(
        NewClaim(
            "Hand-made claim",
            "missing-context",
            note="Context matters.",
            urls=("https://example.com/a",),
            sources=(Source("https://example.org/read", "Read this", "alternative"),),
            claimant="A. Person",
        ),
        actor="mod",
        guild_id=5,
    )
    exported = claimreview.export_document(
        await store.list_claims(guild_id=5, include_global=False)
    )
    assert exported["dataFeedElement"][0]["itemReviewed"]["author"]["name"] == "A. Person"
    reparsed = claimreview.parse_document(exported)
    result = await store.import_claims(reparsed.records, actor="t", guild_id=5)
    assert (result.created, result.unchanged) == (0, 1)


async def test_export_after_a_moderator_changes_the_verdict_keeps_the_change(
    store: Store,
) -> None:
    (record,) = claimreview.parse_document(REVIEW).records  # "Pants on Fire": false
    (claim_id,) = (await store.import_claims([record], actor="t", guild_id=None)).claim_ids
    await store.edit_claim(claim_id, actor="mod", guild_id=None, verdict="mostly-true")
    exported = claimreview.export_document(await store.list_claims(guild_id=None))
    reparsed = claimreview.parse_document(exported)
    result = await store.import_claims(reparsed.records, actor="t", guild_id=None)
    assert result.unchanged == 1
    assert (await store.get_claim(claim_id, guild_id=None)).verdict == "mostly-true"


def test_duplicate_ids_in_one_file_are_reported() -> None:
    parsed = claimreview.parse_document(
        [{**REVIEW, "@id": "x"}, {**REVIEW, "@id": "x", "claimReviewed": "Other"}]
    )
    assert len(parsed.records) == 1
    assert parsed.errors == ["record 2: same @id as record 1"]


def test_deeply_nested_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "deep.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(claimreview.ImportFileError, match="nested too deeply"):
        claimreview.parse_file(str(path))
