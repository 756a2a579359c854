"""The whole path for a posted link: canonical key, safe fetch, page metadata, cache, matching."""

from __future__ import annotations

import asyncio
import html
import json
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import discord
import pytest

from bot import fingerprint, links
from bot.checking import MAX_MATCH_TEXT, Checker, Match, Preview
from bot.cli import main
from bot.client import FactBot
from bot.config import Config, PagesConfig, RepliesConfig
from bot.fetch import FetchConfig, Fetcher, make_client
from bot.pages import PageReader
from bot.ranking import Ranker
from bot.services import open_services, open_store
from bot.store import NewClaim, Source, SQLiteStore, Store
from tests.articles import ARTICLE_CLAIMS, partisan_article
from tests.fakes import FakeMessage, no_mentions
from tests.servers import LocalServer

ARTICLE_TEXT = (
    "The city council voted on Tuesday to close the old harbour bridge for repairs after "
    "engineers found cracks in three of its supporting pillars. The closure is expected to last "
    "six months, and ferries will run every twenty minutes during rush hour. Local shop owners "
    "said they feared losing customers, while the mayor promised a support fund for businesses "
    "near the bridge. Critics argued that the repairs had been postponed for years and that the "
    "council ignored warnings from its own inspectors in the last two reports."
)


def page(title: str, body: str = ARTICLE_TEXT, head: str = "") -> bytes:
    return (
        f"<!doctype html><html><head><title>{title}</title>{head}</head><body>"
        f"<nav>Home | World | Sport</nav><article><h1>{title}</h1><p>{body}</p></article>"
        f"<footer>(c) Example Media</footer></body></html>"
    ).encode()


def config_for(server: LocalServer, *more: LocalServer, **pages: object) -> Config:
    return Config(
        fetch=FetchConfig(
            allowed_private_networks=("127.0.0.0/8",),
            allowed_ports=tuple(s.port for s in (server, *more)),
            timeout_s=5.0,
        ),
        pages=PagesConfig(**pages),  # type: ignore[arg-type]
    )


@asynccontextmanager
async def reading_checker(store: Store, config: Config) -> AsyncIterator[Checker]:
    """A checker that reads pages through the real guarded fetcher."""
    client = make_client(config.fetch)
    reader = PageReader(store, Fetcher(client, config.fetch), config.pages)
    try:
        yield Checker(store=store, config=config, reader=reader)
    finally:
        await reader.wait_for_writes()
        await client.aclose()


@pytest.fixture
async def checker(
    store: Store, http_server: LocalServer, mirror_server: LocalServer
) -> AsyncIterator[Checker]:
    async with reading_checker(store, config_for(http_server, mirror_server)) as checker:
        yield checker


async def claim_at(store: Store, url: str, text: str = "The bridge is being closed") -> int:
    claim = await store.add_claim(
        NewClaim(
            text,
            "misleading",
            note="Only for repairs.",
            urls=(url,),
            sources=(
                Source("https://factcheck.example.org/bridge", "Example Checks", "fact-check"),
            ),
        ),
        actor="t",
        guild_id=None,
    )
    return claim.id


async def test_shortened_link_matches_the_article_it_leads_to(
    store: Store, checker: Checker, http_server: LocalServer
) -> None:
    http_server.route("/news/bridge-closure", body=page("Bridge closes"))
    http_server.redirect("/s/Xy12", http_server.url("/news/bridge-closure"))
    claim_id = await claim_at(store, http_server.url("/news/bridge-closure"))

    result = await checker.check_text(f"wow {http_server.url('/s/Xy12')}", guild_id=None)
    (link,) = result.links
    assert [(m.claim.id, m.match) for m in link.matches] == [(claim_id, "url")]
    assert link.final_url == http_server.url("/news/bridge-closure")
    assert link.title == "Bridge closes"
    assert link.fetch_error is None


async def test_a_servers_own_claim_is_found_through_the_link_a_short_link_leads_to(
    store: Store, checker: Checker, http_server: LocalServer
) -> None:
    http_server.route("/news/bridge-closure", body=page("Bridge closes"))
    http_server.redirect("/s/Xy12", http_server.url("/news/bridge-closure"))
    claim = await store.add_claim(
        NewClaim(
            "The bridge is closed for good",
            "false",
            urls=(http_server.url("/news/bridge-closure"),),
        ),
        actor="t",
        guild_id=1234,
    )
    mine = await checker.check_text(http_server.url("/s/Xy12"), guild_id=1234)
    assert [(m.claim.id, m.match) for m in mine.links[0].matches] == [(claim.id, "url")]
    theirs = await checker.check_text(http_server.url("/s/Xy12"), guild_id=5678)
    assert theirs.links[0].matches == ()


async def test_amp_page_matches_through_its_canonical_link(
    store: Store, checker: Checker, http_server: LocalServer
) -> None:
    canonical = http_server.url("/2026/11/bridge-closure.html")
    http_server.route(
        "/amp-stories/88123",
        body=page("Bridge closes", head=f'<link rel="canonical" href="{canonical}">'),
    )
    claim_id = await claim_at(store, canonical)
    result = await checker.check_text(http_server.url("/amp-stories/88123"), guild_id=None)
    assert [(m.claim.id, m.match) for m in result.links[0].matches] == [(claim_id, "url")]


async def test_a_claim_at_two_of_a_pages_addresses_is_one_url_match(
    store: Store, checker: Checker, http_server: LocalServer
) -> None:
    """A short link leads to an AMP page whose canonical link is the article: the claim holds
    both addresses, and is listed once, as sure as a link to it."""
    amp, article = http_server.url("/amp/bridge"), http_server.url("/news/bridge")
    http_server.route(
        "/amp/bridge", body=page("Bridge closes", head=f'<link rel="canonical" href="{article}">')
    )
    http_server.redirect("/s/Xy12", amp)
    claim = await store.add_claim(
        NewClaim("The bridge is closed for good", "false", urls=(amp, article)),
        actor="t",
        guild_id=None,
    )
    result = await checker.check_text(http_server.url("/s/Xy12"), guild_id=None)
    assert [(m.claim.id, m.match, m.score) for m in result.links[0].matches] == [
        (claim.id, "url", 1.0)
    ]


async def test_a_link_to_an_outlet_without_a_note_reports_the_note_of_where_it_leads(
    store: Store, checker: Checker, http_server: LocalServer, mirror_server: LocalServer
) -> None:
    mirror_server.route("/news/bridge", body=page("Bridge closes"))
    http_server.redirect("/go/bridge", mirror_server.url("/news/bridge"))
    await store.set_source_note("127.0.0.2", "mirror outlet", "A note.", actor="t", guild_id=None)
    result = await checker.check_text(http_server.url("/go/bridge"), guild_id=None)
    (link,) = result.links
    assert link.final_url == mirror_server.url("/news/bridge")
    assert link.source is not None and link.source.rating == "mirror outlet"
    # A server's own note on that outlet, for that server.
    await store.set_source_note("127.0.0.2", "our view", "Ours.", actor="t", guild_id=1234)
    (link,) = (await checker.check_text(http_server.url("/go/bridge"), guild_id=1234)).links
    assert link.source is not None and link.source.rating == "our view"


async def test_retagged_link_matches_through_og_url(
    store: Store, checker: Checker, http_server: LocalServer
) -> None:
    known = http_server.url("/world/bridge")
    http_server.route(
        "/share/abc", body=page("Bridge closes", head=f'<meta property="og:url" content="{known}">')
    )
    claim_id = await claim_at(store, known)
    result = await checker.check_text(http_server.url("/share/abc"), guild_id=None)
    assert [(m.claim.id, m.match) for m in result.links[0].matches] == [(claim_id, "url")]


async def test_syndicated_copy_inherits_the_original_matches(
    store: Store, checker: Checker, http_server: LocalServer, mirror_server: LocalServer
) -> None:
    original = http_server.url("/original/bridge")
    http_server.route("/original/bridge", body=page("Bridge closes for six months"))
    mirror_server.route(
        "/mirror/2026/bridge-copy",
        body=page("Bridge closes for six months", head='<meta name="robots" content="noindex">'),
    )
    claim_id = await claim_at(store, original)
    first = await checker.check_text(original, guild_id=None)
    assert first.links[0].matches[0].match == "url"

    copy = await checker.check_text(mirror_server.url("/mirror/2026/bridge-copy"), guild_id=None)
    assert [(m.claim.id, m.match) for m in copy.links[0].matches] == [(claim_id, "copy")]


async def test_a_copy_with_an_edit_at_the_similarity_limit_is_still_a_copy(
    store: Store, checker: Checker, http_server: LocalServer, mirror_server: LocalServer
) -> None:
    original = http_server.url("/original/bridge")
    http_server.route("/original/bridge", body=page("Bridge closes for six months"))
    edited = "ferry" + ARTICLE_TEXT.removeprefix("The")  # one word changed by the copier
    mirror_server.route("/copy", body=page("Bridge closes for six months", body=edited))
    claim_id = await claim_at(store, original)
    await checker.check_text(original, guild_id=None)
    copy = await checker.check_text(mirror_server.url("/copy"), guild_id=None)
    assert [(m.claim.id, m.match) for m in copy.links[0].matches] == [(claim_id, "copy")]
    # The edit is exactly as far as a copy may be from its original.
    assert checker.reader is not None
    await checker.reader.wait_for_writes()
    pages = [await store.cached_page(links.canonical_url(u)) for u in (original, copy.links[0].url)]
    hashes = [p.fingerprint for p in pages if p is not None and p.fingerprint is not None]
    assert len(hashes) == 2
    assert fingerprint.distance(*hashes) == fingerprint.MAX_DISTANCE


async def test_every_copy_inherits_each_of_the_originals_claims_in_its_own_server_only(
    store: Store, http_server: LocalServer, mirror_server: LocalServer
) -> None:
    async with (
        LocalServer(host="127.0.0.3") as third_site,
        reading_checker(store, config_for(http_server, mirror_server, third_site)) as checker,
    ):
        original = http_server.url("/original/bridge")
        for server, path in ((http_server, "/original/bridge"), (mirror_server, "/copy")):
            server.route(path, body=page("Bridge closes for six months"))
        third_site.route("/copy", body=page("Bridge closes for six months"))
        first = await claim_at(store, original)
        second = await claim_at(store, original, "Ferries will replace the bridge for good")
        local = await store.add_claim(
            NewClaim("The bridge closure is a political stunt", "false", urls=(original,)),
            actor="t",
            guild_id=7,
        )
        await checker.check_text(original, guild_id=None)
        # A first copy holds no claim of its own; a second, elsewhere, still finds the original.
        await checker.check_text(mirror_server.url("/copy"), guild_id=None)
        here = await checker.check_text(third_site.url("/copy"), guild_id=7)
        elsewhere = await checker.check_text(third_site.url("/copy"), guild_id=8)
    assert sorted((m.claim.id, m.match, m.score) for m in here.links[0].matches) == [
        (first, "copy", 1.0),
        (second, "copy", 1.0),
        (local.id, "copy", 1.0),
    ]
    assert sorted(m.claim.id for m in elsewhere.links[0].matches) == [first, second]


async def test_a_copy_posted_before_the_original_is_cached_is_still_recognised(
    tmp_path: Path, http_server: LocalServer, mirror_server: LocalServer
) -> None:
    original = http_server.url("/original/bridge")
    http_server.route("/original/bridge", body=page("Bridge closes for six months"))
    mirror_server.route("/copy", body=page("Bridge closes for six months"))
    path = tmp_path / "busy.db"
    store = await SQLiteStore.open(path, busy_timeout_ms=60_000)
    claim_id = await claim_at(store, original)
    importer = sqlite3.connect(path, isolation_level=None)
    importer.execute("BEGIN IMMEDIATE")  # a long import: the original's cache write waits
    try:
        async with reading_checker(store, config_for(http_server, mirror_server)) as checker:
            await asyncio.wait_for(checker.check_text(original, guild_id=None), timeout=30)
            copy = await asyncio.wait_for(
                checker.check_text(mirror_server.url("/copy"), guild_id=None), timeout=30
            )
            assert importer.in_transaction
            importer.execute("ROLLBACK")
    finally:
        if importer.in_transaction:
            importer.execute("ROLLBACK")
        importer.close()
        await store.close()
    assert [(m.claim.id, m.match) for m in copy.links[0].matches] == [(claim_id, "copy")]


async def test_a_text_search_lists_the_five_best_claims(store: Store) -> None:
    # /factcheck without a link: a short list, best first, not every claim sharing a word.
    for n in range(7):
        await claim_at(store, f"https://example.org/bridge/{n}", f"The bridge closes in {2030 + n}")
    checker = Checker(store=store, config=Config())
    matches = await checker.search_text("Is the bridge closing in 2033?", guild_id=None)
    assert len(matches) == 5
    assert matches[0].claim.claim == "The bridge closes in 2033"
    assert {m.match for m in matches} == {"content"}


async def test_a_preview_is_matched_up_to_the_match_text_limit(store: Store) -> None:
    # Pages not read: the message's own Discord preview is what the bot knows of the article.
    cracks = "Engineers found cracks in three harbour bridge pillars"
    claim_id = await claim_at(store, "https://example.org/cracks", cracks)
    checker = Checker(store=store, config=Config(pages=PagesConfig(enabled=False)))
    url = "https://news.example.com/2026/bridge"
    claim = "Engineers found cracks in three pillars of the harbour bridge."
    filler = "Fans of the local team gathered in the park on a sunny afternoon. " * 500
    assert len(filler) > MAX_MATCH_TEXT
    for description, expected in ((claim + " " + filler, [claim_id]), (filler + claim, [])):
        result = await checker.check_text(
            url, guild_id=None, previews=[Preview(url, "Bridge news", description)]
        )
        (link,) = result.links
        assert (link.title, [m.claim.id for m in link.matches]) == ("Bridge news", expected)


async def test_check_json_gives_scores_to_four_decimals(store: Store) -> None:
    # What scripts reading `factbot check --json` get: the score rounded, never a bare 0 or 1.
    claim_id = await claim_at(store, "https://example.org/bridge")
    (claim,) = await store.get_claims([claim_id], guild_id=None)
    assert Match(claim, "content", 0.876543).to_json()["score"] == 0.8765
    assert Match(claim, "content", 0.0000449).to_json()["score"] == 0.0


async def test_the_same_text_on_the_same_site_is_not_a_copy(
    store: Store, checker: Checker, http_server: LocalServer
) -> None:
    # One site's paywall or "article removed" page, served at every article's own URL.
    http_server.route("/news/vaccine-story", body=page("Subscribe to read", body=CONSENT_TEXT))
    http_server.route("/sport/local-team-wins", body=page("Subscribe to read", body=CONSENT_TEXT))
    await claim_at(store, http_server.url("/news/vaccine-story"), "Vaccines cause autism")
    await checker.check_text(http_server.url("/news/vaccine-story"), guild_id=None)
    other = await checker.check_text(http_server.url("/sport/local-team-wins"), guild_id=None)
    assert other.known == ()


async def test_a_different_article_is_not_a_copy(
    store: Store, checker: Checker, http_server: LocalServer, mirror_server: LocalServer
) -> None:
    original = http_server.url("/original/bridge")
    http_server.route("/original/bridge", body=page("Bridge closes"))
    other_text = (
        "The national football team won the final on Sunday evening after a penalty shoot-out "
        "that lasted eleven rounds. Fans celebrated in the streets until the early morning, and "
        "the coach thanked the supporters who had travelled across the continent. The captain "
        "scored the decisive kick and later said the team had trained for this moment all year."
    )
    mirror_server.route("/sport/final", body=page("Team wins the final", body=other_text))
    await claim_at(store, original)
    await checker.check_text(original, guild_id=None)
    result = await checker.check_text(mirror_server.url("/sport/final"), guild_id=None)
    assert result.links[0].matches == ()
    assert result.known == ()


async def test_a_failed_fetch_still_reports_the_outlet(
    store: Store, checker: Checker, http_server: LocalServer
) -> None:
    http_server.route("/gone", status=404, body=b"<html>not found</html>")
    await store.set_source_note("127.0.0.1", "test outlet", "A note.", actor="t", guild_id=None)
    result = await checker.check_text(http_server.url("/gone"), guild_id=None)
    (link,) = result.links
    assert link.fetch_error == "http 404"
    assert link.source is not None and link.source.rating == "test outlet"
    assert result.known == (link,)


async def test_unknown_page_is_silent(checker: Checker, http_server: LocalServer) -> None:
    http_server.route("/news/other", body=page("Nothing we know"))
    result = await checker.check_text(http_server.url("/news/other"), guild_id=None)
    assert result.known == ()


async def test_many_messages_with_one_new_link_fetch_it_once(
    checker: Checker, http_server: LocalServer
) -> None:
    gate = asyncio.Event()
    http_server.route("/news/hot", body=page("Hot story"), gate=gate)
    url = http_server.url("/news/hot")
    tasks = [asyncio.create_task(checker.check_text(url, guild_id=None)) for _ in range(50)]
    await asyncio.wait_for(http_server.wait_for_requests(1), timeout=10)
    gate.set()
    results = await asyncio.gather(*tasks)
    assert http_server.paths() == ["/news/hot"]
    assert {r.links[0].title for r in results} == {"Hot story"}


async def test_posts_sharing_one_check_each_report_their_own_link(
    checker: Checker, http_server: LocalServer
) -> None:
    http_server.route("/news/hot", body=page("Hot story"))
    first, second = (http_server.url(f"/news/hot?utm_source={s}") for s in ("mail", "feed"))
    reports = await asyncio.gather(*(checker.check_text(u, guild_id=None) for u in (first, second)))
    assert [r.links[0].url for r in reports] == [first, second]
    assert [r.links[0].title for r in reports] == ["Hot story", "Hot story"]
    assert http_server.paths() == ["/news/hot"]


async def test_one_members_rate_limit_is_not_shared_with_others_posting_the_same_link(
    store: Store, http_server: LocalServer
) -> None:
    for i in range(3):
        http_server.route(f"/p/{i}", body=page(f"Story {i}"))
    config = config_for(http_server, user_fetches_per_minute=2)
    async with reading_checker(store, config) as checker:
        for i in range(2):
            await checker.check_text(http_server.url(f"/p/{i}"), guild_id=None, user_id=7)
        limited, other = await asyncio.gather(
            checker.check_text(http_server.url("/p/2"), guild_id=None, user_id=7),
            checker.check_text(http_server.url("/p/2"), guild_id=None, user_id=8),
        )
    assert limited.links[0].fetch_error == "rate limited"
    assert (other.links[0].fetch_error, other.links[0].title) == (None, "Story 2")


async def test_page_cache_survives_a_restart(tmp_path: Path, http_server: LocalServer) -> None:
    http_server.route("/news/cached", body=page("Cached story"))
    config = config_for(http_server)
    for _ in range(2):
        store = await open_store(str(tmp_path / "cache.db"))
        async with reading_checker(store, config) as checker:
            result = await checker.check_text(http_server.url("/news/cached"), guild_id=None)
        assert result.links[0].title == "Cached story"
        await store.close()
    assert http_server.paths() == ["/news/cached"]


async def test_failures_are_cached_briefly_and_retried_after(
    store: Store, http_server: LocalServer
) -> None:
    http_server.route("/flaky", status=503, body=b"busy")
    config = config_for(http_server, failure_ttl_minutes=0.0)
    async with reading_checker(store, config) as checker:
        first = await checker.check_text(http_server.url("/flaky"), guild_id=None)
        assert first.links[0].fetch_error == "http 503"
        await checker.check_text(http_server.url("/flaky"), guild_id=None)
    assert http_server.paths() == ["/flaky", "/flaky"]  # a zero TTL retries at once


async def test_per_user_rate_limit_bounds_fetches(store: Store, http_server: LocalServer) -> None:
    for i in range(5):
        http_server.route(f"/p/{i}", body=page(f"Story {i}"))
    config = config_for(http_server, user_fetches_per_minute=2)
    async with reading_checker(store, config) as checker:
        errors = []
        for i in range(5):
            url = http_server.url(f"/p/{i}")
            result = await checker.check_text(url, guild_id=None, user_id=7)
            errors.append(result.links[0].fetch_error)
        assert errors == [None, None, "rate limited", "rate limited", "rate limited"]
        other = await checker.check_text(http_server.url("/p/4"), guild_id=None, user_id=8)
    assert other.links[0].fetch_error is None
    assert len(http_server.requests) == 3


async def test_factbot_check_follows_a_shortener(
    tmp_path: Path, http_server: LocalServer, capsys: pytest.CaptureFixture[str]
) -> None:
    http_server.route("/news/bridge-closure", body=page("Bridge closes"))
    http_server.redirect("/s/Xy12", "/news/bridge-closure")
    db = str(tmp_path / "cli.db")
    store = await open_store(db)
    claim_id = await claim_at(store, http_server.url("/news/bridge-closure"))
    await store.close()
    cfg = tmp_path / "factbot.toml"
    cfg.write_text(
        '[fetch]\nallowed_private_networks = ["127.0.0.0/8"]\n'
        f"allowed_ports = [{http_server.port}]\n"
    )
    code = await asyncio.to_thread(
        main, ["check", "--config", str(cfg), "--db", db, "--json", http_server.url("/s/Xy12")]
    )
    out = capsys.readouterr().out
    assert code == 0
    (link,) = json.loads(out)["links"]
    assert link["final_url"] == http_server.url("/news/bridge-closure")
    assert link["title"] == "Bridge closes"
    assert [(m["claim_id"], m["match"]) for m in link["matches"]] == [(claim_id, "url")]


async def test_factbot_check_in_a_server_uses_that_servers_reply_threshold(
    tmp_path: Path, http_server: LocalServer, capsys: pytest.CaptureFixture[str]
) -> None:
    # `check --guild` prints what the bot would reply there: a server that set a quieter
    # threshold gets no reply for a content match below it, text and JSON alike.
    db = str(tmp_path / "cli.db")
    store = await open_store(db)
    ids = [
        await claim_at(store, f"https://elsewhere.example.org/{i}", c)
        for i, c in enumerate(ARTICLE_CLAIMS)
    ]
    await store.close()
    http_server.route("/mirror/2026/02/tram", body=article_html())
    cfg = tmp_path / "factbot.toml"
    cfg.write_text(
        '[fetch]\nallowed_private_networks = ["127.0.0.0/8"]\n'
        f"allowed_ports = [{http_server.port}]\n"
    )
    cli = ["--config", str(cfg), "--db", db]
    quiet = ["settings", "set", "--guild", "5", "reply_threshold", "1", *cli]
    assert await asyncio.to_thread(main, quiet) == 0
    url = http_server.url("/mirror/2026/02/tram")

    async def check(*argv: str) -> tuple[str, str]:
        assert await asyncio.to_thread(main, ["check", *cli, *argv, url]) == 0
        captured = capsys.readouterr()
        return captured.out, captured.err

    (link,) = json.loads((await check("--json", "--guild", "6"))[0])["links"]
    assert [(m["claim_id"], m["match"]) for m in link["matches"]] == [(ids[0], "content")]
    score = link["matches"][0]["score"]
    assert score < 1
    data = json.loads((await check("--json", "--guild", "5"))[0])
    (link,) = data["links"]
    assert (link["matches"], data["reply"]) == ([], None)
    best = link["candidates"][0]
    assert (best["claim_id"], best["score"]) == (ids[0], score)
    assert await check("--guild", "5") == ("", "(no reply: nothing known about these links)\n")
    out, _ = await check("--guild", "6")
    assert out.startswith("⚠️ Misleading\n")


async def test_factbot_check_reports_a_blocked_address(
    tmp_path: Path, http_server: LocalServer, capsys: pytest.CaptureFixture[str]
) -> None:
    http_server.route("/admin", body=page("Internal"))
    db = str(tmp_path / "cli.db")
    await (await open_store(db)).close()
    # The server's port is allowed, so only the address check stands between it and the fetch.
    config = tmp_path / "ports.toml"
    config.write_text(f"[fetch]\nallowed_ports = [80, 443, {http_server.port}]\n")
    url = http_server.url("/admin").replace("127.0.0.1", "127.1")
    code = await asyncio.to_thread(
        main, ["check", "--db", db, "--config", str(config), "--json", url]
    )
    link = json.loads(capsys.readouterr().out)["links"][0]
    assert code == 0
    assert link["fetch_error"] == "blocked address"
    assert http_server.requests == []


EXAMPLE_CLAIMS = [
    "Western media ignored the siege of the Shia villages of al-Fu'ah and Kafriya in Idlib.",
    "Only 60,000 civilians, not 250,000, remained in eastern Aleppo in December 2016.",
    "The Syrian government blocked the evacuation of eastern Aleppo.",
    "Vaccines cause autism.",
    "A photo shows a shark swimming on a flooded highway in Houston.",
]


def article_html() -> bytes:
    """The test article as a news page: headline, standfirst, body, page furniture."""
    headline, standfirst, body = partisan_article()
    e = html.escape
    paragraphs = "".join(f"<p>{e(p)}</p>" for p in body)
    return (
        f"<!doctype html><html><head><title>{e(headline)} | Some Blog</title>"
        f'<meta name="description" content="{e(standfirst)}"></head><body>'
        f"<nav>Home | Lowmere | Opinion</nav><article><h1>{e(headline)}</h1>"
        f"<p><em>{e(standfirst)}</em></p>{paragraphs}</article>"
        f"<footer>Comments are closed.</footer></body></html>"
    ).encode()


async def test_a_servers_own_claim_is_matched_by_a_pages_content_in_that_server_only(
    store: Store, checker: Checker, http_server: LocalServer
) -> None:
    ids = [
        (
            await store.add_claim(
                NewClaim(c, "misleading", urls=(f"https://elsewhere.example.org/{i}",)),
                actor="t",
                guild_id=1234,
            )
        ).id
        for i, c in enumerate(ARTICLE_CLAIMS)
    ]
    http_server.route("/mirror/2026/02/tram", body=article_html())
    url = http_server.url("/mirror/2026/02/tram")
    (link,) = (await checker.check_text(url, guild_id=1234)).links
    assert [(m.claim.id, m.match) for m in link.matches] == [(ids[0], "content")]
    # The others sharing its words are listed for /factcheck, never replied.
    assert 0 < len({c.claim.id for c in link.candidates} & set(ids[1:])) == len(link.candidates)
    (link,) = (await checker.check_text(url, guild_id=5678)).links
    assert link.matches == () and link.candidates == ()


async def test_article_on_a_mirror_site_is_matched_by_content(
    store: Store, checker: Checker, http_server: LocalServer
) -> None:
    ids = [
        await claim_at(store, f"https://elsewhere.example.org/{i}", c)
        for i, c in enumerate(ARTICLE_CLAIMS)
    ]
    http_server.route("/mirror/2026/02/tram", body=article_html())
    result = await checker.check_text(http_server.url("/mirror/2026/02/tram"), guild_id=None)
    (link,) = result.links
    # The claim the article repeats is replied, quoting the page's own sentence; no other claim.
    assert [(m.claim.id, m.match) for m in link.matches] == [(ids[0], "content")]
    (match,) = link.matches
    assert match.score >= checker.reply_threshold
    _, _, body = partisan_article()
    assert match.quote and "41 million" in match.quote and match.quote in " ".join(body)
    # The rest are listed as candidates for /factcheck, never replied.
    assert all(c.score < checker.reply_threshold for c in link.candidates)
    assert result.known == (link,)


async def test_unrelated_article_stays_silent(
    store: Store, checker: Checker, http_server: LocalServer
) -> None:
    for i, claim in enumerate(EXAMPLE_CLAIMS):
        await claim_at(store, f"https://elsewhere.example.org/{i}", claim)
    http_server.route("/news/bridge", body=page("Bridge closes for repairs"))
    result = await checker.check_text(http_server.url("/news/bridge"), guild_id=None)
    assert result.known == ()
    assert result.links[0].matches == ()


# --- the same paths through the on_message handler ------------------------------------------


@pytest.fixture
async def fetching_bot(
    tmp_path: Path, http_server: LocalServer, mirror_server: LocalServer
) -> AsyncIterator[FactBot]:
    config = config_for(http_server, mirror_server)
    async with open_services(config, db_path=str(tmp_path / "bot.db"), ranker=Ranker()) as services:
        bot = FactBot(services)
        await bot.setup_hook()
        try:
            yield bot
        finally:
            await bot.close()


async def posted(bot: FactBot, content: str, **attrs: object) -> FakeMessage:
    """A member posts ``content``; returns the message, whose ``reply`` records what was sent."""
    message = FakeMessage(content=content, **attrs)
    links_cog = bot.get_cog("Links")
    assert links_cog is not None
    await links_cog.on_message(message)  # type: ignore[attr-defined]
    return message


def replied_claims(message: FakeMessage) -> list[str]:
    message.reply.assert_awaited_once()
    kwargs = message.reply.await_args.kwargs
    assert no_mentions(kwargs)
    return [embed.description for embed in kwargs["embeds"]]


@pytest.mark.parametrize("how", ["shortener", "amp-canonical", "canonical-known"])
async def test_on_message_matches_by_url_after_reading_the_page(
    fetching_bot: FactBot, http_server: LocalServer, how: str
) -> None:
    store = fetching_bot.services.store
    article = http_server.url("/news/2026/bridge-closure")
    await claim_at(store, article, "The bridge is closing for good")
    http_server.route("/news/2026/bridge-closure", body=page("Bridge closes"))
    if how == "shortener":
        http_server.redirect("/s/Xy12", article)
        posted_url = http_server.url("/s/Xy12")
    elif how == "amp-canonical":
        http_server.route(
            "/amp/s/88123.amp.html",
            body=page("Bridge closes", head=f'<link rel="canonical" href="{article}">'),
        )
        posted_url = http_server.url("/amp/s/88123.amp.html")
    else:
        http_server.route(
            "/story.php",
            body=page("Bridge closes", head=f'<link rel="canonical" href="{article}">'),
        )
        posted_url = http_server.url("/story.php?id=5&from=feed")
    message = await posted(fetching_bot, f"have you seen this? {posted_url}")
    (description,) = replied_claims(message)
    assert "The bridge is closing for good" in description


async def test_on_message_recognises_a_copy(
    fetching_bot: FactBot, http_server: LocalServer, mirror_server: LocalServer
) -> None:
    store = fetching_bot.services.store
    original = http_server.url("/original/bridge")
    await claim_at(store, original, "The bridge is closing for good")
    http_server.route("/original/bridge", body=page("Bridge closes"))
    mirror_server.route("/copy/bridge", body=page("Bridge closes"))
    replied_claims(await posted(fetching_bot, original))
    (copy,) = replied_claims(await posted(fetching_bot, mirror_server.url("/copy/bridge")))
    assert "The bridge is closing for good" in copy


async def test_on_message_recognises_content(
    fetching_bot: FactBot, http_server: LocalServer
) -> None:
    store = fetching_bot.services.store
    for i, claim in enumerate(ARTICLE_CLAIMS):
        await claim_at(store, f"https://elsewhere.example.org/{i}", claim)
    http_server.route("/mirror/tram", body=article_html())
    (content,) = replied_claims(await posted(fetching_bot, http_server.url("/mirror/tram")))
    assert "Dunmore Rail consortium 41 million pounds" in content
    assert "The article says: “" in content


async def test_on_message_uses_discords_preview_when_the_page_cannot_be_read(
    fetching_bot: FactBot, http_server: LocalServer
) -> None:
    store = fetching_bot.services.store
    for i, claim in enumerate(EXAMPLE_CLAIMS):
        await claim_at(store, f"https://elsewhere.example.org/{i}", claim)
    http_server.route("/paywalled", status=403, body=b"no")
    url = http_server.url("/paywalled")
    preview = discord.Embed(
        url=url,
        title="Why did the media ignore the siege of al-Fu'ah and Kafriya?",
        description="Western media ignored the besieged Shia villages in Idlib.",
    )
    message = await posted(fetching_bot, url, embeds=[preview])
    (description,) = replied_claims(message)
    assert "al-Fu'ah and Kafriya" in description


async def edited(bot: FactBot, before: FakeMessage, **changes: object) -> FakeMessage:
    """The member (or Discord, adding its preview) edits ``before``; returns the new message."""
    after = FakeMessage(
        id=before.id,
        content=changes.get("content", before.content),
        embeds=changes.get("embeds", before.embeds),
        author=before.author,
        channel=before.channel,
        guild=before.guild,
    )
    after.reply = before.reply  # one message: a reply to either is a reply to it
    links_cog = bot.get_cog("Links")
    assert links_cog is not None
    await links_cog.on_message_edit(before, after)  # type: ignore[attr-defined]
    return after


async def test_a_preview_arriving_in_an_edit_is_used_once(
    fetching_bot: FactBot, http_server: LocalServer
) -> None:
    store = fetching_bot.services.store
    for i, claim in enumerate(EXAMPLE_CLAIMS):
        await claim_at(store, f"https://elsewhere.example.org/{i}", claim)
    http_server.route("/paywalled/siege", status=403, body=b"subscribe")
    url = http_server.url("/paywalled/siege")
    message = await posted(fetching_bot, f"read this {url}")
    message.reply.assert_not_awaited()  # the page could not be read, and there is no preview
    preview = discord.Embed(
        url=url,
        title="Why did the media ignore the siege of al-Fu'ah and Kafriya?",
        description="Western media ignored the besieged Shia villages in Idlib.",
    )
    with_preview = await edited(fetching_bot, message, embeds=[preview])
    (description,) = replied_claims(with_preview)
    assert "al-Fu'ah and Kafriya" in description
    # The member fixes a typo afterwards: the same link is never answered twice in the channel.
    await edited(fetching_bot, with_preview, content=f"read this! {url}")
    message.reply.assert_awaited_once()


async def test_a_link_added_by_editing_is_checked(
    fetching_bot: FactBot, http_server: LocalServer
) -> None:
    store = fetching_bot.services.store
    article = http_server.url("/news/2026/bridge-closure")
    await claim_at(store, article, "The bridge is closing for good")
    http_server.route("/news/2026/bridge-closure", body=page("Bridge closes"))
    message = await posted(fetching_bot, "what do you all think about the bridge?")
    message.reply.assert_not_awaited()
    after = await edited(fetching_bot, message, content=f"what about the bridge? {article}")
    (description,) = replied_claims(after)
    assert "The bridge is closing for good" in description


async def test_on_message_with_an_unknown_page_is_silent(
    fetching_bot: FactBot, http_server: LocalServer
) -> None:
    http_server.route("/news/other", body=page("Nothing we know"))
    message = await posted(fetching_bot, http_server.url("/news/other"))
    message.reply.assert_not_awaited()
    assert http_server.paths() == ["/news/other"]


CONSENT_TEXT = (
    "We and our partners use cookies to store and access information on your device. "
    "Select accept all to agree, or manage your choices, including your right to object "
    "where legitimate interest is used. You can change your choices at any time by visiting "
    "the privacy dashboard linked at the bottom of every page of this website."
)


async def test_articles_behind_one_consent_wall_are_not_copies_of_each_other(
    store: Store, checker: Checker, http_server: LocalServer
) -> None:
    http_server.route("/consent", body=page("Before you continue", body=CONSENT_TEXT))
    http_server.redirect("/news/vaccine-story", "/consent")
    http_server.redirect("/sport/local-team-wins", "/consent")
    await claim_at(store, http_server.url("/news/vaccine-story"), "Vaccines cause autism")
    first = await checker.check_text(http_server.url("/news/vaccine-story"), guild_id=None)
    assert first.links[0].matches[0].match == "url"
    other = await checker.check_text(http_server.url("/sport/local-team-wins"), guild_id=None)
    assert other.known == ()


async def test_a_reply_during_an_import_does_not_wait_for_the_cache_write(
    tmp_path: Path, http_server: LocalServer
) -> None:
    """A long import holds the write lock; a new link is answered while it still does."""
    http_server.route("/news/bridge", body=page("Bridge closes"))
    path = tmp_path / "busy.db"
    # A store that would wait a minute for the lock: a reply waiting on its cache write would
    # hang until the importer lets go (the wait_for below fails it long before).
    store = await SQLiteStore.open(path, busy_timeout_ms=60_000)
    await claim_at(store, http_server.url("/news/bridge"))
    importer = sqlite3.connect(path, isolation_level=None)
    importer.execute("BEGIN IMMEDIATE")
    try:
        async with reading_checker(store, config_for(http_server)) as checker:
            check = checker.check_text(http_server.url("/news/bridge"), guild_id=None)
            result = await asyncio.wait_for(check, timeout=30)
            # Answered while the importer still holds the lock, so from the page just read.
            assert importer.in_transaction
            again = await checker.check_text(http_server.url("/news/bridge"), guild_id=None)
            importer.execute("ROLLBACK")  # the import ends; the write goes through
    finally:
        if importer.in_transaction:
            importer.execute("ROLLBACK")
        importer.close()
    try:
        assert result.links[0].matches[0].match == "url"
        assert result.links[0].title == again.links[0].title == "Bridge closes"
        assert http_server.paths() == ["/news/bridge"]  # the second check did not fetch again
        cached = await store.cached_page(links.canonical_url(http_server.url("/news/bridge")))
        assert cached is not None and cached.title == "Bridge closes"
    finally:
        await store.close()


async def test_a_busy_store_does_not_silence_a_known_link(
    tmp_path: Path, http_server: LocalServer
) -> None:
    http_server.route("/news/bridge", body=page("Bridge closes"))
    path = tmp_path / "busy.db"
    store = await SQLiteStore.open(path, busy_timeout_ms=50)
    await claim_at(store, http_server.url("/news/bridge"))
    importer = sqlite3.connect(path, isolation_level=None)
    importer.execute("BEGIN IMMEDIATE")  # as a long import holds the write lock
    try:
        async with reading_checker(store, config_for(http_server)) as checker:
            result = await checker.check_text(http_server.url("/news/bridge"), guild_id=None)
    finally:
        importer.execute("ROLLBACK")
        importer.close()
        await store.close()
    assert result.links[0].matches[0].match == "url"
    assert result.links[0].title == "Bridge closes"


@pytest.mark.parametrize("most", [2, 6])
async def test_a_message_is_checked_for_as_many_links_as_configured(
    store: Store, most: int
) -> None:
    urls = [f"https://news.example/story-{i}" for i in range(7)]
    for url in urls:
        await claim_at(store, url)
    checker = Checker(store=store, config=Config(replies=RepliesConfig(max_links_per_message=most)))
    result = await checker.check_text(" ".join(urls), guild_id=None)
    assert [link.url for link in result.links] == urls[:most]
    assert all(link.known for link in result.links)


@pytest.mark.parametrize("with_preview", [False, True])
async def test_a_servers_own_claim_about_a_link_is_known_in_that_server_only(
    store: Store, with_preview: bool
) -> None:
    url = "https://news.example/local-story"
    own = await store.add_claim(
        NewClaim("The bridge is being closed", "misleading", urls=(url,)), actor="t", guild_id=42
    )
    checker = Checker(store=store, config=Config())
    # Discord's link preview is the message's own evidence, checked apart from other posts.
    previews = (Preview(url, "Local story", "What the council said"),) if with_preview else ()
    (link,) = (await checker.check_text(url, guild_id=42, user_id=1, previews=previews)).links
    assert [m.claim.id for m in link.matches] == [own.id]
    assert link.url == url
    (elsewhere,) = (await checker.check_text(url, guild_id=7, previews=previews)).links
    assert not elsewhere.known
