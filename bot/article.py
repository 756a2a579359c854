"""What a fetched page says: title, site, description, date, the start of its text, its own URLs.

trafilatura reads the metadata and the main text; lxml reads ``rel=canonical``, ``og:url`` and
``amphtml``, which trafilatura does not return. The HTML is parsed here, once, and only the
parsed tree is handed on: htmldate (used by trafilatura for dates) downloads its input when
given a *string* that starts with "http", so no string ever reaches it.

Extraction is CPU bound and runs on hostile input; ``extract_article`` never raises (a page it
cannot read gives an Article of empties) and ``read_article`` runs it in a worker thread.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import re
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import urljoin, urlsplit

import lxml.html
import trafilatura
from lxml.etree import ParserError, XMLSyntaxError
from trafilatura.settings import set_date_params

log = logging.getLogger(__name__)

MAX_HTML_CHARS = 2 * 1024 * 1024  # what the fetcher lets through; a cap for other callers too
# trafilatura costs ~50 µs an element: a 2 MiB page of empty tags is 200,000 elements and ~10 s
# of CPU. News pages have a few thousand; past this the document is cut (its start is kept).
MAX_ELEMENTS = 15_000
# Never content, often most of the elements (icon sprites, widgets). JSON-LD scripts are kept:
# they carry the metadata.
_NOISE_TAGS = ("style", "noscript", "template", "svg", "math", "iframe", "object", "canvas")
LEAD_CHARS = 1500
# Main text kept for matching (bot.checking.MAX_MATCH_TEXT): a 5,000-word article.
MAX_TEXT_CHARS = 30_000
# Caps on what a page may put into a Discord reply or the cache.
MAX_TITLE_CHARS = 300
MAX_SITE_NAME_CHARS = 100
MAX_DESCRIPTION_CHARS = 500
MAX_URL_CHARS = 2048


@dataclass(frozen=True)
class Article:
    title: str | None
    site_name: str | None
    description: str | None
    published: str | None  # ISO date "YYYY-MM-DD" where known
    lead: str  # the start of the main text, at most LEAD_CHARS, whitespace-normalised
    canonical_url: str | None  # absolute <link rel="canonical">, http(s) only
    og_url: str | None  # absolute og:url, http(s) only
    amp_url: str | None = None  # <link rel="amphtml">, informational
    text: str = ""  # the main text, at most MAX_TEXT_CHARS, one paragraph a line


EMPTY = Article(None, None, None, None, "", None, None, None)

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_URL_WHITESPACE = re.compile(r"[\t\n\r]")  # browsers drop these inside URLs
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


async def read_article(html: str, url: str) -> Article:
    """``extract_article`` in a worker thread, so the Discord connection never stalls."""
    return await asyncio.to_thread(extract_article, html, url)


def extract_article(html: str, url: str) -> Article:
    """The article in ``html`` fetched from ``url``; empties for anything it cannot read."""
    tree = _parse(html)
    if tree is None:
        return EMPTY
    canonical, og_url, amp_url = _page_urls(tree, url)
    _bound(tree)
    metadata = _metadata(tree, url)
    fallback = _fallback_metadata(tree)
    title = _clean(metadata.get("title") or fallback.get("title"), MAX_TITLE_CHARS)
    main_text = _main_text(tree, url)
    return Article(
        title=title,
        site_name=_clean(
            metadata.get("sitename") or fallback.get("site_name"), MAX_SITE_NAME_CHARS
        ),
        description=_clean(
            metadata.get("description") or fallback.get("description"), MAX_DESCRIPTION_CHARS
        ),
        published=_iso_date(metadata.get("date")),
        lead=_lead(main_text, title),
        canonical_url=canonical,
        og_url=og_url,
        amp_url=amp_url,
        text=_body(main_text, title),
    )


def _parse(html: str) -> lxml.html.HtmlElement | None:
    if not html or not html.strip():
        return None
    # Bytes, not str: lxml refuses a str that carries an XML encoding declaration.
    data = html[:MAX_HTML_CHARS].encode("utf-8", errors="replace")
    parser = lxml.html.HTMLParser(
        encoding="utf-8",
        no_network=True,
        remove_comments=True,
        remove_pis=True,
        collect_ids=False,
        default_doctype=False,
    )
    try:
        tree = lxml.html.document_fromstring(data, parser=parser)
    except (ParserError, XMLSyntaxError, ValueError) as exc:
        log.debug("unparseable page: %s", exc)
        return None
    return tree if isinstance(tree, lxml.html.HtmlElement) else None


def _bound(tree: lxml.html.HtmlElement) -> None:
    """Drop elements that are never content, then cut the document after MAX_ELEMENTS."""
    noise = [
        el
        for el in tree.iter(*_NOISE_TAGS, "script")
        if el.tag != "script" or "ld+json" not in (el.get("type") or "")
    ]
    for el in noise:
        if el.getparent() is not None:
            el.drop_tree()  # keeps the tail text, which belongs to the parent
    elements = list(tree.iter())
    if len(elements) <= MAX_ELEMENTS:
        return
    log.debug("page of %d elements cut to %d", len(elements), MAX_ELEMENTS)
    # Document order reversed: descendants go before their ancestors, each unlinked once.
    for el in reversed(elements[MAX_ELEMENTS:]):
        parent = el.getparent()
        if parent is not None:
            parent.remove(el)


def _metadata(tree: lxml.html.HtmlElement, url: str) -> dict[str, Any]:
    try:
        document = trafilatura.extract_metadata(
            copy.deepcopy(tree),
            default_url=url,
            # Only dates the page states; the extensive search is slow and guesses.
            date_config=set_date_params(extensive=False),
            extensive=False,
        )
        return dict(document.as_dict())
    except Exception:  # a third-party parser on hostile input: no bug there may stop a reply
        log.debug("metadata extraction failed for %s", url, exc_info=True)
        return {}


def _main_text(tree: lxml.html.HtmlElement, url: str) -> str:
    try:
        document = trafilatura.bare_extraction(
            tree,  # copied by trafilatura before it prunes anything
            url=url,
            fast=True,
            include_comments=False,
            include_tables=False,
            include_images=False,
            include_links=False,
            with_metadata=False,
        )
    except Exception:  # as above: an empty lead is an answer, a crash is not
        log.debug("text extraction failed for %s", url, exc_info=True)
        return ""
    text = getattr(document, "text", None)
    return text if isinstance(text, str) else ""


def _fallback_metadata(tree: lxml.html.HtmlElement) -> dict[str, str]:
    """Open Graph and <title>, read directly, for when trafilatura finds nothing."""
    found: dict[str, str] = {}
    keys = {
        "og:title": "title",
        "og:site_name": "site_name",
        "og:description": "description",
        "description": "description",
    }
    for meta in tree.iter("meta"):
        name = (meta.get("property") or meta.get("name") or "").strip().lower()
        content = meta.get("content")
        if name in keys and content and keys[name] not in found:
            found[keys[name]] = content
    if "title" not in found:
        title = tree.find(".//title")
        if title is not None and title.text:
            found["title"] = title.text
    return found


def _page_urls(tree: lxml.html.HtmlElement, url: str) -> tuple[str | None, str | None, str | None]:
    canonical = og_url = amp_url = None
    for link in tree.iter("link"):
        rel = (link.get("rel") or "").lower().split()
        if canonical is None and "canonical" in rel:
            canonical = _absolute_url(link.get("href"), url)
        if amp_url is None and "amphtml" in rel:
            amp_url = _absolute_url(link.get("href"), url)
    for meta in tree.iter("meta"):
        name = (meta.get("property") or meta.get("name") or "").strip().lower()
        if og_url is None and name == "og:url":
            og_url = _absolute_url(meta.get("content"), url)
    return canonical, og_url, amp_url


def _absolute_url(href: str | None, base: str) -> str | None:
    """``href`` resolved against the page URL, if it is a plain http(s) URL with a host."""
    if not href:
        return None
    href = _URL_WHITESPACE.sub("", href).strip()
    if not href or len(href) > MAX_URL_CHARS or _CONTROL.search(href):
        return None
    try:
        absolute = urljoin(base, href)
        parts = urlsplit(absolute)
        host = parts.hostname
    except ValueError:  # e.g. a malformed IPv6 literal or port
        return None
    if parts.scheme not in ("http", "https") or not host or "@" in parts.netloc:
        return None
    return absolute if len(absolute) <= MAX_URL_CHARS else None


def _clean(value: object, limit: int) -> str | None:
    if not isinstance(value, str):
        return None
    text = " ".join(value.split())
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text or None


def _iso_date(value: object) -> str | None:
    if not isinstance(value, str) or not _ISO_DATE.fullmatch(value):
        return None
    try:
        return date.fromisoformat(value).isoformat()
    except ValueError:
        return None


def _lead(text: str, title: str | None) -> str:
    """The first LEAD_CHARS of the text, whitespace-normalised, cut at a word boundary.

    The headline, which trafilatura often returns as the first line, is the title, not the lead.
    """
    text = " ".join(text.split())
    if title and not title.endswith("…") and text.startswith(title):
        text = text[len(title) :].lstrip()
    if len(text) <= LEAD_CHARS:
        return text
    cut = text[:LEAD_CHARS]
    space = cut.rfind(" ")
    return cut[:space] if space > LEAD_CHARS // 2 else cut


def _body(text: str, title: str | None) -> str:
    """The main text, a paragraph a line, without the headline, cut at a word boundary after
    MAX_TEXT_CHARS. (The sentence splitter does not cut at a line break: a paragraph without
    final punctuation runs into the next one's first sentence; ``bot.checking._article_text``
    keeps the first lines' apart.)"""
    lines = [" ".join(line.split()) for line in text.splitlines()]
    body = "\n".join(line for line in lines if line)
    if title and not title.endswith("…") and body.startswith(title):
        body = body[len(title) :].lstrip()
    if len(body) <= MAX_TEXT_CHARS:
        return body
    cut = body[:MAX_TEXT_CHARS]
    space = max(cut.rfind(" "), cut.rfind("\n"))
    return cut[:space] if space > MAX_TEXT_CHARS // 2 else cut
