from __future__ import annotations

import logging
from urllib.parse import urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot import links
from bot.links import (
    QUERY_WRAPPERS,
    InvalidURL,
    canonical_url,
    extract_links,
    host_candidates,
    is_shortener,
    normalise_domain,
    registrable_domain,
    same_site,
    unwrap_redirect,
)

ARTICLE = "https://example.com/news/a"

# Each pair is two spellings of one article, as seen in real shares.
SAME_KEY = [
    ("http vs https", "http://example.com/news/a", ARTICLE),
    ("www", "https://www.example.com/news/a", ARTICLE),
    ("www2", "https://www2.example.com/news/a", ARTICLE),
    ("mobile m.", "https://m.example.com/news/a", ARTICLE),
    ("mobile.", "https://mobile.example.com/news/a", ARTICLE),
    ("amp host", "https://amp.example.com/news/a", ARTICLE),
    ("host case", "https://EXAMPLE.com/news/a", ARTICLE),
    ("host case, no scheme", "EXAMPLE.com/news/a", ARTICLE),
    ("host trailing dot", "https://example.com./news/a", ARTICLE),
    ("default https port", "https://example.com:443/news/a", ARTICLE),
    ("default http port", "http://example.com:80/news/a", ARTICLE),
    ("fragment", "https://example.com/news/a#comments", ARTICLE),
    ("utm", "https://example.com/news/a?utm_source=twitter&utm_medium=social", ARTICLE),
    ("fbclid", "https://example.com/news/a?fbclid=IwAR0abc", ARTICLE),
    ("gclid", "https://example.com/news/a?gclid=Cj0KCQ", ARTICLE),
    ("dclid msclkid", "https://example.com/news/a?dclid=1&msclkid=2", ARTICLE),
    ("mailchimp", "https://example.com/news/a?mc_cid=abc&mc_eid=def", ARTICLE),
    ("igshid _ga", "https://example.com/news/a?igshid=x1&_ga=2.1", ARTICLE),
    ("twitter embed ref_src", "https://example.com/news/a?ref_src=twsrc%5Etfw", ARTICLE),
    ("cmpid", "https://example.com/news/a?cmpid=org=ngp::mc=social", ARTICLE),
    ("guardian CMP", "https://example.com/news/a?CMP=share_btn_tw", ARTICLE),
    ("twitter s=20", "https://example.com/news/a?s=20", ARTICLE),
    ("trailing slash", "https://example.com/news/a/", ARTICLE),
    ("index.html", "https://example.com/news/a/index.html", ARTICLE),
    ("dot segments", "https://example.com/news/x/../a", ARTICLE),
    ("double slash", "https://example.com//news//a", ARTICLE),
    ("amp path", "https://example.com/news/a/amp", ARTICLE),
    ("amp path slash", "https://example.com/news/a/amp/", ARTICLE),
    ("amp query", "https://example.com/news/a?amp=1", ARTICLE),
    ("output=amp", "https://example.com/news/a?output=amp", ARTICLE),
    ("outputType=amp", "https://example.com/news/a?outputType=amp", ARTICLE),
    ("amp cache", "https://example-com.cdn.ampproject.org/c/s/example.com/news/a", ARTICLE),
    ("amp cache http", "https://example-com.cdn.ampproject.org/c/example.com/news/a", ARTICLE),
    ("google amp viewer", "https://www.google.com/amp/s/www.example.com/news/a/amp", ARTICLE),
    ("google url", "https://www.google.com/url?q=https://example.com/news/a&sa=D&ust=1", ARTICLE),
    (
        "facebook l.php",
        "https://l.facebook.com/l.php?u=https%3A%2F%2Fexample.com%2Fnews%2Fa%3Ffbclid%3DIwAR&h=AT0",
        ARTICLE,
    ),
    (
        "facebook lm",
        "https://lm.facebook.com/l.php?u=https%3A%2F%2Fexample.com%2Fnews%2Fa",
        ARTICLE,
    ),
    (
        "outlook safelinks",
        "https://eur03.safelinks.protection.outlook.com/?url=https%3A%2F%2Fwww.example.com"
        "%2Fnews%2Fa&data=05%7C01%7C&sdata=abc&reserved=0",
        ARTICLE,
    ),
    ("wayback", "https://web.archive.org/web/20200101000000/https://example.com/news/a", ARTICLE),
    (
        "wayback id_ with query",
        "https://web.archive.org/web/20200101000000id_/http://example.com/news/a?id=5",
        "https://example.com/news/a?id=5",
    ),
    ("wayback no scheme", "http://web.archive.org/web/2020/example.com/news/a", ARTICLE),
    (
        "wayback collapsed",
        "https://web.archive.org/web/20200101/https:/example.com/news/a",
        ARTICLE,
    ),
    ("archive.today", "https://archive.ph/2020.01.01-000000/https://example.com/news/a", ARTICLE),
    ("tumblr", "https://t.umblr.com/redirect?z=https%3A%2F%2Fexample.com%2Fnews%2Fa&t=Zj", ARTICLE),
    (
        "youtube redirect",
        "https://www.youtube.com/redirect?event=video_description&q=https%3A%2F%2Fexample.com"
        "%2Fnews%2Fa&v=dQw4w9WgXcQ",
        ARTICLE,
    ),
    (
        "nested wrappers",
        "https://www.google.com/url?q=https%3A%2F%2Fweb.archive.org%2Fweb%2F2020%2F"
        "https%3A%2F%2Fm.example.com%2Fnews%2Fa",
        ARTICLE,
    ),
    ("scheme-less", "example.com/news/a", ARTICLE),
    # As pages write og:url and canonical links: "//host/path" without a scheme.
    ("protocol-relative", "//example.com/news/a", ARTICLE),
    ("query order", "https://example.com/a?id=5&page=2", "https://example.com/a?page=2&id=5"),
    ("empty query items", "https://example.com/a?&id=5&", "https://example.com/a?id=5"),
    ("plus is space", "https://example.com/search?q=a+b", "https://example.com/search?q=a%20b"),
    ("escape case", "https://example.com/caf%c3%a9", "https://example.com/caf%C3%A9"),
    ("unicode path", "https://example.com/café", "https://example.com/caf%C3%A9"),
    ("unreserved escape", "https://example.com/%7Euser", "https://example.com/~user"),
    ("escaped tracking key", "https://example.com/news/a?%75tm_source=x", ARTICLE),
    ("idn host", "https://BÜCHER.example/a", "https://xn--bcher-kva.example/a"),
    (
        "youtu.be",
        "https://youtu.be/dQw4w9WgXcQ?si=Abc",
        "https://www.youtube.com/watch?v=dQw4w9WgXcQ",
    ),
    (
        "youtube noise",
        "https://m.youtube.com/watch?v=dQw4w9WgXcQ&t=42s&feature=share&ab_channel=Rick",
        "https://youtube.com/watch?v=dQw4w9WgXcQ",
    ),
    ("tweet host", "https://twitter.com/jack/status/20", "https://x.com/jack/status/20"),
    (
        "tweet mirror",
        "https://fxtwitter.com/Jack/status/20?s=20&t=AbC",
        "https://mobile.twitter.com/i/web/status/20",
    ),
    (
        "blogger mobile",
        "https://a.blogspot.com/2020/01/post.html?m=1",
        "https://a.blogspot.com/2020/01/post.html",
    ),
]

# Each pair is two different articles (or pages) that must keep apart.
DIFFERENT_KEY = [
    ("different article", "https://example.com/news/a", "https://example.com/news/b"),
    ("id param", "https://example.com/article.php?id=5", "https://example.com/article.php?id=6"),
    ("wordpress p", "https://example.com/?p=123", "https://example.com/?p=124"),
    ("wordpress search", "https://example.com/?s=vaccines", "https://example.com/"),
    (
        "youtube video",
        "https://youtube.com/watch?v=dQw4w9WgXcQ",
        "https://youtube.com/watch?v=9bZkp7q19f0",
    ),
    (
        "blogspot blogs",
        "https://a.blogspot.com/2020/01/p.html",
        "https://b.blogspot.com/2020/01/p.html",
    ),
    ("path case", "https://example.com/News/A", "https://example.com/news/a"),
    (
        "encoded slash",
        "https://en.wikipedia.org/wiki/AC%2FDC",
        "https://en.wikipedia.org/wiki/AC/DC",
    ),
    ("literal plus", "https://example.com/search?q=a%2Bb", "https://example.com/search?q=a+b"),
    ("subdomain", "https://news.example.com/a", "https://example.com/a"),
    ("other port", "https://example.com:8443/a", "https://example.com/a"),
    ("tweets", "https://x.com/jack/status/20", "https://x.com/jack/status/21"),
    # ural drops "m" anywhere in a host; foo-m is a different host.
    ("hyphen m", "https://foo-m.example.com/a", "https://foo-example.com/a"),
    # ural turns mobile.de into "de"; it is a registrable domain of its own.
    ("mobile.de", "https://www.mobile.de/a", "https://www.de/a"),
    # ural follows relative ?redirect=/ targets, keying every such article as the home page.
    ("relative redirect", "https://example.com/s1?redirect=/", "https://example.com/s2?redirect=/"),
    ("archive targets", "https://web.archive.org/web/2020/https://a.com/x", "https://b.com/x"),
    ("routing fragment", "https://example.com/#/story/1", "https://example.com/#/story/2"),
    # ural reads both as one channel and drops the "@"; "/handle" is a legacy name of its own.
    ("youtube handle", "https://www.youtube.com/@handle", "https://www.youtube.com/handle"),
]

# Exact keys, so the format the store saves is pinned down.
EXACT_KEYS = [
    (
        "https://www.Example.com:443/news/a/?utm_source=x&id=5#top",
        "https://example.com/news/a?id=5",
    ),
    ("http://example.com", "https://example.com/"),
    ("https://example.com/?p=123&utm_medium=email", "https://example.com/?p=123"),
    ("https://xn--bcher-kva.example/x", "https://xn--bcher-kva.example/x"),
    (
        "https://en.wikipedia.org/wiki/Café_(bar)",
        "https://en.wikipedia.org/wiki/Caf%C3%A9_%28bar%29",
    ),
    ("http://127.0.0.1:8080/x", "https://127.0.0.1:8080/x"),
    ("http://example.com:1/x", "https://example.com:1/x"),  # the lowest port is a port
    ("http://[2001:DB8::1]:8080/x", "https://[2001:db8::1]:8080/x"),
    ("http://[ABCD::0:1]/x", "https://[abcd::1]/x"),  # IPv6 starting with a letter
    ("https://[2001:db8::1]/x", "https://[2001:db8::1]/x"),
    ("https://x.com/jack/status/20?s=20", "https://x.com/i/status/20"),
    ("https://youtu.be/dQw4w9WgXcQ", "https://youtube.com/watch?v=dQw4w9WgXcQ"),
    ("https://www.mobile.de/auto", "https://mobile.de/auto"),
    ("https://amp.dev/about", "https://amp.dev/about"),
    ("https://news.m.example.com/a", "https://news.m.example.com/a"),
    ("https://example.com/a b", "https://example.com/a%20b"),
    # A "#!" route keeps its "!", "?" and "=": each route is a page of its own.
    ("https://example.com/#!/story/1?page=2", "https://example.com/#!/story/1?page=2"),
    # Parameters sort by name, then value: "page" before "page-size" (stored keys rely on it).
    (
        "https://example.com/list?page-size=10&page=2",
        "https://example.com/list?page=2&page-size=10",
    ),
    (
        "https://example.com/list?page-size=1&page=%7E2",
        "https://example.com/list?page=~2&page-size=1",
    ),
]

INVALID = [
    ("", "empty URL"),
    ("   ", "empty URL"),
    ("not a url", "not an http(s) URL"),
    ("mailto:someone@example.com", "not an http(s) URL"),
    ("ftp://example.com/file", "not an http(s) URL"),
    ("javascript:alert(1)", "not an http(s) URL"),
    ("3.14/a", "not an http(s) URL"),
    ("app.v2.3/notes", "not an http(s) URL"),  # a version number: no suffix is all digits
    ("co.uk/a", "not an http(s) URL"),
    ("http://", "no host in URL"),
    ("https:///news/a", "no host in URL"),
    ("https://./news/a", "no host in URL"),
    ("https://exa mple.com/a", "space in host name"),
    ("https://localhost/a", "no domain name in URL"),
    ("https://example.com:99999/a", "bad port"),
    ("https://example.com:http/a", "bad port"),
    ("https://example.com:0/a", "bad port"),  # no server listens on port 0: a typo
    ("https://example.com:00/a", "bad port"),
    ("http://[::1/a", "malformed URL"),
    ("https://exa%6dple.com/a", "bad host name"),
    ("https://-example.com/a", "bad host name"),
    ("https://" + "ü" * 64 + ".com/a", "bad host name"),  # too long a label once in punycode
    ("https://example.com/a\x00b", "control characters in URL"),
    # A wrapper's target percent-encodes the line break it hides.
    (
        "https://www.google.com/url?q=https%3A%2F%2Fexample.com%2Fa%0Ab",
        "control characters in URL",
    ),
    ("https://example.com/" + "a" * 2040, "URL too long"),
    # Short enough to read, too long once escaped: each "é" is six characters in the key.
    ("https://example.com/" + "é" * 400, "URL too long"),
    # Credentials: the fetcher refuses them, and the part before "@" reads as the site.
    ("https://user:secret@example.com/news/a", "credentials (user@) in URL"),
    ("https://trusted.example@evil.example.net/a", "credentials (user@) in URL"),
    (
        "https://www.google.com/url?q=https://good.example@evil.example.net/",
        "credentials (user@) in URL",
    ),
]


# Every tracking parameter factbot drops on top of ural's: each one alone, in any case, beside a
# parameter that is kept.
EXTRA_TRACKING = [
    *("msclkid", "yclid", "gbraid", "wbraid", "ref_src", "ref_url", "cmpid", "cmp", "_hsenc"),
    *("_hsmi", "smid", "smtyp", "ocid", "taid", "sr_share"),
]


@pytest.mark.parametrize("param", EXTRA_TRACKING)
def test_each_extra_tracking_parameter_is_dropped(param: str) -> None:
    assert canonical_url(f"https://example.com/news/a?{param}=x1") == ARTICLE
    assert canonical_url(f"https://example.com/news/a?{param.upper()}=x1") == ARTICLE
    kept = "https://example.com/news/a?id=5"
    assert canonical_url(f"https://example.com/news/a?id=5&{param}=tw-share") == kept
    assert canonical_url(f"http://www.example.com/news/a?{param}=1&id=5") == kept


def test_a_long_link_is_the_article_once_its_tracking_parameter_is_dropped() -> None:
    # A base64 value ends in "=": the parameter goes whole, before any escaping could make the
    # link too long to key.
    url = ARTICLE + "?smid=" + "x" * (2047 - len(ARTICLE) - 8) + "=="
    assert len(url) == 2047
    assert canonical_url(url) == ARTICLE


@pytest.mark.parametrize(("case", "a", "b"), SAME_KEY, ids=[c[0] for c in SAME_KEY])
def test_same_article_same_key(case: str, a: str, b: str) -> None:
    assert canonical_url(a) == canonical_url(b)


@pytest.mark.parametrize(("case", "a", "b"), DIFFERENT_KEY, ids=[c[0] for c in DIFFERENT_KEY])
def test_different_articles_different_keys(case: str, a: str, b: str) -> None:
    assert canonical_url(a) != canonical_url(b)


@pytest.mark.parametrize(("url", "key"), EXACT_KEYS)
def test_exact_keys(url: str, key: str) -> None:
    assert canonical_url(url) == key


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com/..amp",  # ural strips ".amp", leaving a "/." to normalise away
        "http://example.com/#!x",  # ural escapes the "!" that made the fragment routing
        "http://example.com/?id=1&id==",  # ural sorts before it escapes
        "http://youtube.com//a?id=",
        "https://example.com/a?x&x=&x=1",
    ],
)
def test_keys_map_to_themselves(url: str) -> None:
    key = canonical_url(url)
    assert canonical_url(key) == key


@pytest.mark.parametrize(("url", "reason"), INVALID)
def test_invalid_urls_say_why(url: str, reason: str) -> None:
    with pytest.raises(InvalidURL) as info:
        canonical_url(url)
    assert str(info.value) == reason


def test_an_amp_copy_of_an_amp_copy_is_the_article() -> None:
    # ural strips one trailing AMP segment a pass; the key is the article's, and maps to itself.
    for depth in range(1, 9):
        assert canonical_url(ARTICLE + "/amp" * depth) == ARTICLE
    assert canonical_url("http://example.com/amp.amp" + "/amp" * 6) == "https://example.com/"
    # Past that a key would not map to itself (the store re-keys by it): the link is refused.
    with pytest.raises(InvalidURL) as info:
        canonical_url(ARTICLE + "/amp" * 9)
    assert str(info.value) == "malformed URL"


def test_a_youtube_link_ural_cannot_read_is_keyed_as_it_is_and_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.DEBUG, logger="bot.links"):
        assert canonical_url("https://youtu.be/") == "https://youtu.be/"
    (record, *_) = [r for r in caplog.records if r.name == "bot.links"]
    assert record.getMessage() == "youtube normalisation failed for 'https://youtu.be/'"
    assert "Traceback" in caplog.text  # the operator sees where ural failed


def test_a_link_no_url_can_encode_is_refused_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    # A lone surrogate can arrive through Discord's JSON ("\ud800"); no URL encoding holds it.
    with caplog.at_level(logging.DEBUG, logger="bot.links"), pytest.raises(InvalidURL) as info:
        canonical_url("https://example.com/a\ud800")
    assert str(info.value) == "malformed URL"
    (record, *_) = [r for r in caplog.records if r.name == "bot.links"]
    assert record.getMessage() == "normalize_url failed for 'https://example.com/a\\ud800'"
    assert "Traceback" in caplog.text
    assert extract_links("see https://example.com/a\ud800 and https://example.com/b") == [
        "https://example.com/b"
    ]


def test_a_key_of_the_longest_length_is_kept() -> None:
    url = "https://example.com/~" + "a" * (2048 - len("https://example.com/~"))
    assert canonical_url(url) == url
    plain = "https://example.com/" + "a" * (2048 - len("https://example.com/"))
    assert canonical_url(plain) == plain
    # Readable at 2,048 characters, but its key gains the "s" of https.
    with pytest.raises(InvalidURL) as info:
        canonical_url("http" + plain.removeprefix("https") + "a")
    assert str(info.value) == "URL too long"


def test_a_host_name_may_be_as_long_as_dns_allows_and_no_longer() -> None:
    longest = ".".join(["a" * 63, "b" * 63, "c" * 63, "d" * 61])
    assert len(longest) == 253
    assert canonical_url(f"https://{longest}/x") == f"https://{longest}/x"
    with pytest.raises(InvalidURL) as info:
        canonical_url(f"https://{longest}d/x")
    assert str(info.value) == "bad host name"


def test_a_punycode_label_that_does_not_decode_is_shown_as_it_is() -> None:
    assert links.display_host("xn--zz.example.com") == "xn--zz.example.com"
    assert links.display_url("https://xn--zz.xn--bcher-kva.example/a") == "xn--zz.bücher.example/a"


def test_long_input_is_refused_before_unwrapping() -> None:
    wrapped = "https://www.google.com/url?q=https://example.com/a&pad=" + "x" * 2100
    with pytest.raises(InvalidURL, match="too long"):
        canonical_url(wrapped)


@pytest.mark.parametrize(
    ("url", "inner"),
    [
        ("https://www.google.com/url?q=https://example.com/a&sa=D", "https://example.com/a"),
        ("https://l.facebook.com/l.php?u=https%3A%2F%2Fexample.com%2Fa", "https://example.com/a"),
        # The page fetched is the target however the wrapper is written: http, capitals, no "/"
        # before the query (as older clients and people typing it do).
        ("http://l.facebook.com/l.php?u=https%3A%2F%2Fexample.com%2Fa", "https://example.com/a"),
        ("HTTPS://T.UMBLR.COM/REDIRECT?z=https://example.com/a", "https://example.com/a"),
        ("https://l.instagram.com?u=https%3A%2F%2Fexample.com%2Fa", "https://example.com/a"),
        # YouTube's target may lack the scheme, or be written "//host/path".
        ("https://www.youtube.com/redirect?q=example.com%2Fa", "https://example.com/a"),
        ("https://www.youtube.com/redirect?q=%2F%2Fexample.com%2Fa", "https://example.com/a"),
        (
            "https://web.archive.org/web/20200101000000/https://example.com/a?id=5",
            "https://example.com/a?id=5",
        ),
        ("https://web.archive.org/web/2020/example.com/a", "http://example.com/a"),
        ("https://www.google.com/amp/s/example.com/a", "https://example.com/a"),
        ("https://www.google.co.uk/amp/example.com/a", "http://example.com/a"),
        # the target's own "=" (unescaped, as Tumblr writes it) belongs to the target
        (
            "https://t.umblr.com/redirect?z=https://example.com/a?id=5&t=abc",
            "https://example.com/a?id=5",
        ),
        # nested: safelinks around google around the article
        (
            "https://nam02.safelinks.protection.outlook.com/?url=https%3A%2F%2Fwww.google.com"
            "%2Furl%3Fq%3Dhttps%253A%252F%252Fexample.com%252Fa&data=1",
            "https://example.com/a",
        ),
    ],
)
def test_unwrap_redirect(url: str, inner: str) -> None:
    assert unwrap_redirect(url) == inner


# Every named wrapper service (links.QUERY_WRAPPERS) with a real-world link shape.
NAMED_WRAPPERS = [
    ("Google", "https://www.google.com/url?q=https://example.com/a&sa=D"),
    ("Google", "https://www.google.co.uk/url?url=https%3A%2F%2Fexample.com%2Fa&rct=j"),
    ("Google", "https://www.google.com/url?sa=t&q=moon+landing&url=https://example.com/a&ved=2"),
    ("Facebook", "https://l.facebook.com/l.php?u=https%3A%2F%2Fexample.com%2Fa&h=AT0"),
    ("Facebook", "https://lm.facebook.com/l.php?u=https%3A%2F%2Fexample.com%2Fa"),
    ("Facebook", "https://l.messenger.com/l.php?u=https%3A%2F%2Fexample.com%2Fa"),
    ("Instagram", "https://l.instagram.com/?u=https%3A%2F%2Fexample.com%2Fa&e=AT1"),
    (
        "Outlook safe links",
        "https://eur03.safelinks.protection.outlook.com/?url=https%3A%2F%2Fexample.com%2Fa&data=0",
    ),
    ("YouTube", "https://www.youtube.com/redirect?event=video_description&q=example.com%2Fa"),
    ("VK", "https://vk.com/away.php?to=https%3A%2F%2Fexample.com%2Fa&cc_key="),
    ("LinkedIn", "https://www.linkedin.com/redir/redirect?url=https%3A%2F%2Fexample.com%2Fa"),
    ("Steam", "https://steamcommunity.com/linkfilter/?url=https://example.com/a"),
    ("Tumblr", "https://t.umblr.com/redirect?z=https%3A%2F%2Fexample.com%2Fa&t=ZjQ&b=t%3A1&m=1"),
]


@pytest.mark.parametrize(("service", "url"), NAMED_WRAPPERS)
def test_named_wrappers_are_unwrapped(service: str, url: str) -> None:
    assert service in {w.name for w in QUERY_WRAPPERS}
    assert canonical_url(url) == "https://example.com/a"


def test_every_named_wrapper_is_tested() -> None:
    assert {w.name for w in QUERY_WRAPPERS} == {service for service, _ in NAMED_WRAPPERS}


@pytest.mark.parametrize(
    "url",
    [
        # Any site's own redirect parameter: that site decides where it sends a visitor.
        "http://127.0.0.1:8765/r?url=https://victim.example.org/news/real-story",
        "https://attacker.example/r?u=https://victim.example.org/news/real-story",
        "https://attacker.example/out?redirect=https%3A%2F%2Fvictim.example.org%2Fnews",
        "https://attacker.example/go?target=https://victim.example.org/news",
        "https://attacker.example/login?next=https://victim.example.org/news",
        # Look-alikes of named services.
        "https://google.com.attacker.example/url?q=https://victim.example.org/news",
        "https://l.facebook.com.attacker.example/l.php?u=https://victim.example.org/news",
        "https://notgoogle.com/url?q=https://victim.example.org/news",
        "https://www.google.com/urlx?q=https://victim.example.org/news",
        # A named service's own target that is no web address.
        "https://t.umblr.com/redirect?z=javascript:alert(1)//victim.example.org/news",
        "https://t.umblr.com/redirect?t=victim.example.org",
    ],
)
def test_other_hosts_redirect_parameters_are_not_unwrapped(url: str) -> None:
    assert unwrap_redirect(url) == url
    assert "victim.example.org" not in urlsplit(canonical_url(url)).netloc


@pytest.mark.parametrize(
    "url",
    [
        "https://example.com/a?id=5",
        "https://example.com/login?next=/a",  # relative: not trusted
        "https://example.com/a#url=https://b.com/x",  # fragments are not query values
        "https://www.google.com/search?q=https://example.com/a",  # a search, not a redirect
        " https://example.com/a ",
        "not a url at all",
        "ftp://www.google.com/url?q=https://example.com/a",  # a wrapper's address, not http(s)
        "https:///url?q=https://example.com/a",  # no host to be a named service
        "https://www.youtube.com/redirect?event=video_description",  # no target
    ],
)
def test_unwrap_redirect_leaves_other_urls_alone(url: str) -> None:
    assert unwrap_redirect(url) == url


def test_unwrap_redirect_stops_after_a_few_levels() -> None:
    url = "https://example.com/a"
    for _ in range(20):
        url = "https://www.google.com/url?q=" + url.replace("%", "%25").replace("&", "%26")
    unwrapped = unwrap_redirect(url)
    assert unwrapped != "https://example.com/a"
    assert unwrapped.startswith("https://www.google.com/url?q=")


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://bit.ly/3abcDEF", True),
        ("https://t.co/AbCdEf123", True),
        ("https://tinyurl.com/y3abcd", True),
        ("https://goo.gl/abcd", True),
        ("https://ow.ly/abcd", True),
        ("https://buff.ly/abcd", True),
        ("https://dlvr.it/abcd", True),
        ("http://BIT.LY/3abc", True),
        ("https://example.com/news/a", False),
        ("https://bit.ly", False),  # a shortener's home page redirects nowhere
        ("not a url", False),
        ("", False),
        ("http://[bad", False),  # ural cannot read it (a broken IPv6 host): no shortener link
    ],
)
def test_is_shortener(url: str, expected: bool) -> None:
    assert is_shortener(url) is expected


HOSTS = [
    ("news.example.com", ["news.example.com", "example.com"]),
    ("www.example.com", ["example.com"]),
    ("m.example.com", ["example.com"]),
    ("example.com", ["example.com"]),
    ("a.b.example.co.uk", ["a.b.example.co.uk", "b.example.co.uk", "example.co.uk"]),
    ("www.bbc.co.uk", ["bbc.co.uk"]),
    ("a.blogspot.com", ["a.blogspot.com"]),
    ("www.a.blogspot.com", ["a.blogspot.com"]),
    ("user.github.io", ["user.github.io"]),
    ("News.Example.COM.", ["news.example.com", "example.com"]),
    ("https://www.news.example.com/a?b=c", ["news.example.com", "example.com"]),
    ("http://example.com:8080/x", ["example.com"]),
    (
        "https://www.google.com/url?q=https://news.example.com/a",
        ["news.example.com", "example.com"],
    ),
    ("bücher.de", ["xn--bcher-kva.de"]),
    ("x.公司.cn", ["x.xn--55qx5d.cn"]),
    ("www.mobile.de", ["mobile.de"]),
    ("a.b.unknown-tld-zz", ["a.b.unknown-tld-zz", "b.unknown-tld-zz"]),
    ("http://192.0.2.1/x", ["192.0.2.1"]),
    ("http://8.8.8.8/x", ["8.8.8.8"]),
    ("//news.example.com/a", ["news.example.com", "example.com"]),  # as pages write links
]


@pytest.mark.parametrize(("given_host", "expected"), HOSTS)
def test_host_candidates(given_host: str, expected: list[str]) -> None:
    assert host_candidates(given_host) == expected


def test_host_candidates_match_canonical_host() -> None:
    url = "https://amp.news.example.co.uk/a/amp"
    assert canonical_url(url).startswith("https://" + host_candidates(url)[0] + "/")


@pytest.mark.parametrize(
    ("junk", "reason"),
    [
        ("", "empty domain"),
        ("  ", "empty domain"),
        ("not a domain", "space in host name"),
        ("localhost", "no domain name in URL"),
        ("http://", "no host in URL"),
    ],
)
def test_host_candidates_reject_junk(junk: str, reason: str) -> None:
    with pytest.raises(InvalidURL) as info:
        host_candidates(junk)
    assert str(info.value) == reason


@pytest.mark.parametrize(
    ("given_host", "expected"),
    [
        ("news.bbc.co.uk", "bbc.co.uk"),
        ("a.blogspot.com", "a.blogspot.com"),
        ("https://www.nytimes.com/2020/01/01/a.html", "nytimes.com"),
        ("deep.sub.example.com", "example.com"),
        ("foo.city.kawasaki.jp", "city.kawasaki.jp"),  # a PSL exception rule
    ],
)
def test_registrable_domain(given_host: str, expected: str) -> None:
    assert registrable_domain(given_host) == expected


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("Example.com", "example.com"),
        ("example.com.", "example.com"),
        ("https://www.example.com/path?x=1", "example.com"),
        ("www.example.com", "example.com"),
        ("  example.com  ", "example.com"),
        ("news.example.co.uk", "news.example.co.uk"),
        ("a.blogspot.com", "a.blogspot.com"),
        ("Bücher.de", "xn--bcher-kva.de"),
        ("xn--bcher-kva.de", "xn--bcher-kva.de"),
        ("example.com/some/article", "example.com"),
    ],
)
def test_normalise_domain(typed: str, expected: str) -> None:
    assert normalise_domain(typed) == expected


@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        ("", "empty domain"),
        ("   ", "empty domain"),
        ("not a domain", "not a domain"),
        ("http://", "no host in URL"),
        ("localhost", "no domain name in URL"),
        ("192.0.2.1", "an IP address, not a domain"),
        ("9.9.9.9", "an IP address, not a domain"),
        ("co.uk", "a shared suffix, not a site: give the full name"),
        ("blogspot.com", "a shared suffix, not a site: give the full name"),
        ("ftp://example.com", "not an http(s) URL"),
        ("exa_mple..com", "bad host name"),
        # Not a note on good.com: the part before "@" is credentials, refused everywhere.
        ("evil.com@good.com", "credentials (user@) in URL"),
    ],
)
def test_normalise_domain_rejects_junk(typed: str, reason: str) -> None:
    with pytest.raises(InvalidURL) as info:
        normalise_domain(typed)
    assert str(info.value) == reason


# Names matching no Public Suffix List rule fall under its default rule "*": the last label is
# the suffix. Reserved test names, intranet names and TLDs newer than the bundled list work like
# any other host, in every function that reads a host.
DEFAULT_RULE_HOSTS = [
    # (typed, canonical host, registrable domain)
    ("example-blog.test", "example-blog.test", "example-blog.test"),
    ("www.news.example-blog.test", "news.example-blog.test", "example-blog.test"),
    ("wiki.corp.internal", "wiki.corp.internal", "corp.internal"),
    ("shop.brandnew-zz-tld", "shop.brandnew-zz-tld", "shop.brandnew-zz-tld"),
    ("a.blogspot.com", "a.blogspot.com", "a.blogspot.com"),  # a listed private suffix
]


@pytest.mark.parametrize(("typed", "host", "registrable"), DEFAULT_RULE_HOSTS)
def test_the_psl_default_rule_applies_everywhere(typed: str, host: str, registrable: str) -> None:
    assert normalise_domain(typed) == host
    assert normalise_domain(f"https://{typed}/x") == host
    assert canonical_url(f"{typed}/news/a") == f"https://{host}/news/a"
    assert canonical_url(f"http://{typed}/news/a") == f"https://{host}/news/a"
    assert registrable_domain(typed) == registrable
    assert host_candidates(typed)[-1] == registrable
    assert same_site(f"https://{typed}/a", f"https://{registrable}/b")
    assert not same_site(f"https://{typed}/a", "https://other-site.test/b")


EXTRACTION = [
    ("plain", "look https://example.com/a now", ["https://example.com/a"]),
    ("angle brackets", "no embed <https://example.com/a> please", ["https://example.com/a"]),
    ("markdown", "[the story](https://example.com/a)", ["https://example.com/a"]),
    ("markdown angle", "[the story](<https://example.com/a>)", ["https://example.com/a"]),
    ("spoiler", "||https://example.com/a||", ["https://example.com/a"]),
    ("spoiler text", "wow ||see https://example.com/a here||!", ["https://example.com/a"]),
    ("single pipe kept", "https://example.com/a|b", ["https://example.com/a|b"]),
    (
        "the same link twice",
        "https://example.com/a and https://example.com/a, then https://example.com/b",
        ["https://example.com/a", "https://example.com/b"],
    ),
    ("pipe after a spoiler", "||wow|| https://example.com/a|b", ["https://example.com/a|b"]),
    ("period", "Read https://example.com/a.", ["https://example.com/a"]),
    ("punctuation run", "https://example.com/a?!.,;:'\"", ["https://example.com/a"]),
    ("query kept", "https://example.com/a?id=5.", ["https://example.com/a?id=5"]),
    ("paren around", "(see https://example.com/a)", ["https://example.com/a"]),
    (
        "wikipedia parens",
        "https://en.wikipedia.org/wiki/Foo_(bar)",
        ["https://en.wikipedia.org/wiki/Foo_(bar)"],
    ),
    (
        "wikipedia in parens",
        "(https://en.wikipedia.org/wiki/Foo_(bar)).",
        ["https://en.wikipedia.org/wiki/Foo_(bar)"],
    ),
    (
        "markdown wikipedia",
        "[Foo](https://en.wikipedia.org/wiki/Foo_(bar))",
        ["https://en.wikipedia.org/wiki/Foo_(bar)"],
    ),
    ("nested parens", "see https://example.com/a_(b_(c)) now", ["https://example.com/a_(b_(c))"]),
    ("square brackets", "[https://example.com/a]", ["https://example.com/a"]),
    ("braces", "{https://example.com/a}", ["https://example.com/a"]),
    ("bold", "**https://example.com/a**", ["https://example.com/a"]),
    ("strike", "~~https://example.com/a~~", ["https://example.com/a"]),
    ("quotes", '"https://example.com/a"', ["https://example.com/a"]),
    ("code span", "`https://example.com/a` https://example.com/b", ["https://example.com/b"]),
    ("double code span", "``x `https://example.com/a` y``", []),
    (
        "code block",
        "```\nhttps://example.com/a\n```\nhttps://example.com/b",
        ["https://example.com/b"],
    ),
    ("unclosed backtick", "`https://example.com/a", ["https://example.com/a"]),
    ("link before code", "https://example.com/a `x`", ["https://example.com/a"]),
    (
        "two code spans",
        "`a` `https://c.example.com/y` https://b.example.com/z",
        ["https://b.example.com/z"],
    ),
    ("link right after code", "`x`https://example.com/a", ["https://example.com/a"]),
    (
        "unclosed run before a code span",
        "``https://a.example.com/x `https://c.example.com/y` https://b.example.com/z",
        ["https://a.example.com/x", "https://b.example.com/z"],
    ),
    ("non-http", "ftp://example.com/a mailto:a@example.com", []),
    ("inside a word", "xhttps://example.com/a", []),
    ("no host", "https:// and http://", []),
    ("uppercase scheme", "HTTPS://EXAMPLE.COM/a", ["HTTPS://EXAMPLE.COM/a"]),
    (
        "duplicates by key",
        "https://example.com/a https://www.example.com/a/?utm_source=x https://example.com/b",
        ["https://example.com/a", "https://example.com/b"],
    ),
    (
        "order kept",
        "https://b.example.com/1 then https://a.example.com/2",
        ["https://b.example.com/1", "https://a.example.com/2"],
    ),
    (
        "masked link with url text",
        "[https://a.example.com](https://b.example.com/x)",
        ["https://a.example.com", "https://b.example.com/x"],
    ),
    (
        "newlines",
        "one\nhttps://example.com/a\ntwo\thttps://example.com/b",
        ["https://example.com/a", "https://example.com/b"],
    ),
]


@pytest.mark.parametrize(("case", "text", "expected"), EXTRACTION, ids=[c[0] for c in EXTRACTION])
def test_extract_links(case: str, text: str, expected: list[str]) -> None:
    assert extract_links(text, limit=10) == expected


def test_extract_links_limit() -> None:
    text = " ".join(f"https://example.com/{i}" for i in range(10))
    assert extract_links(text) == [f"https://example.com/{i}" for i in range(5)]
    assert extract_links(text, limit=2) == ["https://example.com/0", "https://example.com/1"]
    assert extract_links(text, limit=1) == ["https://example.com/0"]
    assert extract_links(text, limit=0) == []
    assert extract_links(text, limit=-1) == []


def test_a_message_is_read_for_at_most_a_hundred_candidate_links() -> None:
    # A hostile message of unusable links cannot make the bot key thousands of them.
    junk = [f"https://{i}/" for i in range(100)]  # no domain name: refused, each tried once
    assert extract_links(" ".join([*junk[:99], "https://example.com/a"])) == [
        "https://example.com/a"
    ]
    assert extract_links(" ".join([*junk, "https://example.com/a"])) == []


HOSTILE = {
    "punctuation": "(.,;:!?'\"[]{}<>|`*~" * 5500,
    "openers": "https://example.com/" + "(" * 100_000,
    "closers": "https://example.com/a" + ")" * 100_000,
    "scheme run": "https://" * 12_500,
    "links glued by brackets": "https://example.com/a]" * 4500,
    "pipes": "https://example.com/a" + "|" * 100_000,
    "backticks": "".join("`" * i + "x" for i in range(1, 440)),
    "dots": "https://example.com/a" + "." * 100_000,
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_extract_links_survives_hostile_input(name: str) -> None:
    # Catastrophic backtracking would hang here; the speed itself is the benchmarks' business.
    text = HOSTILE[name]
    assert len(text) >= 90_000
    links = extract_links(text)
    assert len(links) <= 5


# ---- properties -----------------------------------------------------------------------------

_hosts = st.sampled_from(
    ["example.com", "www.example.com", "m.news.example.co.uk", "a.blogspot.com", "bücher.de",
     "EXAMPLE.org", "amp.example.com", "192.0.2.7", "youtube.com", "x.com"]
)  # fmt: skip
_path_text = st.lists(
    st.sampled_from([*"aZ09-_.~/%()+é !;=:@", "%2F", "%41", "%e9", "..", "amp"]),
    max_size=30,
).map("".join)
_query_items = st.lists(
    st.tuples(
        st.sampled_from(["id", "p", "v", "utm_source", "s", "fbclid", "q", "ref", "amp", "M"]),
        st.text(alphabet=st.sampled_from(list("ab12+%/ =")), max_size=8),
    ),
    max_size=4,
)


@st.composite
def _urls(draw: st.DrawFn) -> str:
    scheme = draw(st.sampled_from(["http", "https", "HTTPS"]))
    host = draw(_hosts)
    path = draw(_path_text)
    query = "&".join(f"{k}={v}" for k, v in draw(_query_items))
    fragment = draw(st.sampled_from(["", "#top", "#/route", "#!x"]))
    return f"{scheme}://{host}/{path}" + (f"?{query}" if query else "") + fragment


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(_urls())
def test_canonical_url_is_idempotent(url: str) -> None:
    try:
        key = canonical_url(url)
    except InvalidURL:
        return
    assert canonical_url(key) == key
    assert key.startswith("https://")
    assert key.isascii()


@settings(max_examples=400)
@given(st.text(max_size=200))
def test_canonical_url_raises_only_invalid_url(text: str) -> None:
    try:
        key = canonical_url(text)
    except InvalidURL as exc:
        assert 0 < len(str(exc)) <= 60
    else:
        assert canonical_url(key) == key


@settings(max_examples=300)
@given(
    st.lists(
        st.sampled_from([*"htps:/.ab()[]<>|`*,'\" \n", "https://", "www.", ".com", "é"]),
        max_size=60,
    ).map("".join)
)
def test_extract_links_returns_substrings_that_canonicalise(text: str) -> None:
    links = extract_links(text, limit=3)
    assert len(links) <= 3
    keys = [canonical_url(link) for link in links]
    assert len(set(keys)) == len(keys)
    for link in links:
        assert link in text


# --- the fast path for plain URLs gives the full path's key --------------------------------

_HOST_LABELS = [
    *("www", "www2", "m", "mobile", "amp", "amp-news", "news", "blog", "a-b", "example"),
    *("co", "uk", "com", "org", "test", "de", "io", "github", "blogspot", "fox", "x"),
    *("facebook", "youtube", "youtu", "twitter", "archive", "google", "127", "0", "-bad", "Ex"),
    *("twitter.com", "x.com", "fxtwitter.com", "mobile.twitter.com"),
]
_PATH_SEGMENTS = [
    *("news", "2020", "01", "Story", "a_b", "x-y", "amp", "AMP", "index", "default", "Index"),
    *("index.html", "default.aspx", "page.amp", "amp.html", "a.AMP", "article.php", "p.html"),
    *("someone/status/1234567890", "i/web/status/99", "statuses/12", "status", "i"),
]
_QUERY_KEYS = [
    *("utm_source", "UTM_Medium", "id", "ref", "s", "amp", "outputtype", "mode", "page", "m"),
    *("smid", "ocid", "fbclid", "source", "A", "a", "yclid", "sid", "at_x", "mtm_x", "feature"),
    *("output", "platform", "spref", "_ss", "amp_js", "seen", "cmp", "t", "si"),
]
_QUERY_VALUES = ["twitter", "amp", "12", "1", "0", "abc", "tw", "x", "feed", "hootsuite", "r"]


@st.composite
def _plain_urls(draw: st.DrawFn) -> str:
    scheme = draw(st.sampled_from(["http", "https", "HTTP", "Https"]))
    label = st.sampled_from(_HOST_LABELS) | st.from_regex(r"[a-z0-9-]{1,8}", fullmatch=True)
    host = ".".join(draw(st.lists(label, min_size=2, max_size=4)))
    segment = st.sampled_from(_PATH_SEGMENTS) | st.from_regex(r"[A-Za-z0-9_-]{1,8}", fullmatch=True)
    path = "".join("/" + s for s in draw(st.lists(segment, max_size=4)))
    path += draw(st.sampled_from(["", "", "/", "//"]))
    items = draw(
        st.lists(
            st.tuples(st.sampled_from(_QUERY_KEYS), st.sampled_from(_QUERY_VALUES)), max_size=4
        )
    )
    query = "&".join(f"{k}={v}" for k, v in items)
    return f"{scheme}://{host}{path}{'?' + query if query else ''}"


def _outcome(function: object, url: str) -> str:
    try:
        return function(url)  # type: ignore[operator,no-any-return]
    except InvalidURL as exc:
        return f"InvalidURL: {exc}"


@settings(max_examples=1500, suppress_health_check=[HealthCheck.too_slow])
@given(_plain_urls())
def test_the_fast_path_gives_the_full_paths_key(url: str) -> None:
    fast = _outcome(links._plain_key, url)
    if fast is not None:
        assert fast == _outcome(links._canonical_slow, url)


@pytest.mark.parametrize(
    "url",
    [
        "http://www.Example.com/news/2020/01/02/some-slug-123?utm_source=twitter&utm_medium=x",
        "https://example.com/world/article.php?id=5&ref=twitter",
        "https://m.news.example.co.uk/a/b/",
        "https://example-blog.test/2026/02/post",
        "https://twitter.com/someone/status/1234567890",
        "https://x.com/someone/status/1234567890?s=20&t=AbC",
        "http://192.0.2.7/news/a?id=5",
    ],
)
def test_a_plain_url_takes_the_fast_path(url: str) -> None:
    # The import's speed rests on it; the property test above says it gives the same keys.
    assert links._plain_key(url) is not None
    assert links._plain_key(url) == links._canonical_slow(url) == canonical_url(url)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://xn--e1afmkfd.xn--p1ai/a", "пример.рф/a"),
        ("HTTPS://Example.com:8443/a?b=c#d", "example.com:8443/a?b=c#d"),
        # Not fit to click: shown as typed, without its scheme, never rewritten to look safe.
        ("https://user@evil.example/x", "user@evil.example/x"),
        (
            "ftp://files.example/a?next=https://b.example/",
            "files.example/a?next=https://b.example/",
        ),
        ("no scheme at all", "no scheme at all"),
    ],
)
def test_a_link_label_reads_as_the_site_it_leads_to(url: str, shown: str) -> None:
    assert links.display_url(url) == shown


def test_a_link_that_cannot_be_read_is_on_no_site() -> None:
    assert not links.same_site("https://example.com/a", "javascript:alert(1)")
    assert not links.same_site("not a link", "not a link")


@pytest.mark.parametrize(
    "name", ["пример1.рф", "при-мер.рф", "東京のカフェ.jp", "서울한식.kr", "exаmple.com"]
)
def test_scripts_written_together_read_as_unicode_but_not_a_mixed_latin_name(name: str) -> None:
    ascii_name = name.encode("idna").decode("ascii")
    shown = links.display_host(ascii_name)
    assert shown == (ascii_name if name == "exаmple.com" else name)


def test_a_combining_accent_does_not_make_a_latin_name_mixed() -> None:
    # q + U+0301 (no precomposed form): the accent belongs to its letter's script.
    assert links.display_host("xn--quiz-vvc.com") == "q\u0301uiz.com"


def test_a_url_read_off_a_page_is_keyed_or_left_out() -> None:
    # og:url and redirect targets are whatever a page says: an unusable one is no key, no error.
    assert links.canonical_url_or_none("https://www.example.com/news/a/?utm_source=x") == ARTICLE
    assert links.canonical_url_or_none(None) is None
    assert links.canonical_url_or_none("") is None
    assert links.canonical_url_or_none("javascript:alert(1)") is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("https://example.com/a", False),
        ("https://example.com/caf\u00e9\u00a0x", False),  # letters and a no-break space
        ("https://example.com/a\x00b", True),
        ("\x1fhttps://example.com/", True),
        ("https://example.com/\x7f", True),
        ("https://example.com/\x85", True),  # NEL, a C1 line break
    ],
)
def test_a_source_link_with_control_characters_is_found_out(text: str, expected: bool) -> None:
    assert links.has_control_characters(text) is expected


@pytest.mark.parametrize(
    ("url", "label"),
    [
        ("https://news.bbc.co.uk/a", "bbc.co.uk"),
        ("https://www.xn--e1afmkfd.xn--p1ai/a", "пример.рф"),
        ("https://a.blogspot.com/p", "a.blogspot.com"),
        # Latin with one Cyrillic letter: shown in Unicode it would pass for example.com.
        ("https://xn--exmple-4nf.com/a", "xn--exmple-4nf.com"),
        ("https://192.0.2.1/x", "192.0.2.1"),
        ("not a link", None),
    ],
)
def test_a_source_is_labelled_by_the_site_it_leads_to(url: str, label: str | None) -> None:
    assert links.site_label(url) == label


@pytest.mark.parametrize(
    ("url", "target"),
    [
        ("https://Example.COM:8443/a?b=1#c", "https://example.com:8443/a?b=1#c"),
        (" HTTP://bücher.de/x ", "http://xn--bcher-kva.de/x"),  # a Unicode host does not resolve
        ("https://example.com./a", "https://example.com/a"),
        ("https://[2001:DB8::1]:8080/x", "https://[2001:db8::1]:8080/x"),
        ("https://user@evil.example/x", None),  # leads to evil.example, whatever it reads as
        ("javascript:alert(1)", None),
        ("ftp://example.com/a", None),
        ("https:///x", None),
        ("https://example.com:99999/", None),
        ("https://exa%6dple.com/", None),
    ],
)
def test_a_link_is_clicked_only_as_an_http_url_to_the_host_it_shows(
    url: str, target: str | None
) -> None:
    assert links.link_target(url) == target
