"""Article extraction from a realistic news page built around the test article, and
from hostile HTML, which must give empties rather than errors (and never touch the network)."""

from __future__ import annotations

import asyncio
import html

import pytest

from bot.article import EMPTY, LEAD_CHARS, Article, extract_article, read_article
from tests.articles import partisan_article
from tests.servers import NetworkTripwire

PAGE_URL = "https://news.example/uk/harbourside-tram?utm_source=chat#top"


@pytest.fixture
def tripwire(network_tripwire: NetworkTripwire) -> NetworkTripwire:
    """The suite-wide tripwire (conftest.py), for tests that inspect what it saw."""
    return network_tripwire


def news_page(headline: str, standfirst: str, body: list[str]) -> str:
    """The article as a news site would serve it: navigation, share bar, related links, footer."""
    e = html.escape
    paragraphs = "\n".join(f"      <p>{e(p)}</p>" for p in body)
    nav = "".join(
        f'<li><a href="/{s.lower()}">{s}</a></li>'
        for s in ("World", "Politics", "Business", "Opinion", "Sport", "Culture")
    )
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>{e(headline)} | Example News</title>
  <meta name="description" content="{e(standfirst)}">
  <meta property="og:type" content="article">
  <meta property="og:title" content="{e(headline)}">
  <meta property="og:description" content="{e(standfirst)}">
  <meta property="og:site_name" content="Example News">
  <meta property="og:url" content="https://news.example/uk/2016/12/14/harbourside-tram-collapses">
  <meta property="article:published_time" content="2016-12-14T09:30:00+00:00">
  <link rel="canonical" href="/uk/2016/12/14/harbourside-tram-collapses">
  <link rel="amphtml" href="https://amp.news.example/uk/2016/12/14/harbourside-tram-collapses">
  <link rel="stylesheet" href="/static/site.css">
  <script>window.dataLayer = [{{"section": "world"}}];</script>
</head>
<body>
  <header class="site-header">
    <a class="logo" href="/">Example News</a>
    <nav class="main-nav"><ul>{nav}</ul></nav>
    <form class="search"><input name="q" placeholder="Search"></form>
  </header>
  <main>
    <article class="story">
      <h1 class="headline">{e(headline)}</h1>
      <p class="standfirst">{e(standfirst)}</p>
      <div class="byline">By A. Correspondent,
        <time datetime="2016-12-14T09:30:00Z">14 December 2016</time></div>
      <div class="share">Share on Facebook · Share on Twitter · Email</div>
      <div class="story-body">
{paragraphs}
      </div>
    </article>
    <aside class="related"><h2>Related stories</h2><ul>
      <li><a href="/uk/1">Bus fares frozen for another year</a></li>
      <li><a href="/uk/2">Harbour festival returns in June</a></li>
    </ul></aside>
  </main>
  <footer class="site-footer">
    <p>Subscribe to our newsletter for the day's top stories.</p>
    <p>© 2016 Example News Ltd. All rights reserved. Terms · Privacy · Cookies</p>
  </footer>
</body>
</html>"""


def test_reads_the_article_from_a_news_page() -> None:
    headline, standfirst, body = partisan_article()
    article = extract_article(news_page(headline, standfirst, body), PAGE_URL)

    assert article.title == headline
    assert article.site_name == "Example News"
    assert article.description == standfirst
    assert article.published == "2016-12-14"
    assert article.canonical_url == "https://news.example/uk/2016/12/14/harbourside-tram-collapses"
    assert article.og_url == "https://news.example/uk/2016/12/14/harbourside-tram-collapses"
    assert article.amp_url == "https://amp.news.example/uk/2016/12/14/harbourside-tram-collapses"

    assert 0 < len(article.lead) <= LEAD_CHARS
    assert not article.lead.startswith(headline)  # the headline is the title, not the lead
    assert " ".join(body[0].split())[:200] in article.lead
    assert article.lead == " ".join(article.lead.split())
    for chrome in ("Subscribe", "All rights reserved", "Related stories", "Politics", "Share on"):
        assert chrome not in article.lead


async def test_read_article_runs_off_the_event_loop() -> None:
    headline, standfirst, body = partisan_article()
    # A long page, so extraction takes long enough for the loop to show it kept running.
    page = news_page(headline, standfirst, body * 200)
    ticks = 0
    task = asyncio.create_task(read_article(page, PAGE_URL))
    while not task.done():
        ticks += 1
        await asyncio.sleep(0)
    article = task.result()
    assert article.title == headline
    assert ticks > 10
    assert article == await read_article(page, PAGE_URL)


@pytest.mark.parametrize(
    ("href", "expected"),
    [
        ("/a/b", "https://news.example/a/b"),
        ("../up", "https://news.example/up"),
        ("//cdn.example/x", "https://cdn.example/x"),
        ("  https://news.example/\n\tspaced  ", "https://news.example/spaced"),
        ("http://plain.example/", "http://plain.example/"),
        ("javascript:alert(1)", None),
        ("data:text/html,hi", None),
        ("file:///etc/passwd", None),
        ("ftp://news.example/x", None),
        ("https://user:pw@news.example/x", None),
        ("http://[::1", None),
        ("https://news.example/" + "a" * 3000, None),
        ("", None),
    ],
)
def test_canonical_and_og_urls_are_absolute_http(href: str, expected: str | None) -> None:
    e = html.escape(href, quote=True)
    page = (
        f'<html><head><link rel="Canonical alternate" href="{e}">'
        f'<meta property="og:url" content="{e}"></head><body><p>x</p></body></html>'
    )
    article = extract_article(page, "https://news.example/world/story")
    assert (article.canonical_url, article.og_url) == (expected, expected)


HOSTILE = {
    "empty": "",
    "blank": "   \n\t ",
    "binary": "\x00\x01\x02\ufffd\ufffd PNG \x00" * 100,
    "unclosed": "<html",
    "xml declaration": '<?xml version="1.0" encoding="ISO-8859-1"?><html><body><p>x</p></body>',
    "just a url": "https://news.example/world/story",
    "url in body": "<html><body>http://169.254.169.254/latest/meta-data/</body></html>",
    "deep nesting": "<html><body>" + "<div>" * 50_000 + "deep" + "</div>" * 50_000,
    "huge title": "<html><head><title>" + "T" * 1_000_000 + "</title></head><body>x</body></html>",
    "huge attribute": '<html><body><p class="' + "c" * 1_000_000 + '">x</p></body></html>',
    "many tags": "<html><body>" + "<p>a</p><span>b</span>" * 100_000 + "</body></html>",
    "bad date": '<html><head><meta property="article:published_time" content="2016-13-45">'
    "</head><body><p>x</p></body></html>",
    "lone surrogate": "<html><body><p>\ud800 broken</p></body></html>",
    "script only": "<html><head><script>" + "var x = 1;" * 10_000 + "</script></head></html>",
}


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_html_gives_empties_not_errors(tripwire: NetworkTripwire, name: str) -> None:
    article = extract_article(HOSTILE[name], PAGE_URL)
    assert isinstance(article, Article)
    assert len(article.lead) <= LEAD_CHARS
    assert article.title is None or len(article.title) <= 300
    assert article.published is None or len(article.published) == 10
    assert tripwire.connects == []  # nothing, including htmldate, went to the network


def test_nothing_to_read_is_empty() -> None:
    assert extract_article("", PAGE_URL) == EMPTY
    assert extract_article("<html", PAGE_URL).lead == ""


def test_oversized_input_is_capped() -> None:
    headline, standfirst, body = partisan_article()
    page = news_page(headline, standfirst, body * 2000)  # several MiB
    assert len(page) > 4 * 1024 * 1024
    article = extract_article(page, PAGE_URL)
    assert article.title == headline
