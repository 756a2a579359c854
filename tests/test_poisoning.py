"""Issue 9's cache-poisoning attack and its variants, on loopback servers.

The attacker posts a link on their own site whose query names a victim article
(``/r?url=https://victim.../real-story``); ``/r`` redirects to the attacker's page. Nothing
the bot reads through that link may ever answer for the victim's article, in any server.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot import links
from bot.checking import Checker
from bot.config import Config
from bot.fetch import Fetcher, make_client
from bot.pages import PageReader
from bot.store import CachedPage, NewClaim, Store
from tests.servers import LocalServer, fake_resolver
from tests.test_pipeline import ARTICLE_TEXT, CONSENT_TEXT, config_for, page

VICTIM_HOST = "victim.example.org"
FALSE_CLAIM = "The moon landing was faked"
ATTACK_TEXT = (
    "The moon landing was faked. The moon landing of 1969 was faked in a film studio, and the "
    "astronauts never left the earth; the moon landing footage was faked by the government."
)
REAL_STORY = (
    "The regional orchestra announced its spring season on Monday, with three new commissions "
    "and a series of free concerts in the park for families during the school holidays."
)

ATTACKER_GUILD = 1
VICTIM_GUILD = 424242


@pytest.fixture
async def victim() -> AsyncIterator[LocalServer]:
    """The victim's site, reached as victim.example.org (resolved to 127.0.0.2)."""
    async with LocalServer(host="127.0.0.2") as server:
        server.route("/news/real-story", body=page("Orchestra season", body=REAL_STORY))
        yield server


@pytest.fixture
async def attacker() -> AsyncIterator[LocalServer]:
    async with LocalServer() as server:
        yield server


@pytest.fixture
async def checker(
    store: Store, attacker: LocalServer, victim: LocalServer
) -> AsyncIterator[Checker]:
    config: Config = config_for(attacker, victim)
    resolver = fake_resolver({VICTIM_HOST: ["127.0.0.2"], "bit.ly": ["127.0.0.1"]})
    client = make_client(config.fetch, resolver=resolver)
    try:
        yield Checker(
            store=store,
            config=config,
            reader=PageReader(store, Fetcher(client, config.fetch), config.pages),
        )
    finally:
        await client.aclose()


def victim_url(victim: LocalServer, query: str = "") -> str:
    return f"http://{VICTIM_HOST}:{victim.port}/news/real-story{query}"


def attack_url(attacker: LocalServer, victim: LocalServer) -> str:
    return attacker.url(f"/r?url={victim_url(victim)}")


async def add_false_claim(store: Store, urls: tuple[str, ...] = ()) -> int:
    claim = await store.add_claim(
        NewClaim(FALSE_CLAIM, "false", note="It was not.", urls=urls), actor="t", guild_id=None
    )
    return claim.id


async def test_a_redirect_on_the_attackers_site_does_not_borrow_the_victims_key(
    store: Store, checker: Checker, attacker: LocalServer, victim: LocalServer
) -> None:
    claim_id = await add_false_claim(store, (attacker.url("/false-article"),))
    attacker.route("/false-article", body=page("Shocking truth", body=REAL_STORY))
    attacker.redirect("/r", attacker.url("/false-article"))

    posted = await checker.check_text(attack_url(attacker, victim), guild_id=ATTACKER_GUILD)
    (link,) = posted.links
    # The link really leads to the false article, so it is answered as that article...
    assert link.canonical_url != links.canonical_url(victim_url(victim))
    assert [(m.claim.id, m.match) for m in link.matches] == [(claim_id, "url")]
    assert victim.paths() == []  # the victim was not read

    # ...but the victim's article, in another server, is not.
    checked = await checker.check_text(
        victim_url(victim, "?utm_source=twitter"), guild_id=VICTIM_GUILD
    )
    (report,) = checked.links
    assert report.matches == () and checked.known == ()
    assert report.title == "Orchestra season"  # read from the victim itself
    assert victim.paths() == ["/news/real-story"]


async def test_the_attackers_page_text_is_not_matched_under_the_victims_key(
    store: Store, checker: Checker, attacker: LocalServer, victim: LocalServer
) -> None:
    claim_id = await add_false_claim(store)
    attacker.route("/moon", body=page("The moon landing was faked", body=ATTACK_TEXT))
    attacker.redirect("/r", attacker.url("/moon"))

    posted = await checker.check_text(attack_url(attacker, victim), guild_id=ATTACKER_GUILD)
    assert [(m.claim.id, m.match) for m in posted.links[0].matches] == [(claim_id, "content")]

    checked = await checker.check_text(victim_url(victim), guild_id=VICTIM_GUILD)
    (report,) = checked.links
    assert report.matches == () and report.candidates == ()
    assert report.title == "Orchestra season"


async def test_an_attackers_failure_is_not_cached_under_the_victims_key(
    store: Store, checker: Checker, attacker: LocalServer, victim: LocalServer
) -> None:
    attacker.route("/gone", status=404, body=b"<html>not found</html>")
    attacker.redirect("/r", attacker.url("/gone"))

    posted = await checker.check_text(attack_url(attacker, victim), guild_id=ATTACKER_GUILD)
    assert posted.links[0].fetch_error == "http 404"
    assert await store.cached_page(links.canonical_url(victim_url(victim))) is None

    checked = await checker.check_text(victim_url(victim), guild_id=VICTIM_GUILD)
    (report,) = checked.links
    assert report.fetch_error is None
    assert report.title == "Orchestra season"


async def test_a_final_url_on_another_site_is_not_looked_up(
    store: Store, checker: Checker, attacker: LocalServer, victim: LocalServer
) -> None:
    # The attacker's link redirects to a checked article elsewhere today and anywhere tomorrow:
    # the cached page must not keep answering for the attacker's link as that article.
    await add_false_claim(store, (victim_url(victim),))
    attacker.redirect("/go", victim_url(victim))
    result = await checker.check_text(attacker.url("/go"), guild_id=None)
    (report,) = result.links
    assert report.final_url == victim_url(victim)
    assert report.matches == ()


async def test_a_shorteners_final_url_on_another_site_still_counts(
    store: Store, checker: Checker, attacker: LocalServer, victim: LocalServer
) -> None:
    # A shortener exists to send visitors elsewhere; nobody but its user picks the target.
    claim_id = await add_false_claim(store, (victim_url(victim),))
    attacker.redirect("/Xy12", victim_url(victim))
    result = await checker.check_text(f"http://bit.ly:{attacker.port}/Xy12", guild_id=None)
    (report,) = result.links
    assert [(m.claim.id, m.match) for m in report.matches] == [(claim_id, "url")]


async def test_a_shortened_link_re_pointed_at_an_article_lends_it_no_verdict(
    store: Store, checker: Checker, attacker: LocalServer, victim: LocalServer
) -> None:
    # Moderators marked the attacker's short link false; its owner then points it at the
    # victim's article. The victim's article, posted itself, is not a "copy" of that link.
    victim.route("/news/bridge", body=page("Bridge closes", body=ARTICLE_TEXT))
    article = f"http://{VICTIM_HOST}:{victim.port}/news/bridge"
    short_link = f"http://bit.ly:{attacker.port}/Xy12"
    claim_id = await add_false_claim(store, (short_link,))
    attacker.redirect("/Xy12", article)
    short = await checker.check_text(short_link, guild_id=None)
    assert [(m.claim.id, m.match) for m in short.links[0].matches] == [(claim_id, "url")]
    checked = await checker.check_text(article, guild_id=None)
    (report,) = checked.links
    assert report.title == "Bridge closes"
    assert report.matches == () and checked.known == ()


async def test_a_shortened_link_to_an_outlets_wall_is_no_copy_of_its_articles(
    store: Store, checker: Checker, attacker: LocalServer, victim: LocalServer
) -> None:
    # The outlet shows one consent wall in front of every article: a short link landing on it
    # is judged on the outlet's site, where that wall is no copy of the outlet's other articles.
    victim.route("/consent", body=page("Before you continue", body=CONSENT_TEXT))
    victim.redirect("/news/vaccine-story", "/consent")
    victim.route("/sport/final", body=page("Before you continue", body=CONSENT_TEXT))
    checked_story = f"http://{VICTIM_HOST}:{victim.port}/news/vaccine-story"
    await add_false_claim(store, (checked_story,))
    first = await checker.check_text(checked_story, guild_id=None)
    assert first.links[0].matches[0].match == "url"
    attacker.redirect("/Ab34", f"http://{VICTIM_HOST}:{victim.port}/sport/final")
    short = await checker.check_text(f"http://bit.ly:{attacker.port}/Ab34", guild_id=None)
    (report,) = short.links
    assert report.title == "Before you continue"
    assert report.matches == () and short.known == ()


async def test_a_page_claiming_another_sites_address_is_not_looked_up(
    store: Store, checker: Checker, attacker: LocalServer, victim: LocalServer
) -> None:
    await add_false_claim(store, (victim_url(victim),))
    head = (
        f'<link rel="canonical" href="{victim_url(victim)}">'
        f'<meta property="og:url" content="{victim_url(victim)}">'
    )
    attacker.route("/story", body=page("Orchestra season", body=REAL_STORY, head=head))
    result = await checker.check_text(attacker.url("/story"), guild_id=None)
    assert result.links[0].matches == ()


async def test_the_reader_caches_only_under_the_key_of_what_it_read(
    store: Store, checker: Checker, attacker: LocalServer, victim: LocalServer
) -> None:
    assert checker.reader is not None
    attacker.route("/false-article", body=page("Shocking truth", body=REAL_STORY))
    victim_key = links.canonical_url(victim_url(victim))
    read = await checker.reader.read(attacker.url("/false-article"), victim_key)
    assert read.error == "link does not match its key" and read.title is None
    assert attacker.paths() == []
    assert await store.cached_page(victim_key) is None


async def test_a_named_wrapper_reads_its_target_not_the_wrapper(
    store: Store, checker: Checker, victim: LocalServer
) -> None:
    # Google's wrapper is never fetched (it is not on loopback: the tripwire would fail the
    # test); the article it names is, and is cached under that article's key.
    wrapped = "https://www.google.com/url?q=" + victim_url(victim)
    assert checker.reader is not None
    key = links.canonical_url(wrapped)
    page_read: CachedPage = await checker.reader.read(wrapped, key)
    assert page_read.title == "Orchestra season"
    await checker.reader.wait_for_writes()
    cached = await store.cached_page(key)
    assert cached is not None and cached.title == "Orchestra season"
