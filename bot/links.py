"""Links in messages, and the keys articles are looked up by.

``canonical_url`` turns the many spellings of one article's address (tracking parameters, AMP
copies, mobile hosts, redirect wrappers, archive snapshots) into one key. ural does most of the
URL heuristics; this module adds what ural lacks or gets wrong for our use:

- redirect wrappers are unwrapped only for named services (``QUERY_WRAPPERS``, archives, AMP
  viewers): ural's ``infer_redirection`` reads ``?url=``/``?next=``... on any host, which let an
  attacker's redirect answer for the article its parameter named (issue 9); ural also misses
  web.archive.org / archive.today snapshots and collapses the ``https://`` inside their path;
- credentials (``user@``) are refused: the part before ``@`` reads as the site;
- ``www.``/``m.``/``amp.`` are dropped only as leading labels and never into the registrable
  domain: ural strips them anywhere, so ``mobile.de`` became ``de`` and ``foo-m.example.com``
  became ``foo-example.com``;
- hosts are punycode (ASCII) and the scheme is always https, so keys are plain ASCII URIs;
- percent-escapes of unreserved characters are decoded and ``+`` in a query means a space, so
  ``%7E``/``~`` and ``a+b``/``a%20b`` agree (ural's quoted mode turns ``+`` into ``%2B``);
- a few more tracking parameters, and tweets keyed by their id whatever the mirror host.

Everything here is pure: no network, no I/O.
"""

from __future__ import annotations

import bisect
import functools
import ipaddress
import logging
import re
from dataclasses import dataclass
from encodings import idna as _idna
from urllib.parse import SplitResult, quote, unquote, urlsplit, urlunsplit

from confusable_homoglyphs.categories import unique_aliases
from ural import is_shortened_url, normalize_url, split_suffix
from ural.normalize_url import should_strip_query_item
from ural.youtube import (
    YoutubeShort,
    YoutubeVideo,
    is_youtube_url,
    normalize_youtube_url,
    parse_youtube_url,
)

log = logging.getLogger(__name__)

# Bump whenever canonical_url's output changes for some input: the store re-keys saved URLs
# whose key_version differs.
# 2: only named wrapper services unwrapped; credentials refused. 3: a key maps to itself
# however many AMP segments ural strips one by one (and is refused past _MAX_KEY_PASSES).
LINK_KEY_VERSION = 3

MAX_URL_LENGTH = 2048
_MAX_REDIRECT_DEPTH = 5
# ural strips one trailing AMP segment ("/amp", ".amp") a pass, so "/a/amp/amp/amp" takes a
# pass each; an address still changing after this many passes is refused, never keyed unstably.
_MAX_KEY_PASSES = 8
# A message can hold thousands of candidate links; canonicalising is the slow part, so a hostile
# message is cut off after this many distinct candidates.
_MAX_CANDIDATES = 100


class InvalidURL(ValueError):
    """A URL or domain we cannot use; ``str(exc)`` is a short reason fit to show a user."""


# --------------------------------------------------------------------------------------------
# Hosts
# --------------------------------------------------------------------------------------------

# Leading labels that name the same site: www/www2, mobile and AMP editions.
_ALIAS_LABEL_RE = re.compile(r"^(?:www\d*|m|mobile|amp)$")
_ASCII_LABEL_RE = re.compile(r"^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _to_ascii_label(label: str) -> str:
    if label.isascii():
        label = label.lower()
    else:
        try:
            # IDNA 2003 from the standard library: ural and every key agree as long as one
            # mapping is used everywhere, and it needs no extra dependency.
            label = _idna.ToASCII(label).decode("ascii").lower()
        except UnicodeError as exc:
            raise InvalidURL("bad host name") from exc
    if not _ASCII_LABEL_RE.match(label):
        raise InvalidURL("bad host name")
    return label


def _to_unicode_label(label: str) -> str:
    if not label.startswith("xn--"):
        return label
    try:
        return _idna.ToUnicode(label)
    except UnicodeError:
        return label


def _ip_host(host: str) -> str | None:
    """The address a host name (as urlsplit gives it: no brackets) is, or None for a name."""
    # An IPv4 address starts with a digit and an IPv6 one holds a colon: any other host is a name
    # (most are: ``ip_address`` raising for each costs ~3 us, several times a URL).
    if ":" not in host and not host[:1].isdigit():
        return None
    try:
        return ipaddress.ip_address(host).compressed
    except ValueError:
        return None


def _ascii_host(host: str) -> str:
    """Lower-case punycode host without a trailing dot; raises InvalidURL."""
    host = host.strip()
    if host.endswith("."):
        host = host[:-1]
    if not host:
        raise InvalidURL("no host in URL")
    ip = _ip_host(host)
    if ip is not None:
        return ip
    labels = [_to_ascii_label(label) for label in host.split(".")]
    ascii_host = ".".join(labels)
    if len(ascii_host) > 253:
        raise InvalidURL("bad host name")
    if len(labels) < 2:
        raise InvalidURL("no domain name in URL")
    return ascii_host


def _suffix_info(labels: list[str]) -> tuple[int, bool]:
    """Labels in the registrable domain, and whether the host is itself a public suffix.

    The Public Suffix List's algorithm in full, the default rule included: a name that matches
    no rule (an intranet ``.internal``, a reserved ``.test``, a TLD newer than the bundled list)
    falls under the implicit ``*`` rule, so its last label is the suffix. Every command keys
    hosts through here: domain notes, claim URLs, same-site checks and host candidates.
    """
    # The PSL holds second-level IDN suffixes (e.g. 公司.cn) only in Unicode form.
    unicode_host = ".".join(_to_unicode_label(label) for label in labels)
    try:
        split = split_suffix(unicode_host)
    except Exception:  # ural's trie walk is heuristic code: a guard, as a miss is handled below
        split = None
    if split is None:
        return min(len(labels), 2), len(labels) == 1
    prefix, suffix = split
    if not prefix:
        return len(labels), True
    return min(len(labels), suffix.count(".") + 2), False


@functools.lru_cache(maxsize=8192)
def _site_host(host: str) -> str:
    """The host as keys use it: punycode, and without www./m./amp. above the registrable domain."""
    ascii_host = _ascii_host(host)
    if _ip_host(ascii_host) is not None:
        return ascii_host
    labels = ascii_host.split(".")
    registrable, _ = _suffix_info(labels)
    # Only leading labels: "news.m.example.com" is not an alias of "news.example.com".
    start = 0
    while len(labels) - start > registrable and _ALIAS_LABEL_RE.match(labels[start]):
        start += 1
    return ".".join(labels[start:])


# --------------------------------------------------------------------------------------------
# Redirect wrappers
# --------------------------------------------------------------------------------------------

_HTTP_URL_RE = re.compile(r"^https?://", re.I)
_WAYBACK_RE = re.compile(
    r"^https?://(?:web\.|www\.)?archive\.org/web/\d{1,14}(?:[a-z]{2}_)?/(.+)$", re.I | re.S
)
_ARCHIVE_TODAY_RE = re.compile(
    r"^https?://(?:www\.)?archive\.(?:today|ph|is|li|vn|md|fo)/"
    r"(?:\d{4}\.\d\d\.\d\d-\d{6}|\d{14}|newest|oldest)/(.+)$",
    re.I | re.S,
)
_GOOGLE_AMP_RE = re.compile(r"^https?://(?:www\.)?google\.[a-z.]{2,7}/amp/(s/)?(.+)$", re.I | re.S)
_AMP_CACHE_RE = re.compile(
    r"^https?://[a-z0-9.-]+\.cdn\.ampproject\.org/[cv]/(s/)?(.+)$", re.I | re.S
)
_SCHEME_SLASHES_RE = re.compile(r"^(https?):/*", re.I)


@dataclass(frozen=True)
class QueryWrapper:
    """A redirect service that names its target in a query parameter."""

    name: str
    host: re.Pattern[str]
    path: re.Pattern[str]
    params: tuple[str, ...]
    schemeless: bool = False  # the target may be written without "https://"


# Only these services are unwrapped; the README's "Security" section says why. A ``?url=`` on
# any other host is an ordinary parameter: that host decides where it sends a visitor, so its
# link must never be keyed (and answered) as the article its parameter names.
QUERY_WRAPPERS: tuple[QueryWrapper, ...] = (
    QueryWrapper(
        "Google",
        re.compile(r"(?:www\.)?google\.(?:com|co\.[a-z]{2}|com\.[a-z]{2}|[a-z]{2})"),
        re.compile(r"/url"),
        ("q", "url"),
    ),
    QueryWrapper(
        "Facebook",
        re.compile(r"l[m]?\.facebook\.com|l\.messenger\.com"),
        re.compile(r"/l\.php"),
        ("u",),
    ),
    QueryWrapper("Instagram", re.compile(r"l\.instagram\.com"), re.compile(r"/"), ("u",)),
    QueryWrapper(
        "Outlook safe links",
        re.compile(r"[a-z0-9]+\.safelinks\.protection\.outlook\.com"),
        re.compile(r"/"),
        ("url",),
    ),
    QueryWrapper(
        "YouTube",
        re.compile(r"(?:www\.|m\.)?youtube\.com"),
        re.compile(r"/redirect"),
        ("q",),
        schemeless=True,
    ),
    QueryWrapper("VK", re.compile(r"(?:m\.)?vk\.com"), re.compile(r"/away\.php"), ("to",)),
    QueryWrapper(
        "LinkedIn",
        re.compile(r"(?:www\.)?linkedin\.com"),
        re.compile(r"/redir/redirect/?"),
        ("url",),
    ),
    QueryWrapper(
        "Steam", re.compile(r"steamcommunity\.com"), re.compile(r"/linkfilter/?"), ("url", "u")
    ),
    QueryWrapper("Tumblr", re.compile(r"t\.umblr\.com"), re.compile(r"/redirect", re.I), ("z",)),
)


def _with_scheme(target: str, secure: bool) -> str:
    # Archives print "https:/example.com" after collapsing slashes; put them back.
    fixed, count = _SCHEME_SLASHES_RE.subn(r"\1://", target)  # anchored: one match at most
    if count:
        return fixed
    return ("https://" if secure else "http://") + target


def _query_values(query: str) -> dict[str, str]:
    values: dict[str, str] = {}
    for item in query.split("&"):
        key, _, value = item.partition("=")
        values.setdefault(unquote(key).lower(), unquote(value))
    return values


def _unwrap_once(url: str) -> str | None:
    match = _WAYBACK_RE.match(url) or _ARCHIVE_TODAY_RE.match(url)
    if match:
        return _with_scheme(match.group(1), secure=False)
    match = _GOOGLE_AMP_RE.match(url) or _AMP_CACHE_RE.match(url)
    if match:
        return _with_scheme(match.group(2), secure=bool(match.group(1)))
    return _query_wrapper_target(url)


def _query_wrapper_target(url: str) -> str | None:
    try:
        parts = urlsplit(url)  # scheme and host name come lower-cased
        host = parts.hostname
    except ValueError:
        return None
    if host is None or parts.scheme not in ("http", "https"):
        return None
    for wrapper in QUERY_WRAPPERS:
        if not (wrapper.host.fullmatch(host) and wrapper.path.fullmatch(parts.path or "/")):
            continue
        values = _query_values(parts.query)
        for name in wrapper.params:
            target = values.get(name, "").strip()
            if target and wrapper.schemeless and not _HTTP_URL_RE.match(target):
                target = "https://" + target.removeprefix("//")
            # Only an absolute target: Google's "q" is the search words when "url" is the target.
            if _HTTP_URL_RE.match(target):
                return target
        return None
    return None


def unwrap_redirect(url: str) -> str:
    """The URL inside a redirect wrapper (followed a few levels deep), else ``url`` unchanged."""
    current = url.strip()
    for depth in range(_MAX_REDIRECT_DEPTH):
        inner = _unwrap_once(current)
        if inner is None or inner == current:
            return current if depth else url
        current = inner.strip()
    return current


def is_shortener(url: str) -> bool:
    """Whether ``url`` is on a link shortener (bit.ly, t.co, ...): only fetching resolves it."""
    try:
        return bool(is_shortened_url(url.strip()))
    except Exception:  # ural parses loosely; anything it cannot read is not a shortener link
        return False


# --------------------------------------------------------------------------------------------
# Canonical keys
# --------------------------------------------------------------------------------------------

# "example.com/path" typed without a scheme; the host part is checked against the PSL after.
_BARE_HOST_RE = re.compile(r"^(?P<host>[^\s/?#:@]+\.[^\s/?#:@]+)(?::\d+)?(?:[/?#]|$)")
_FRAGMENT_SAFE = "!$&'()*+,;=:@/?-._~"
_UNRESERVED_ESCAPE_RE = re.compile(r"%(?:[46][1-9a-f]|[57][0-9a]|3[0-9]|2[de]|5f|7e)", re.I)

# Tracking parameters ural keeps (it already drops utm_*, fbclid, gclid, dclid, mc_*, igshid,
# _ga and more). Keys are compared lower-cased.
_EXTRA_TRACKING_PARAMS = frozenset(
    {
        "msclkid",
        "yclid",
        "gbraid",
        "wbraid",
        "ref_src",
        "ref_url",
        "cmpid",
        "cmp",
        "_hsenc",
        "_hsmi",
        "smid",
        "smtyp",
        "ocid",
        "taid",
        "sr_share",
    }
)

_TWITTER_HOSTS = frozenset(
    {"twitter.com", "x.com", "fxtwitter.com", "vxtwitter.com", "fixupx.com", "fixvx.com"}
)
_TWEET_PATH_RE = re.compile(r"^/(?:[A-Za-z0-9_]{1,15}|i(?:/web)?)/status(?:es)?/(\d{1,20})(?:/|$)")


def _decode_unreserved(text: str) -> str:
    return _UNRESERVED_ESCAPE_RE.sub(lambda m: chr(int(m.group(0)[1:], 16)), text)


def _query_sort_key(item: str) -> tuple[str, str, str]:
    name, sep, value = item.partition("=")
    return name, value, sep


def _clean_query(query: str) -> str:
    kept = []
    for item in query.split("&"):
        if not item:
            continue
        # No tracking name holds a "+" or a space, so a "+" needs no decoding to compare.
        key = unquote(item.partition("=")[0]).lower()
        if key in _EXTRA_TRACKING_PARAMS:
            continue
        kept.append(_decode_unreserved(item.replace("+", "%20")))
    return "&".join(kept)


def _split_http(url: str) -> tuple[SplitResult, str]:
    """The parts of an http(s) URL (or a scheme-less "host/path"), and its host name."""
    if not _HTTP_URL_RE.match(url):
        bare = url.removeprefix("//")
        match = _BARE_HOST_RE.match(bare)
        if match is None:  # also refuses mailto:, ftp:, javascript: ...
            raise InvalidURL("not an http(s) URL")
        # Without a scheme, a host name reads as a web address (any suffix, by the PSL's default
        # rule) but a number such as "3.14/x" or a bare public suffix does not.
        labels = _ascii_host(match["host"]).split(".")
        if labels[-1].isdigit() or _suffix_info(labels)[1]:
            raise InvalidURL("not an http(s) URL")
        url = "//" + bare  # no scheme to add: the key's is always https, and none is read here
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise InvalidURL("malformed URL") from exc
    host = parts.hostname
    if not host:
        raise InvalidURL("no host in URL")
    return parts, host


def _port(parts: SplitResult) -> int | None:
    try:
        port = parts.port
    except ValueError as exc:
        raise InvalidURL("bad port") from exc
    if port == 0:  # nothing can be fetched from port 0: a typo, not an address
        raise InvalidURL("bad port")
    return None if port in (80, 443) else port


def _platform_url(url: str) -> str:
    """One spelling per post for platforms whose URLs ural knows (YouTube)."""
    try:
        # Videos only: ural rewrites anything else on youtube.com as a channel or user page,
        # guessing differently once the path is cleaned up, so keys would not be stable.
        if is_youtube_url(url) and isinstance(parse_youtube_url(url), YoutubeVideo | YoutubeShort):
            return normalize_youtube_url(url)
    except Exception:  # ural's parser is heuristic; keep the URL as it was
        log.debug("youtube normalisation failed for %r", url, exc_info=True)
    return url


@functools.lru_cache(maxsize=16384)
def canonical_url(url: str) -> str:
    """The key an article is looked up by, e.g. ``https://example.com/news/a?id=5``.

    Raises InvalidURL (with a short reason) for anything that is not a usable http(s) URL.
    """
    text = url.strip()
    if not text:
        raise InvalidURL("empty URL")
    if len(text) > MAX_URL_LENGTH:
        raise InvalidURL("URL too long")
    return _plain_key(text) or _canonical_slow(text)


def _canonical_slow(text: str) -> str:
    key = _canonical_once(text)
    # A key must map to itself (the store re-keys saved URLs by it), but ural's rules can
    # expose new work: "/..amp" loses ".amp", and the "/." left over then normalises away.
    for _ in range(_MAX_KEY_PASSES):
        again = _canonical_once(key)
        if again == key:
            return key
        key = again
    raise InvalidURL("malformed URL")


# The fast path: most links in a feed are a plain article address (http(s), an ASCII host, a
# path of word characters, maybe a file extension, key=value parameters of word characters).
# For those the heuristics below cannot apply: no wrapper or platform host, no percent-escapes,
# no dot-segments, no fragment or port. Anything else takes the full path; both must give the
# same key (tests/test_links.py property-tests it).
_PLAIN_URL_RE = re.compile(
    r"(?i:https?)://(?P<host>[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63})+)"
    r"(?P<path>(?:/[A-Za-z0-9_-]+)*(?:/[A-Za-z0-9_-]+\.[A-Za-z0-9]+)?/?)"
    r"(?:\?(?P<query>[A-Za-z0-9_-]+=[A-Za-z0-9_-]+(?:&[A-Za-z0-9_-]+=[A-Za-z0-9_-]+)*))?"
)
# Hosts some rule treats specially (wrappers, archives, AMP caches, platforms and ural's
# per-domain query filters, which match by suffix): never the fast path.
_SPECIAL_HOST_RE = re.compile(
    r"archive|google|ampproject|umblr|marfeel|youtu|facebook|twitter|x\.com|fixvx|xn--", re.I
)
# ural drops these last segments: AMP suffixes and index pages.
_SPECIAL_LAST_SEGMENT_RE = re.compile(r"^(?:amp|index|default)(?:\.|$)|\.amp$", re.I)


def _plain_key(text: str) -> str | None:
    """The key of a plain URL without ural's heuristics, or None when it needs them."""
    match = _PLAIN_URL_RE.fullmatch(text)
    if match is None:
        return None
    host, path, query = match.group("host", "path", "query")
    site = _site_host(host)
    if site in _TWITTER_HOSTS:
        # Fact-check feeds are full of tweets; a tweet is its id (its ?s=20&t=... do not matter).
        tweet = _TWEET_PATH_RE.match(path)
        return f"https://x.com/i/status/{tweet.group(1)}" if tweet else None
    if _SPECIAL_HOST_RE.search(host):
        return None
    path = path.rstrip("/")
    if _SPECIAL_LAST_SEGMENT_RE.search(path.rpartition("/")[2]):
        return None
    if query:
        kept = []
        for item in query.split("&"):
            name, _, value = item.partition("=")
            if name.lower() in _EXTRA_TRACKING_PARAMS or should_strip_query_item((name, value)):
                continue
            kept.append(item)
        query = "&".join(sorted(kept, key=_query_sort_key))
    key = f"https://{site}{path or '/'}{'?' + query if query else ''}"
    if len(key) > MAX_URL_LENGTH:  # "http://" one character shorter than the key's scheme
        raise InvalidURL("URL too long")
    return key


def has_control_characters(text: str) -> bool:
    return _CONTROL_RE.search(text) is not None


def _canonical_once(text: str) -> str:
    if _CONTROL_RE.search(text):
        raise InvalidURL("control characters in URL")
    text = _platform_url(unwrap_redirect(text))
    if _CONTROL_RE.search(text):  # a wrapper's percent-encoded target can hide them
        raise InvalidURL("control characters in URL")
    parts, host = _split_http(text)
    if "@" in parts.netloc:
        # The fetcher refuses them, and "trusted.example@evil.example" reads as the wrong site.
        raise InvalidURL("credentials (user@) in URL")
    if any(ch.isspace() for ch in host):
        raise InvalidURL("space in host name")
    site = _site_host(host)
    port = _port(parts)

    tweet = _TWEET_PATH_RE.match(parts.path) if site in _TWITTER_HOSTS else None
    if tweet:
        # A tweet is its id: user name, mirror host (fxtwitter...) and ?s=20&t=... do not matter.
        return f"https://x.com/i/status/{tweet.group(1)}"

    netloc = f"[{site}]" if ":" in site else site
    if port is not None:
        netloc = f"{netloc}:{port}"
    cleaned = urlunsplit(
        ("https", netloc, _decode_unreserved(parts.path), _clean_query(parts.query), parts.fragment)
    )
    try:
        # The host and scheme are ours already: ural handles path, query and fragment (its
        # scheme and host options change only the result's scheme and netloc, never read).
        result = normalize_url(cleaned, infer_redirection=False, quoted=True, unsplit=False)
        # ural returns its input, not the parts, when it cannot parse it: then this fails too.
        path, query, fragment = result.path, result.query, result.fragment
    except Exception as exc:  # ural is heuristic code; any failure means "cannot key this"
        log.debug("normalize_url failed for %r", cleaned, exc_info=True)
        raise InvalidURL("malformed URL") from exc
    # ural escapes the "!" of a "#!/route" fragment, after which it no longer reads as routing.
    fragment = quote(unquote(fragment), safe=_FRAGMENT_SAFE)
    # ural sorts parameters before escaping them; sorting the escaped form keeps keys stable.
    query = "&".join(sorted(filter(None, query.split("&")), key=_query_sort_key))
    key = urlunsplit(("https", netloc, path or "/", query, fragment))
    if len(key) > MAX_URL_LENGTH:
        raise InvalidURL("URL too long")
    return key


# --------------------------------------------------------------------------------------------
# Domains
# --------------------------------------------------------------------------------------------


def _host_of(url_or_host: str) -> str:
    text = url_or_host.strip()
    if not text:
        raise InvalidURL("empty domain")
    if not _HTTP_URL_RE.match(text) and "://" not in text:
        text = "https://" + text.removeprefix("//")
    return urlsplit(canonical_url(text)).hostname or ""


def host_candidates(url_or_host: str) -> list[str]:
    """Hosts to look a domain note up by, most specific first, down to the registrable domain.

    ``news.example.co.uk`` gives ``["news.example.co.uk", "example.co.uk"]``; a private PSL
    suffix counts, so ``a.blogspot.com`` gives only ``["a.blogspot.com"]``.
    """
    host = _host_of(url_or_host)
    if _ip_host(host) is not None:
        return [host]
    labels = host.split(".")
    registrable, _ = _suffix_info(labels)
    return [".".join(labels[i:]) for i in range(len(labels) - registrable + 1)]


def registrable_domain(url_or_host: str) -> str:
    """The domain a site is registered under: ``news.bbc.co.uk`` -> ``bbc.co.uk``."""
    return host_candidates(url_or_host)[-1]


def canonical_url_or_none(url: str | None) -> str | None:
    """:func:`canonical_url`, or None for a missing or unusable URL (one read off a page)."""
    if not url:
        return None
    try:
        return canonical_url(url)
    except InvalidURL:
        return None


def same_site(url: str, other: str) -> bool:
    """Whether two URLs share a registrable domain; False if either is unusable."""
    try:
        return registrable_domain(url) == registrable_domain(other)
    except InvalidURL:
        return False


def normalise_domain(text: str) -> str:
    """The domain a moderator means (``Example.com``, ``https://www.example.com/x``, ...)."""
    stripped = text.strip()
    if not stripped:
        raise InvalidURL("empty domain")
    if any(ch.isspace() for ch in stripped):
        raise InvalidURL("not a domain")
    host = _host_of(stripped)
    if _ip_host(host) is not None:
        raise InvalidURL("an IP address, not a domain")
    if _suffix_info(host.split("."))[1]:
        raise InvalidURL("a shared suffix, not a site: give the full name")
    return host


# --------------------------------------------------------------------------------------------
# Links in message text
# --------------------------------------------------------------------------------------------

_BACKTICKS_RE = re.compile(r"`+")
# A letter before "http" means it is part of a word, not a link (Discord agrees).
_LINK_START_RE = re.compile(r"(?<![A-Za-z0-9+.-])https?://", re.I)
# Characters that never end a link nor need bracket bookkeeping.
_LINK_BODY_RE = re.compile(r"[^\s<>()\[\]{}|`]+")
_CLOSER_OPENER = {")": "(", "]": "[", "}": "{"}
_TRAILING_PUNCTUATION = ".,;:!?'\"*~"


def _mask_code(text: str) -> str:
    """``text`` with each code span or block replaced by a space (Discord links nothing in them;
    links are read off the result, so its positions need not match ``text``'s)."""
    runs = [(m.start(), m.end()) for m in _BACKTICKS_RE.finditer(text)]
    if len(runs) < 2:
        return text
    by_length: dict[int, list[int]] = {}
    for index, (start, end) in enumerate(runs):
        by_length.setdefault(end - start, []).append(index)
    pieces = []
    kept_from = 0
    i = 0
    # As in CommonMark, a run of N backticks is closed by the next run of exactly N.
    while i < len(runs):
        start, end = runs[i]
        same = by_length[end - start]
        j = bisect.bisect_right(same, i)
        if j == len(same):
            i += 1
            continue
        close_end = runs[same[j]][1]
        pieces.append(text[kept_from:start])
        pieces.append(" ")
        kept_from = close_end
        i = same[j] + 1
    pieces.append(text[kept_from:])
    return "".join(pieces)


def _link_end(text: str, start: int) -> int:
    """Where a link ends: at a space, ``<>``, ``||``, a backtick or an unbalanced closer."""
    depth = {"(": 0, "[": 0, "{": 0}
    pos = start
    size = len(text)
    while pos < size:
        body = _LINK_BODY_RE.match(text, pos)
        if body:
            pos = body.end()
            continue
        char = text[pos]
        if char in depth:
            depth[char] += 1
        elif char in _CLOSER_OPENER:
            opener = _CLOSER_OPENER[char]
            if not depth[opener]:
                break
            depth[opener] -= 1
        elif char != "|" or text.startswith("||", pos):
            break
        pos += 1
    return pos


def extract_links(text: str, limit: int = 5) -> list[str]:
    """http(s) links in a Discord message, as posted, in order, one per canonical key.

    Understands ``<url>``, ``[text](url)``, ``||spoilers||`` and skips code spans and blocks.
    Links that canonical_url rejects are left out.
    """
    masked = _mask_code(text)
    found: list[str] = []
    keys: set[str] = set()
    tried: set[str] = set()
    pos = 0
    while len(found) < limit and len(tried) < _MAX_CANDIDATES:
        match = _LINK_START_RE.search(masked, pos)
        if match is None:
            break
        end = _link_end(masked, match.end())
        pos = end
        link = masked[match.start() : end].rstrip(_TRAILING_PUNCTUATION)
        if link in tried:
            continue
        tried.add(link)
        try:
            key = canonical_url(link)
        except InvalidURL:
            continue
        if key not in keys:
            keys.add(key)
            found.append(link)
    return found


# --------------------------------------------------------------------------------------------
# Showing hosts and links to people
# --------------------------------------------------------------------------------------------

# Scripts that are written together in one word: Japanese and Korean names mix them.
_SCRIPTS_WRITTEN_TOGETHER = (
    frozenset({"HAN", "HIRAGANA", "KATAKANA"}),
    frozenset({"HANGUL", "HAN"}),
)


def _mixed_script(label: str) -> bool:
    scripts = set(unique_aliases(label)) - {"COMMON", "INHERITED"}
    if len(scripts) <= 1:
        return False
    return not any(scripts <= together for together in _SCRIPTS_WRITTEN_TOGETHER)


def display_host(host: str) -> str:
    """A punycode host as people should read it: Unicode, except labels mixing scripts.

    ``xn--e1afmkfd.xn--p1ai`` reads ``пример.рф``; a Latin name with one Cyrillic letter
    (``exаmple.com``) stays punycode, since shown in Unicode it passes for another site.
    """
    labels = []
    for label in host.split("."):
        shown = _to_unicode_label(label)
        labels.append(label if shown != label and _mixed_script(shown) else shown)
    return ".".join(labels)


def site_label(url: str) -> str | None:
    """The site a link leads to, as people should read it (``bbc.co.uk``), or None."""
    try:
        return display_host(registrable_domain(url))
    except InvalidURL:
        return None


def link_target(url: str) -> str | None:
    """``url`` fit to be clicked: an http(s) URL without credentials, its host in punycode
    (a percent-encoded host does not resolve), or None."""
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname
        port = parts.port
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not host or "@" in parts.netloc:
        return None
    try:
        ascii_host = _ascii_host(host)
    except InvalidURL:
        return None
    netloc = f"[{ascii_host}]" if ":" in ascii_host else ascii_host
    if port is not None:
        netloc = f"{netloc}:{port}"
    return urlunsplit((parts.scheme.lower(), netloc, parts.path, parts.query, parts.fragment))


def display_url(url: str) -> str:
    """``url`` without its scheme, the host as :func:`display_host` shows it (for labels)."""
    target = link_target(url)
    if target is None:
        return url.split("://", 1)[-1]
    parts = urlsplit(target)
    host = display_host(parts.hostname or "")
    netloc = host if parts.port is None else f"{host}:{parts.port}"
    return urlunsplit(("", netloc, parts.path, parts.query, parts.fragment)).removeprefix("//")
