"""Content matching on whole articles: every repeated claim replied, each with its sentence.

The pages are the invented ones of ``tests.article_fixtures``, served by a real HTTP server on
127.0.0.1 (the copy on another loopback address, another site), read by the real fetcher.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest

from bot import checking
from bot.checking import Checker, Preview
from bot.cli import main
from bot.services import open_store
from bot.store import CachedPage, NewClaim, Store
from tests.article_fixtures import (
    COPY_HEADLINE,
    COPY_INTRO,
    DAM_HEADLINE,
    DAM_PARAGRAPHS,
    DAM_STANDFIRST,
    OTHER_TOPIC_CLAIMS,
    REPEATED_CLAIMS,
    SAME_TOPIC_PARAGRAPHS,
    SAME_WORDS_OTHER_CLAIM,
    UNRELATED_CLAIMS,
    UNRELATED_PARAGRAPHS,
    html_page,
)
from tests.servers import LocalServer
from tests.test_pipeline import config_for, reading_checker


@pytest.fixture
async def checker(
    store: Store, http_server: LocalServer, mirror_server: LocalServer
) -> AsyncIterator[Checker]:
    async with reading_checker(store, config_for(http_server, mirror_server)) as checker:
        yield checker


async def add_claims(store: Store, claims: list[str]) -> list[int]:
    ids = []
    for text in claims:
        claim = await store.add_claim(NewClaim(text, "false"), actor="t", guild_id=None)
        ids.append(claim.id)
    return ids


async def add_repeated_among_others(store: Store) -> list[int]:
    """The claims the dam article repeats (their ids returned), among same-topic and unrelated
    claims it does not."""
    repeated = await add_claims(store, [claim for claim, _ in REPEATED_CLAIMS])
    await add_claims(store, OTHER_TOPIC_CLAIMS + UNRELATED_CLAIMS)
    return repeated


async def test_a_copy_with_its_own_headline_gets_every_repeated_claim_quoted(
    store: Store, checker: Checker, mirror_server: LocalServer
) -> None:
    repeated = await add_repeated_among_others(store)
    mirror_server.route(
        "/2026/05/dam-scandal",
        body=html_page(COPY_HEADLINE, DAM_PARAGRAPHS, intro=COPY_INTRO),
    )
    result = await checker.check_text(mirror_server.url("/2026/05/dam-scandal"), guild_id=None)
    (link,) = result.links
    quoted = {m.claim.id: m.quote for m in link.matches}
    assert quoted == {
        claim_id: sentence
        for claim_id, (_, sentence) in zip(repeated, REPEATED_CLAIMS, strict=True)
    }
    assert all(m.match == "content" for m in link.matches)
    assert [m.score for m in link.matches] == sorted((m.score for m in link.matches), reverse=True)
    assert result.known == (link,)


async def test_the_original_page_is_matched_the_same_way(
    store: Store, checker: Checker, http_server: LocalServer
) -> None:
    repeated = await add_claims(store, [claim for claim, _ in REPEATED_CLAIMS])
    await add_claims(store, OTHER_TOPIC_CLAIMS)
    http_server.route(
        "/news/dam", body=html_page(DAM_HEADLINE, DAM_PARAGRAPHS, standfirst=DAM_STANDFIRST)
    )
    result = await checker.check_text(http_server.url("/news/dam"), guild_id=None)
    assert {m.claim.id for m in result.links[0].matches} == set(repeated)


@pytest.mark.parametrize(
    ("headline", "paragraphs"),
    [("Dam permit returns to the legislature", SAME_TOPIC_PARAGRAPHS),
     ("Rovers snatch a draw in the rain", UNRELATED_PARAGRAPHS)],
)  # fmt: skip
async def test_a_page_that_repeats_none_of_the_claims_stays_silent(
    store: Store, checker: Checker, http_server: LocalServer, headline: str, paragraphs: list[str]
) -> None:
    await add_repeated_among_others(store)
    http_server.route("/news/other", body=html_page(headline, paragraphs))
    result = await checker.check_text(http_server.url("/news/other"), guild_id=None)
    assert result.known == ()
    assert result.links[0].matches == ()


async def test_a_sentence_using_a_claims_words_in_other_phrases_is_not_a_repeat(
    store: Store, checker: Checker, http_server: LocalServer
) -> None:
    # The page repeats the donations claim word for word; in place of the flood claim it says
    # something else with most of its words (farmland, Wexley County, flooded, Marren, dam,
    # 12,000). In a long text, words met by chance are common and phrases are not.
    flood, donations = await add_repeated_among_others(store)
    paragraphs = [SAME_WORDS_OTHER_CLAIM if "12,000" in p else p for p in DAM_PARAGRAPHS]
    http_server.route("/news/dam-flooding", body=html_page(DAM_HEADLINE, paragraphs))
    result = await checker.check_text(http_server.url("/news/dam-flooding"), guild_id=None)
    (link,) = result.links
    assert {m.claim.id: m.quote for m in link.matches} == {donations: REPEATED_CLAIMS[1][1]}
    assert flood not in {m.claim.id for m in link.matches}


async def test_a_short_post_is_matched_as_a_one_sentence_article(
    store: Store, checker: Checker
) -> None:
    (flood, _) = await add_repeated_among_others(store)
    text = "So the Marren dam floods 12,000 acres of Wexley County farmland?!"
    (match, *_) = await checker.search_text(text, guild_id=None)
    assert match.claim.id == flood
    assert match.score >= checker.reply_threshold
    assert match.quote == text


async def test_check_json_quotes_the_sentence(
    tmp_path: Path, mirror_server: LocalServer, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "cli.db")
    store = await open_store(db)
    await add_claims(store, [claim for claim, _ in REPEATED_CLAIMS] + OTHER_TOPIC_CLAIMS)
    await store.close()
    cfg = tmp_path / "factbot.toml"
    cfg.write_text(
        '[fetch]\nallowed_private_networks = ["127.0.0.0/8"]\n'
        f"allowed_ports = [{mirror_server.port}]\n"
    )
    mirror_server.route("/dam", body=html_page(COPY_HEADLINE, DAM_PARAGRAPHS, intro=COPY_INTRO))
    code = await asyncio.to_thread(
        main, ["check", "--config", str(cfg), "--db", db, "--json", mirror_server.url("/dam")]
    )
    data = json.loads(capsys.readouterr().out)
    assert code == 0
    quotes = {m["claim"]: m["quote"] for m in data["links"][0]["matches"]}
    assert quotes == dict(REPEATED_CLAIMS)
    assert data["reply"].count("The article says: “") == 2


async def test_claims_a_page_repeats_only_in_its_title_and_description_are_quoted_there(
    store: Store, checker: Checker, http_server: LocalServer
) -> None:
    # Social cards and headlines often say what the article body does not: the page's title
    # and description are read as sentences of their own, before its main text.
    flood, donations = await add_repeated_among_others(store)
    title, description = (sentence for _, sentence in REPEATED_CLAIMS)
    http_server.route(
        "/news/card",
        body=(
            f"<!doctype html><html><head><title>{title}</title>"
            f'<meta name="description" content="{description}"></head><body><article>'
            + "".join(f"<p>{p}</p>" for p in UNRELATED_PARAGRAPHS)
            + "</article></body></html>"
        ).encode(),
    )
    result = await checker.check_text(http_server.url("/news/card"), guild_id=None)
    (link,) = result.links
    assert {m.claim.id: m.quote for m in link.matches} == {flood: title, donations: description}


async def test_a_claim_in_the_first_sentence_is_quoted_without_the_headline(
    store: Store, checker: Checker, http_server: LocalServer
) -> None:
    # Headlines and standfirsts rarely end in a full stop: read as one run with the main text,
    # they were quoted as the start of its first sentence.
    flood, donations = await add_repeated_among_others(store)
    first = REPEATED_CLAIMS[0][1]
    rest = [p for p in DAM_PARAGRAPHS if first not in p]
    standfirst = "What the survey says, and what the governor will not"
    http_server.route(
        "/news/dam-first",
        body=html_page("The valley that will drown", [first, *rest], standfirst=standfirst),
    )
    result = await checker.check_text(http_server.url("/news/dam-first"), guild_id=None)
    (link,) = result.links
    assert {m.claim.id: m.quote for m in link.matches} == {
        flood: first,
        donations: REPEATED_CLAIMS[1][1],
    }


@pytest.mark.parametrize(
    "top",
    [["ANALYSIS", "By Jane Doe in Wexley"], ["By Jane Doe in Wexley"]],
    ids=["kicker and byline", "byline"],
)
async def test_the_lines_above_the_first_sentence_are_not_quoted_with_it(
    store: Store, checker: Checker, http_server: LocalServer, top: list[str]
) -> None:
    (flood, _) = await add_repeated_among_others(store)
    first = REPEATED_CLAIMS[0][1]
    paragraphs = "".join(f"<p>{line}</p>" for line in [*top, first])
    http_server.route(
        "/news/bylined",
        body=(
            "<!doctype html><html><head><title>The valley that will drown</title></head>"
            f"<body><article><h1>The valley that will drown</h1>{paragraphs}</article>"
            "</body></html>"
        ).encode(),
    )
    result = await checker.check_text(http_server.url("/news/bylined"), guild_id=None)
    (link,) = result.links
    assert {m.claim.id: m.quote for m in link.matches} == {flood: first}


async def test_a_page_with_no_main_text_is_quoted_as_it_is(
    store: Store, checker: Checker, http_server: LocalServer
) -> None:
    # A paywall: a title and a description, nothing else, judged as exactly that text.
    (flood, _) = await add_repeated_among_others(store)
    title = REPEATED_CLAIMS[0][1]
    description = (  # the two within one window (300 characters), by 3: a short text
        "Subscribe to read the rest of this story, and every other story from the Valley "
        "Voice, for a dollar a week for your first three months; cancel any time."
    )
    assert len(f"{title}\n\n{description}") == 297
    http_server.route(
        "/news/paywalled",
        body=(
            f"<!doctype html><html><head><title>{title}</title>"
            f'<meta name="description" content="{description}"></head><body></body></html>'
        ).encode(),
    )
    result = await checker.check_text(http_server.url("/news/paywalled"), guild_id=None)
    (link,) = result.links
    assert {m.claim.id: m.quote for m in link.matches} == {flood: title}
    (typed, *_) = await checker.search_text(f"{title}\n\n{description}", guild_id=None)
    assert (typed.claim.id, typed.score) == (flood, link.matches[0].score)


def test_the_text_read_of_a_page_keeps_its_first_unpunctuated_lines_apart() -> None:
    # What the matcher reads: title, description, preview, then the main text, each a
    # paragraph; of the main text, the lines above its first sentence (at most four) too, and
    # below it the text as the page reader left it (a page of thousands of short lines must
    # not become thousands of sentences: the matcher's units grow with their square).
    page = CachedPage(
        url_key="k",
        expires_at=0,
        title="The valley that will drown",
        description="What the survey says",
        text="WEXLEY\nWhat the survey says\nBy Jane Doe\nIt will flood.\nA subheading\nMore.",
    )
    preview = Preview("https://example.com/", "The valley that will drown", "Read it now")
    assert checking._article_text(page, preview) == (
        "The valley that will drown\n\nWhat the survey says\n\nRead it now\n\nWEXLEY"
        "\n\nBy Jane Doe\n\nIt will flood.\nA subheading\nMore."
    )
    first_is_a_sentence = replace(page, text="It will flood.\nA subheading\nMore.")
    assert checking._article_text(first_is_a_sentence, None) == (
        "The valley that will drown\n\nWhat the survey says\n\nIt will flood.\nA subheading\nMore."
    )
    five = "\n".join(["A", "B", "C", "D", "E", "It will flood."])
    assert checking._article_text(replace(page, text=five), None).endswith(
        "\n\nA\n\nB\n\nC\n\nD\n\nE\nIt will flood."
    )
    assert checking._article_text(replace(page, text="Only line"), None).endswith(
        "says\n\nOnly line"
    )
    assert checking._article_text(None, None) == ""


async def test_a_claim_repeated_past_the_pages_lead_is_found(
    store: Store, checker: Checker, http_server: LocalServer
) -> None:
    # The whole main text is read, not its first 1,500 characters (the lead, kept for pages
    # cached before the main text was).
    (flood, _) = await add_repeated_among_others(store)
    others = [p for p in DAM_PARAGRAPHS if not any(s in p for _, s in REPEATED_CLAIMS)]
    paragraphs = others + SAME_TOPIC_PARAGRAPHS + [REPEATED_CLAIMS[0][1]]
    assert sum(map(len, paragraphs[:-1])) > 1500
    http_server.route("/news/long", body=html_page(DAM_HEADLINE, paragraphs))
    result = await checker.check_text(http_server.url("/news/long"), guild_id=None)
    (link,) = result.links
    assert {m.claim.id: m.quote for m in link.matches} == {flood: REPEATED_CLAIMS[0][1]}


async def test_a_claim_said_over_two_sentences_is_quoted_without_the_ones_before_it(
    store: Store, checker: Checker
) -> None:
    (flood, _) = await add_repeated_among_others(store)
    said = "The Marren dam will flood Wexley County farmland. All 12,000 acres of it."
    text = f"Wow. Read this. Share it now. {said}"
    (match, *_) = await checker.search_text(text, guild_id=None)
    assert (match.claim.id, match.quote) == (flood, said)


@pytest.mark.parametrize(
    ("published", "first"),
    [("2019-02-27T08:00:00+00:00", "2019-03-01"), ("2026-05-02", "2026-04-20"), ("", None)],
)  # fmt: skip
async def test_of_one_claim_checked_twice_the_check_of_the_pages_time_comes_first(
    store: Store, checker: Checker, http_server: LocalServer, published: str, first: str | None
) -> None:
    # The same words claimed in 2019 and again in 2026, each with its own fact-check: a page
    # of 2019 repeats the 2019 claim. A page that does not say when it was published is not
    # dated by guesswork: both are replied, in no order the date decides.
    flood = REPEATED_CLAIMS[0][0]
    ids = {}
    for day in ("2019-03-01", "2026-04-20"):
        claim = await store.add_claim(
            NewClaim(flood, "false", claim_date=day), actor="t", guild_id=None
        )
        ids[day] = claim.id
    await add_claims(store, OTHER_TOPIC_CLAIMS + UNRELATED_CLAIMS)
    path = f"/news/dam-{published[:10] or 'undated'}"
    http_server.route(path, body=html_page(DAM_HEADLINE, DAM_PARAGRAPHS, published=published))
    result = await checker.check_text(http_server.url(path), guild_id=None)
    (link,) = result.links
    if first is None:
        assert sorted(m.claim.id for m in link.matches) == sorted(ids.values())
    else:
        nearer = ids.pop(first)
        assert [m.claim.id for m in link.matches] == [nearer, *ids.values()]
    assert all(m.quote == REPEATED_CLAIMS[0][1] for m in link.matches)
