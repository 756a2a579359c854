"""The fetcher against real HTTP servers on loopback: limits, redirects, charsets, the guard.

Every test runs under NetworkTripwire: a socket connect off loopback or any DNS lookup fails the
test before a packet leaves the machine. Blocked non-loopback addresses are only ever reached
through the pure address check or a fake resolver, where the guard refuses before connecting.
"""

from __future__ import annotations

import asyncio
import gzip
import ipaddress
import logging
import random
import re
import shutil
import socket
import ssl
import struct
import subprocess
import tracemalloc
import zlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest

from bot.config import load_config
from bot.fetch import (
    FetchConfig,
    Fetcher,
    FetchError,
    GuardedBackend,
    Resolver,
    host_address,
    is_blocked_address,
    make_client,
    system_resolver,
)
from tests.servers import LocalServer, NetworkTripwire, fake_resolver, repeated

PAGE = b"<!doctype html><html><head><title>t</title></head><body><p>hello</p></body></html>"
MiB = 1024 * 1024


@pytest.fixture
def tripwire(network_tripwire: NetworkTripwire) -> NetworkTripwire:
    """The suite-wide tripwire (conftest.py), for tests that inspect what it saw."""
    return network_tripwire


@pytest.fixture
async def server() -> AsyncIterator[LocalServer]:
    async with LocalServer() as running:
        yield running


def open_config(*ports: int, **overrides: object) -> FetchConfig:
    """The guard opened for loopback only, the test server's ports allowed, short deadlines."""
    settings: dict[str, object] = {
        "timeout_s": 2.0,
        "connect_timeout_s": 1.0,
        "allowed_ports": ports,
        "allowed_private_networks": ("127.0.0.0/8",),
    }
    settings.update(overrides)
    return FetchConfig(**settings)  # type: ignore[arg-type]


def closed_config(*ports: int, **overrides: object) -> FetchConfig:
    """The default (closed) guard: only the ports are opened, so only the address check refuses."""
    return open_config(*ports, allowed_private_networks=(), **overrides)


@asynccontextmanager
async def fetcher(config: FetchConfig, resolver: Resolver | None = None) -> AsyncIterator[Fetcher]:
    client = make_client(config, resolver)
    try:
        yield Fetcher(client, config)
    finally:
        await client.aclose()


async def fetch_error(config: FetchConfig, url: str, resolver: Resolver | None = None) -> str:
    async with fetcher(config, resolver) as f:
        with pytest.raises(FetchError) as caught:
            await f.fetch(url)
    return caught.value.reason


# --- ordinary pages ----------------------------------------------------------------------------


async def test_fetches_an_html_page(server: LocalServer) -> None:
    server.route("/a", body=PAGE)
    async with fetcher(open_config(server.port)) as f:
        page = await f.fetch(server.url("/a#frag"))
    assert page.url == server.url("/a#frag")
    assert page.final_url == server.url("/a")
    assert (page.status, page.content_type, page.redirects) == (200, "text/html", ())
    assert "<p>hello</p>" in page.html
    (request,) = server.requests
    assert request.method == "GET"
    assert request.headers["user-agent"] == FetchConfig().user_agent
    assert request.headers["accept-encoding"] == "gzip, deflate"
    # HTML first: a server that negotiates sends the page, not JSON or an image.
    assert request.headers["accept"] == "text/html,application/xhtml+xml;q=0.9,*/*;q=0.1"


@pytest.mark.parametrize("status", [404, 500, 204, 300])
async def test_non_2xx_and_empty_statuses(server: LocalServer, status: int) -> None:
    server.route("/", status=status, body=PAGE if status != 204 else b"")
    if status == 204:
        async with fetcher(open_config(server.port)) as f:
            assert (await f.fetch(server.url("/"))).html == ""
    else:
        assert await fetch_error(open_config(server.port), server.url("/")) == f"http {status}"


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "raw-deflate"])
async def test_compressed_pages_are_decoded(server: LocalServer, encoding: str) -> None:
    body = PAGE * 100
    if encoding == "gzip":
        data = gzip.compress(body)
    elif encoding == "deflate":
        data = zlib.compress(body)
    else:
        squeeze = zlib.compressobj(wbits=-zlib.MAX_WBITS)
        data = squeeze.compress(body) + squeeze.flush()
        encoding = "deflate"
    server.route(
        "/", headers=[("Content-Type", "text/html"), ("Content-Encoding", encoding)], body=data
    )
    async with fetcher(open_config(server.port)) as f:
        assert (await f.fetch(server.url("/"))).html == body.decode()


def raw_deflate(data: bytes) -> bytes:
    squeeze = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return squeeze.compress(data) + squeeze.flush()


@pytest.mark.parametrize(
    ("encoding", "data"),
    [
        ("gzip", b"\xff" * 64),  # not compressed at all
        ("deflate", b"\xff" * 64),  # neither zlib-wrapped nor raw deflate
        # Labelled gzip, compressed otherwise: browsers refuse these too.
        ("gzip", zlib.compress(PAGE)),
        ("gzip", raw_deflate(PAGE)),
    ],
)
async def test_bodies_their_encoding_cannot_decode_are_refused(
    server: LocalServer, encoding: str, data: bytes
) -> None:
    server.route(
        "/", headers=[("Content-Type", "text/html"), ("Content-Encoding", encoding)], body=data
    )
    assert await fetch_error(open_config(server.port), server.url("/")) == "bad encoding"


async def test_a_deflate_body_that_breaks_after_its_start_is_refused(server: LocalServer) -> None:
    # Raw deflate is tried only at the start: a zlib body that goes wrong later is corrupt,
    # not raw deflate from there on. Here the zlib trailer (a checksum) is replaced by a raw
    # deflate stream, which read from scratch would add a paragraph to the page.
    zlib_body = zlib.compress(PAGE)[:-4]

    async def body() -> AsyncIterator[bytes]:
        yield zlib_body
        for _ in range(20):  # event-loop turns, so the client reads the parts one at a time
            await asyncio.sleep(0)
        yield raw_deflate(b"<p>appended</p>")

    server.route(
        "/",
        headers=[("Content-Type", "text/html"), ("Content-Encoding", "deflate")],
        body=body,
        framing="chunked",
    )
    assert await fetch_error(open_config(server.port), server.url("/")) == "bad encoding"


async def test_unrequested_encoding_is_refused(server: LocalServer) -> None:
    server.route(
        "/", headers=[("Content-Type", "text/html"), ("Content-Encoding", "br")], body=b"x"
    )
    assert await fetch_error(open_config(server.port), server.url("/")) == "bad encoding"


# --- deadlines and size limits -----------------------------------------------------------------


async def test_server_that_never_answers_hits_the_deadline(server: LocalServer) -> None:
    # Without the deadline this would wait forever: the server never answers.
    server.route("/", hang=True)
    assert await fetch_error(open_config(server.port, timeout_s=1.0), server.url("/")) == "timeout"


async def test_slow_drip_is_cut_at_the_total_deadline(server: LocalServer) -> None:
    # One byte every 0.1 s: each read is quick, so only the total deadline can stop it.
    server.route("/", body=[b"<html>", *([b"x"] * 600)], delay=0.1, framing="chunked")
    assert await fetch_error(open_config(server.port, timeout_s=1.0), server.url("/")) == "timeout"
    # Cut after about a second's worth of the 60-second drip.
    assert server.body_bytes_sent < 100


async def test_50_mib_stream_is_refused_without_reading_it_all(server: LocalServer) -> None:
    server.route("/", body=repeated(b"<p>" + b"x" * (64 * 1024 - 3), 800), framing="chunked")
    assert await fetch_error(open_config(server.port), server.url("/")) == "too large"
    sent = server.body_bytes_sent
    print(f"50 MiB stream: refused after the server sent {sent / MiB:.1f} MiB (cap 2 MiB)")
    # What the client read is at most the cap; the rest is what loopback socket buffers held.
    assert sent < 20 * MiB


async def test_declared_length_over_the_cap_is_refused_before_reading(server: LocalServer) -> None:
    # The body would only start after a minute: refused from the header alone, the fetch ends
    # before a byte of it is sent (reading it instead would end at the fetch deadline).
    body = repeated(b"x" * (64 * 1024), 800)
    server.route("/", body=body, content_length=50 * MiB, delay=60)
    assert await fetch_error(open_config(server.port), server.url("/")) == "too large"
    assert server.body_bytes_sent == 0


@pytest.mark.parametrize("framing", ["length", "chunked"])
async def test_a_page_of_exactly_max_bytes_is_read_and_one_byte_more_is_not(
    server: LocalServer, framing: str
) -> None:
    page = b"<html>" + b"x" * 994
    server.route("/full", body=page, framing=framing)
    server.route("/over", body=page + b"x", framing=framing)
    config = open_config(server.port, max_bytes=1000)
    async with fetcher(config) as f:
        assert (await f.fetch(server.url("/full"))).html == page.decode()
    assert await fetch_error(config, server.url("/over")) == "too large"


async def test_length_that_understates_the_body_reads_only_what_it_declared(
    server: LocalServer,
) -> None:
    body = b"<html>" + b"y" * (10 * 1000 * 1000)
    server.route(
        "/", body=[body[i : i + 65536] for i in range(0, len(body), 65536)], content_length=100
    )
    async with fetcher(open_config(server.port)) as f:
        page = await f.fetch(server.url("/"))
    assert page.html == body[:100].decode()


async def test_length_that_overstates_the_body_does_not_hang(server: LocalServer) -> None:
    server.route("/big", body=b"<html>1234", content_length=10 * 1000 * 1000)
    server.route("/small", body=b"<html>1234", content_length=1000)
    config = open_config(server.port, timeout_s=1.0)
    assert await fetch_error(config, server.url("/big")) == "too large"
    # The server closes after 10 of 1000 bytes: a truncated body, not a page.
    assert await fetch_error(config, server.url("/small")) == "bad response"


async def refusal_and_memory_growth(f: Fetcher, url: str) -> tuple[str, int]:
    """The reason a fetch of ``url`` is refused, and how far traced memory rose above where
    it started while the fetcher read it."""
    tracemalloc.start()
    try:
        baseline, _ = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        with pytest.raises(FetchError) as caught:
            await f.fetch(url)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return caught.value.reason, peak - baseline


def gzip_bomb(gib: int = 1) -> bytes:
    """``gib`` GiB of zeros as one valid gzip member of ~1 MiB, built in well under a second.

    Each 1 MiB block is compressed after a full flush, so every block after the first compresses
    to the same bytes and can be repeated instead of recompressed.
    """
    block = bytes(MiB)
    squeeze = zlib.compressobj(9, zlib.DEFLATED, 31)
    first = squeeze.compress(block) + squeeze.flush(zlib.Z_FULL_FLUSH)
    unit = squeeze.compress(block) + squeeze.flush(zlib.Z_FULL_FLUSH)
    blocks = 1024 * gib
    crc = 0
    for _ in range(blocks):
        crc = zlib.crc32(block, crc)
    final = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS).flush()  # empty last block
    return first + unit * (blocks - 1) + final + struct.pack("<II", crc, (blocks * MiB) % 2**32)


async def test_gzip_bomb_is_cut_after_max_bytes_with_bounded_memory(server: LocalServer) -> None:
    bomb = gzip_bomb()
    headers = [("Content-Type", "text/html"), ("Content-Encoding", "gzip")]
    # Sent in 256 KiB writes so the client sees big reads (each ~256 MiB if inflated whole).
    server.route(
        "/",
        headers=headers,
        body=[bomb[i : i + 256 * 1024] for i in range(0, len(bomb), 256 * 1024)],
    )
    async with fetcher(open_config(server.port)) as f:
        reason, growth = await refusal_and_memory_growth(f, server.url("/"))
    print(
        f"gzip bomb: {len(bomb) / MiB:.2f} MiB on the wire, 1 GiB inflated; "
        f"peak memory growth {growth / MiB:.2f} MiB (cap 2 MiB)"
    )
    assert reason == "too large"
    assert growth < 16 * MiB


async def test_a_compressed_page_past_the_cap_never_holds_much_more_than_the_cap(
    server: LocalServer,
) -> None:
    """Each step inflates only what could still fit under the cap (plus the one byte that
    proves it is over): a page of text that turns into a bomb past the cap costs about the
    cap in memory, not the cap again on top of what was already read."""
    cap = MiB
    letters = bytes(range(ord("a"), ord("z") + 1)) + b" " * 6
    text = b"<html>" + random.Random(0).randbytes(cap - 4096).translate(letters * 8)
    squeeze = zlib.compressobj(6, zlib.DEFLATED, 31)
    body = squeeze.compress(text)
    body += b"".join(squeeze.compress(bytes(MiB)) for _ in range(16)) + squeeze.flush()
    server.route(
        "/",
        headers=[("Content-Type", "text/html"), ("Content-Encoding", "gzip")],
        body=[body[i : i + 64 * 1024] for i in range(0, len(body), 64 * 1024)],
    )
    async with fetcher(open_config(server.port, max_bytes=cap)) as f:
        reason, growth = await refusal_and_memory_growth(f, server.url("/"))
    assert reason == "too large"
    assert growth < 2 * cap


# --- content types and charsets ----------------------------------------------------------------


@pytest.mark.parametrize("content_type", ["image/png", "application/json", "text/plain"])
async def test_non_html_content_types_are_refused(server: LocalServer, content_type: str) -> None:
    server.route("/", headers=[("Content-Type", content_type)], body=PAGE)
    assert await fetch_error(open_config(server.port), server.url("/")) == "not html"


@pytest.mark.parametrize(
    "content_type",
    ["text/html; charset=utf-8; profile=news", "text/html;charset=utf-8;", "TEXT/HTML ; q=1"],
)
async def test_the_media_type_is_what_comes_before_the_parameters(
    server: LocalServer, content_type: str
) -> None:
    server.route("/", headers=[("Content-Type", content_type)], body=PAGE)
    async with fetcher(open_config(server.port)) as f:
        page = await f.fetch(server.url("/"))
    assert (page.content_type, page.html) == ("text/html", PAGE.decode())


async def test_missing_content_type_is_sniffed(server: LocalServer) -> None:
    server.route("/page", headers=[], body=b"\n  <!DOCTYPE html><html><body>hi</body></html>")
    server.route("/png", headers=[], body=b"\x89PNG\r\n\x1a\n" + bytes(100))
    async with fetcher(open_config(server.port)) as f:
        page = await f.fetch(server.url("/page"))
        assert (page.content_type, "hi" in page.html) == ("text/html", True)
        with pytest.raises(FetchError, match="not html"):
            await f.fetch(server.url("/png"))


@pytest.mark.parametrize(
    "body",
    [
        # HTML5 lets a page leave out <html>: a doctype after a BOM and blank lines is enough.
        b"\xef\xbb\xbf\r\n\t <!DOCTYPE html><head><title>t</title></head><body>hi</body>",
        b"<!doctype html><title>t</title><p>hi",
        # No doctype: an <html> tag anywhere near the start, in any case.
        b"<?xml version='1.0'?>\n<HTML><BODY>hi</BODY></HTML>",
    ],
)
async def test_pages_without_a_content_type_are_read_when_they_look_like_html(
    server: LocalServer, body: bytes
) -> None:
    server.route("/", headers=[], body=body)
    async with fetcher(open_config(server.port)) as f:
        page = await f.fetch(server.url("/"))
    assert (page.content_type, "hi" in page.html) == ("text/html", True)


@pytest.mark.parametrize(
    "body",
    [
        b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj",
        b"plain text that mentions <!doctype html> later on",
        b"XX<!doctype html> in a text file: a doctype counts only at the start",
        b"x" * 1024 + b"<html><body>too late to count</body></html>",
    ],
)
async def test_pages_without_a_content_type_that_do_not_look_like_html_are_refused(
    server: LocalServer, body: bytes
) -> None:
    server.route("/", headers=[], body=body)
    assert await fetch_error(open_config(server.port), server.url("/")) == "not html"


@pytest.mark.parametrize(
    ("content_type", "body", "expected"),
    [
        # A latin-1 label decodes as windows-1252, as browsers do.
        ("text/html; charset=ISO-8859-1", "<html>café – ok</html>".encode("cp1252"), "café – ok"),
        ("text/html", '<html><meta charset="windows-1251">Привет'.encode("cp1251"), "Привет"),
        (
            "text/html",
            '<html><meta http-equiv="Content-Type" content="text/html; charset=koi8-r">Мир'.encode(
                "koi8-r"
            ),
            "Мир",
        ),
        ("text/html; charset=x-nonsense", "<html>naïve".encode(), "naïve"),
        ("text/html; charset=zlib", "<html>plain ünïcode".encode(), "plain ünïcode"),
        ('text/html; charset="utf-8"', b"<html>bad \xff byte", "bad \ufffd byte"),
        ("text/html", b"\xef\xbb\xbf<html>bom \xc3\xa9", "bom é"),
        ("text/html", b'<html><meta charset="utf-16">ascii', "ascii"),
        ("text/html", b"<html>no charset \xc3\xa9 \xe9", "no charset é \ufffd"),
        # A UTF-16 byte order mark, either way round, decides over everything else.
        ("text/html", b"\xff\xfe" + "<html>little é".encode("utf-16-le"), "little é"),
        ("text/html", b"\xfe\xff" + "<html>big é".encode("utf-16-be"), "big é"),
        # A bad byte after a BOM costs that character, not the page.
        ("text/html", b"\xef\xbb\xbf<html>bom \xff byte", "bom \ufffd byte"),
        # A <meta> read as ASCII claims no 32-bit encoding either; an unknown label is ignored.
        ("text/html", b'<html><meta charset="utf-32">ascii', "ascii"),
        ("text/html", '<html><meta charset="x-nonsense">naïve'.encode(), "naïve"),
        # A header naming a codec that is no charset (zlib) leaves the page's <meta> to decide.
        (
            "text/html; charset=zlib",
            '<html><meta charset="windows-1251">Привет'.encode("cp1251"),
            "Привет",
        ),
        # A byte the page's charset leaves undefined costs that character, not the charset.
        (
            "text/html; charset=windows-1251",
            "<html>Привет ".encode("cp1251") + b"\x98",
            "Привет \ufffd",
        ),
    ],
)
async def test_charsets(server: LocalServer, content_type: str, body: bytes, expected: str) -> None:
    server.route("/", headers=[("Content-Type", content_type)], body=body)
    async with fetcher(open_config(server.port)) as f:
        assert expected in (await f.fetch(server.url("/"))).html


async def test_a_charset_that_cannot_decode_a_page_falls_back_to_utf8_and_says_so(
    server: LocalServer, caplog: pytest.LogCaptureFixture
) -> None:
    # "idna" is a text codec, but one that refuses errors="replace" on a non-ASCII byte.
    server.route(
        "/", headers=[("Content-Type", "text/html; charset=idna")], body="<html>é".encode()
    )
    with caplog.at_level(logging.DEBUG, logger="bot.fetch"):
        async with fetcher(open_config(server.port)) as f:
            assert (await f.fetch(server.url("/"))).html == "<html>é"
    assert "charset idna failed, falling back to utf-8" in caplog.messages


# --- redirects ---------------------------------------------------------------------------------


async def test_redirect_loop_is_detected(server: LocalServer) -> None:
    server.redirect("/a", "/b")
    server.redirect("/b", server.url("/a"))
    server.redirect("/self", "/self")
    assert await fetch_error(open_config(server.port), server.url("/a")) == "redirect loop"
    assert await fetch_error(open_config(server.port), server.url("/self")) == "redirect loop"
    assert server.paths() == ["/a", "/b", "/self"]


async def test_a_loop_that_does_not_come_back_to_the_start_is_detected(server: LocalServer) -> None:
    server.redirect("/in", "/x")
    server.redirect("/x", "/y")
    server.redirect("/y", "/x")
    assert await fetch_error(open_config(server.port), server.url("/in")) == "redirect loop"
    assert server.paths() == ["/in", "/x", "/y"]


def chain(server: LocalServer, hops: int) -> str:
    for i in range(hops):
        # Relative, absolute and scheme-relative Locations, all resolved against the current URL.
        location = [
            f"/hop{i + 1}",
            server.url(f"/hop{i + 1}"),
            f"hop{i + 1}",
            f"//{server.host}:{server.port}/hop{i + 1}",
        ][i % 4]
        server.redirect(f"/hop{i}", location, status=(301, 302, 303, 307, 308)[i % 5])
    server.route(f"/hop{hops}", body=PAGE)
    return server.url("/hop0")


async def test_five_redirects_are_followed(server: LocalServer) -> None:
    url = chain(server, 5)
    async with fetcher(open_config(server.port)) as f:
        page = await f.fetch(url)
    assert page.final_url == server.url("/hop5")
    assert page.redirects == tuple(server.url(f"/hop{i}") for i in range(1, 6))
    assert len(server.requests) == 6


async def test_six_redirects_are_refused(server: LocalServer) -> None:
    url = chain(server, 6)
    assert await fetch_error(open_config(server.port), url) == "too many redirects"
    assert "/hop6" not in server.paths()


@pytest.mark.parametrize(
    ("location", "reason"),
    [
        (None, "bad redirect"),
        ("", "bad redirect"),
        ("   ", "bad redirect"),
        ("file:///etc/passwd", "bad redirect"),
        ("ftp://example.com/x", "bad redirect"),
        ("data:text/html,<h1>x</h1>", "bad redirect"),
        ("javascript:alert(1)", "bad redirect"),
        ("gopher://127.0.0.1:6379/_INFO", "bad redirect"),
        ("http://user:pw@example.com/", "bad url"),
        ("//user@example.com/", "bad url"),
        ("http://example.com:22/", "blocked port"),
        ("http://example.com/" + "a" * 2100, "bad redirect"),
    ],
)
async def test_bad_redirects(server: LocalServer, location: str | None, reason: str) -> None:
    server.redirect("/", location)
    assert await fetch_error(open_config(server.port), server.url("/")) == reason
    assert server.paths() == ["/"]


async def test_a_redirect_with_an_empty_login_is_refused(server: LocalServer) -> None:
    # "http://@host/" has no credentials left once parsed, but the "@" is the phishing trick.
    server.redirect("/", f"http://@127.0.0.1:{server.port}/inside")
    server.route("/inside", body=PAGE)
    assert await fetch_error(open_config(server.port), server.url("/")) == "bad url"
    assert server.paths() == ["/"]


async def test_a_redirect_at_the_length_limit_is_followed(server: LocalServer) -> None:
    base = server.url("/")
    location = base + "b" * (FetchConfig().max_url_length - len(base))
    server.redirect("/", location)
    server.route(location[len(base) - 1 :], body=PAGE)
    async with fetcher(open_config(server.port)) as f:
        page = await f.fetch(base)
    assert page.final_url == location


# --- URLs refused before any request -----------------------------------------------------------


@pytest.mark.parametrize(
    ("template", "reason"),
    [
        ("http://user@127.0.0.1:{port}/", "bad url"),
        ("http://user:secret@127.0.0.1:{port}/", "bad url"),
        ("http://@127.0.0.1:{port}/", "bad url"),
        ("http://127.0.0.1:22/", "blocked port"),
        ("http://127.0.0.1:{port}/" + "a" * 2048, "bad url"),
        ("ftp://127.0.0.1:{port}/", "bad url"),
        ("file:///etc/passwd", "bad url"),
        ("http://127.0.0.1:{port}\\@evil.test/", "bad url"),
        ("http://ex%41mple.test:{port}/", "bad url"),
        ("http://999.0.0.1:{port}/", "bad url"),
        # Numbers httpx takes for a name, but a browser for a bad address.
        ("http://1.2.3.4.5:{port}/", "bad url"),
        ("http://example.0x:{port}/", "bad url"),
        ("http:///nohost", "bad url"),
        ("not a url", "bad url"),
    ],
)
async def test_urls_refused_before_any_request(
    server: LocalServer, template: str, reason: str
) -> None:
    server.route("/", body=PAGE)
    url = template.format(port=server.port)
    assert await fetch_error(open_config(server.port), url) == reason
    assert server.connections == 0


async def test_url_at_the_length_limit_is_fetched(server: LocalServer) -> None:
    base = server.url("/")
    url = base + "a" * (2048 - len(base))
    server.route(url[len(base) - 1 :], body=PAGE)
    async with fetcher(open_config(server.port)) as f:
        assert (await f.fetch(url)).status == 200


# --- the address guard: pure checks ------------------------------------------------------------

BLOCKED = [
    "127.0.0.1",
    "127.255.255.254",
    "0.0.0.0",
    "0.1.2.3",
    "10.0.0.1",
    "10.255.255.255",
    "100.64.0.1",
    "100.127.255.254",
    "169.254.169.254",
    "169.254.0.1",
    "172.16.0.1",
    "172.31.255.255",
    "192.0.0.170",
    "192.0.2.1",
    "192.88.99.1",
    "192.168.1.1",
    "198.18.0.1",
    "198.19.255.255",
    "198.51.100.7",
    "203.0.113.9",
    "224.0.0.1",
    "239.255.255.250",
    "240.0.0.1",
    "255.255.255.255",
    "::",
    "::1",
    "::ffff:127.0.0.1",
    "::ffff:169.254.169.254",
    "::ffff:10.0.0.1",
    "::127.0.0.1",
    "::10.0.0.1",
    "::8.8.8.8",
    "::ffff:0:7f00:1",
    "64:ff9b::7f00:1",
    "64:ff9b::a9fe:a9fe",
    "64:ff9b:1::808:808",
    "2002:7f00:1::",
    "2002:808:808::1",
    "2001::1",
    "2001:0:4136:e378::1",
    "2001:db8::1",
    "3fff::1",
    "100::1",
    "fc00::1",
    "fd12:3456::1",
    "fec0::1",
    "fe80::1",
    "fe80::1%eth0",
    "ff02::1",
    "ff05::1:3",
    "4000::1",
    "not an address",
    "",
]
ALLOWED = [
    "8.8.8.8",
    "1.1.1.1",
    "93.184.215.14",
    "100.63.255.255",
    "100.128.0.0",
    "172.15.255.255",
    "172.32.0.0",
    "192.0.1.1",
    "198.17.255.255",
    "223.255.255.255",
    "2606:4700:4700::1111",
    "2a00:1450:4001:80b::200e",
    "::ffff:8.8.8.8",
    "64:ff9b::808:808",
    "2001:4860:4860::8888",
]


@pytest.mark.parametrize("address", BLOCKED)
def test_blocked_addresses(address: str) -> None:
    assert is_blocked_address(address)


@pytest.mark.parametrize("address", ALLOWED)
def test_public_addresses(address: str) -> None:
    assert not is_blocked_address(address)
    assert not is_blocked_address(ipaddress.ip_address(address))


def test_allowed_networks_open_only_what_they_name() -> None:
    loopback = [ipaddress.ip_network("127.0.0.0/8")]
    assert not is_blocked_address("127.0.0.1", loopback)
    assert not is_blocked_address("::ffff:127.0.0.1", loopback)  # judged by the embedded IPv4
    assert is_blocked_address("::1", loopback)
    assert is_blocked_address("10.0.0.1", loopback)
    assert is_blocked_address("169.254.169.254", ["127.0.0.0/8", "10.0.0.0/8"])
    assert not is_blocked_address("fd00::1", ["fd00::/8"])


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("2130706433", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("0x7f000001", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("127.000.000.001", "127.0.0.1"),
        ("127.0.0.1.", "127.0.0.1"),
        ("0", "0.0.0.0"),
        ("0x", "0.0.0.0"),  # WHATWG: "0x" with no digits is zero
        ("0x7f.0x.0X.1", "127.0.0.1"),
        ("0.", "0.0.0.0"),
        ("255.255.255.255", "255.255.255.255"),
        ("1.255.65535", "1.255.255.255"),
        ("", None),
        ("0xa9.0xfe.0xa9.0xfe", "169.254.169.254"),
        ("1.16777215", "1.255.255.255"),  # the last number fills the bytes the others leave
        ("1.", "0.0.0.1"),
        ("::ffff:127.0.0.1", "::ffff:7f00:1"),
        ("example.com", None),
        ("1x.example", None),
    ],
)
def test_host_address_reads_every_ipv4_spelling(host: str, expected: str | None) -> None:
    result = host_address(host)
    assert (None if result is None else str(result)) == expected


@pytest.mark.parametrize(
    "host",
    [
        *("999.1.1.1", "1.256.0.1", "1.2.256.1", "1.2.3.256", "1.2.65536", "1.16777216"),
        *("1.2.3.4.5", "1.2.3.4.0", "08.1", "0x1.08", "example.0x"),
    ],
)
def test_host_address_refuses_invalid_numbers(host: str) -> None:
    with pytest.raises(ValueError):
        host_address(host)


# --- the address guard, end to end -------------------------------------------------------------

LOOPBACK_SPELLINGS = [
    "http://2130706433:{port}/secret",
    "http://0x7f.1:{port}/secret",
    "http://0x7f000001:{port}/secret",
    "http://127.1:{port}/secret",
    "http://127.0.0.1:{port}/secret",
    "http://127.0.0.1.:{port}/secret",
    "http://0:{port}/secret",
    "http://0x:{port}/secret",
    "http://0x7f.0x.0x.1:{port}/secret",
    "http://0.0.0.0:{port}/secret",
    "http://[::ffff:127.0.0.1]:{port}/secret",
    "http://[::ffff:7f00:1]:{port}/secret",
    "http://[::1]:{port}/secret",
    "http://[::]:{port}/secret",
    "http://localhost:{port}/secret",
    "http://LOCALHOST.:{port}/secret",
    "http://api.localhost:{port}/secret",
]
# Spellings httpx itself rejects as malformed IPv4 (leading zeros): refused as bad URLs.
MALFORMED_LOOPBACK = ["http://0177.0.0.1:{port}/secret", "http://127.000.000.001:{port}/secret"]


@pytest.fixture
async def internal() -> AsyncIterator[LocalServer]:
    """A server standing for the operator's internal service: no test may reach it."""
    async with LocalServer() as running:
        running.route("/secret", body=b"<html>internal secrets</html>")
        yield running


@pytest.mark.parametrize("template", LOOPBACK_SPELLINGS + MALFORMED_LOOPBACK)
async def test_loopback_spellings_are_refused(internal: LocalServer, template: str) -> None:
    url = template.format(port=internal.port)
    expected = "bad url" if template in MALFORMED_LOOPBACK else "blocked address"
    assert await fetch_error(closed_config(internal.port), url) == expected
    assert (internal.connections, internal.requests) == (0, [])


@pytest.fixture
async def outer() -> AsyncIterator[LocalServer]:
    """A server standing for a public site: on 127.0.0.2, the one address the tests open."""
    try:
        running = await LocalServer(host="127.0.0.2").start()
    except OSError:
        pytest.skip("127.0.0.2 is not usable as a loopback address here")
    try:
        yield running
    finally:
        await running.close()


def outer_config(outer: LocalServer, internal: LocalServer) -> FetchConfig:
    return open_config(outer.port, internal.port, allowed_private_networks=("127.0.0.2/32",))


@pytest.mark.parametrize("template", LOOPBACK_SPELLINGS + MALFORMED_LOOPBACK)
async def test_redirects_to_loopback_spellings_are_refused(
    outer: LocalServer, internal: LocalServer, template: str
) -> None:
    outer.redirect("/go", template.format(port=internal.port))
    reason = await fetch_error(outer_config(outer, internal), outer.url("/go"))
    assert reason == ("bad redirect" if template in MALFORMED_LOOPBACK else "blocked address")
    assert outer.paths() == ["/go"]
    assert (internal.connections, internal.requests) == (0, [])


NON_LOOPBACK = [
    "169.254.169.254",
    "10.0.0.1",
    "172.16.5.4",
    "192.168.0.1",
    "100.64.0.1",
    "0.0.0.0",
    "224.0.0.251",
    "255.255.255.255",
    "198.18.0.1",
    "fd00::1",
    "fe80::1",
    "::ffff:10.0.0.1",
    "::ffff:169.254.169.254",
    "64:ff9b::a9fe:a9fe",
    "2002:a00:1::1",
    "2001::1",
    "fec0::1",
]


@pytest.mark.parametrize("address", NON_LOOPBACK)
async def test_names_resolving_to_blocked_addresses_are_refused_before_connecting(
    tripwire: NetworkTripwire, caplog: pytest.LogCaptureFixture, address: str
) -> None:
    resolver = fake_resolver({"evil.test": [address]})
    with caplog.at_level(logging.WARNING, logger="bot.fetch"):
        reason = await fetch_error(closed_config(80), "http://evil.test/", resolver)
    assert reason == "blocked address"
    assert tripwire.connects == []
    # The operator's log says which name led where (an IPv6 address as ipaddress writes it).
    shown = ipaddress.ip_address(address)
    assert caplog.messages == [f"refused evil.test: resolves to blocked address {shown}"]


@pytest.mark.parametrize("address", NON_LOOPBACK)
async def test_redirects_to_names_resolving_to_blocked_addresses_are_refused(
    tripwire: NetworkTripwire, outer: LocalServer, internal: LocalServer, address: str
) -> None:
    resolver = fake_resolver({"evil.test": [address], "outer.test": ["127.0.0.2"]})
    outer.redirect("/go", f"http://evil.test:{outer.port}/latest/meta-data/")
    config = outer_config(outer, internal)
    assert (
        await fetch_error(config, outer.url("/go", host="outer.test"), resolver)
        == "blocked address"
    )
    assert outer.paths() == ["/go"]
    assert all(addr[0] == "127.0.0.2" for addr in tripwire.connects)


async def test_one_blocked_answer_refuses_the_whole_name(internal: LocalServer) -> None:
    # A rebinding trick: one good-looking answer beside an internal one.
    resolver = fake_resolver({"mixed.test": ["127.0.0.1", "8.8.8.8"]})
    url = f"http://mixed.test:{internal.port}/secret"
    assert await fetch_error(closed_config(internal.port), url, resolver) == "blocked address"
    assert internal.connections == 0


async def test_guard_sits_on_the_connect_path(server: LocalServer) -> None:
    """The proof the guard is where the socket opens: the same name, refused then fetched."""
    server.route("/", body=PAGE)
    calls: list[tuple[str, int]] = []

    async def resolver(host: str, port: int) -> list[str]:
        calls.append((host, port))
        return {"internal.test": ["127.0.0.1"]}[host]

    url = f"http://internal.test:{server.port}/"
    assert await fetch_error(closed_config(server.port), url, resolver) == "blocked address"
    assert (server.connections, server.requests) == (0, [])

    async with fetcher(open_config(server.port), resolver) as f:
        page = await f.fetch(url)
    assert page.final_url == url
    (request,) = server.requests
    assert request.headers["host"] == f"internal.test:{server.port}"
    # Resolved once per fetch, for the port connected to (the Resolver interface), then connected.
    assert calls == [("internal.test", server.port)] * 2


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for internal.test (cert, key), made with the openssl tool."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    command = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
    command += ["-subj", "/CN=internal.test", "-keyout", str(key), "-out", str(cert)]
    subprocess.run(command, check=True, capture_output=True)
    return cert, key


@pytest.mark.parametrize(
    ("template", "ports", "reason"),
    [
        ("http://127.0.0.1:{port}/", (80, 443), "blocked port"),
        # Five numbers: httpx takes it for a name; a browser (and the guard) for a bad address.
        ("http://1.2.3.4.5:{port}/", None, "bad url"),
    ],
)
async def test_the_client_alone_refuses_what_the_fetcher_refuses_first(
    tripwire: NetworkTripwire,
    server: LocalServer,
    template: str,
    ports: tuple[int, ...] | None,
    reason: str,
) -> None:
    """make_client's client is guarded where its sockets open, even used without a Fetcher
    (which checks ports and host spellings before any request)."""
    server.route("/", body=PAGE)
    client = make_client(open_config(*(ports or (server.port,))))
    try:
        with pytest.raises(FetchError) as caught:
            await client.get(template.format(port=server.port))
    finally:
        await client.aclose()
    assert caught.value.reason == reason
    assert (server.connections, tripwire.connects) == (0, [])


async def test_an_allowed_network_written_with_host_bits_opens_the_whole_network(
    server: LocalServer, tmp_path: Path
) -> None:
    # The config accepts "127.0.0.1/8" for 127.0.0.0/8, so the guard must read it the same way.
    path = tmp_path / "factbot.toml"
    path.write_text(
        f'[fetch]\nallowed_private_networks = ["127.0.0.1/8"]\nallowed_ports = [{server.port}]\n'
    )
    config = load_config(path, {}).fetch
    server.route("/", body=PAGE)
    async with fetcher(config) as f:
        assert (await f.fetch(server.url("/"))).html == PAGE.decode()


async def test_an_address_that_never_answers_costs_only_the_connect_timeout(
    server: LocalServer,
) -> None:
    """A name's first address drops connection attempts: after the connect timeout the fetch
    goes on to the next address, instead of spending the whole deadline on the first."""
    server.route("/", body=PAGE)
    blackhole = socket.socket()
    try:
        try:
            blackhole.bind(("127.0.0.3", server.port))
        except OSError:
            pytest.skip("127.0.0.3 is not usable as a loopback address here")
        # A listener whose accept queue is full silently drops new SYNs: one connection fills
        # a queue of length zero, and every later attempt waits for an answer that never comes.
        blackhole.listen(0)
        with socket.create_connection(("127.0.0.3", server.port), timeout=5):
            resolver = fake_resolver({"two.test": ["127.0.0.3", "127.0.0.1"]})
            config = open_config(server.port, connect_timeout_s=0.2, timeout_s=5.0)
            async with fetcher(config, resolver) as f:
                page = await f.fetch(server.url("/", host="two.test"))
    finally:
        blackhole.close()
    assert page.html == PAGE.decode()
    assert server.paths() == ["/"]


async def test_a_name_whose_addresses_all_refuse_fails_to_connect_after_trying_each(
    tripwire: NetworkTripwire,
) -> None:
    with socket.socket() as probe:  # a port nothing listens on, on either address
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    resolver = fake_resolver({"down.test": ["127.0.0.3", "127.0.0.1"]})
    url = f"http://down.test:{port}/"
    assert await fetch_error(open_config(port), url, resolver) == "connect failed"
    assert [address[:2] for address in tripwire.connects] == [
        ("127.0.0.3", port),
        ("127.0.0.1", port),
    ]


async def test_tls_uses_the_hostname_not_the_address(certificate: tuple[Path, Path]) -> None:
    """SNI and certificate checks are for the name in the URL, though the socket went to the
    address the guard checked. The server's certificate is self-signed, so the fetch fails, after
    the server has seen the name the client asked for."""
    cert, key = certificate
    server_names: list[str | None] = []
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert, key)
    tls.sni_callback = lambda _sock, name, _ctx: server_names.append(name)
    resolver = fake_resolver({"internal.test": ["127.0.0.1"]})
    async with LocalServer(tls=tls) as server:
        server.route("/", body=PAGE)
        url = server.url("/", host="internal.test")
        assert url.startswith("https://internal.test:")
        reason = await fetch_error(open_config(server.port), url, resolver)
    assert reason == "connect failed"  # certificate verification, as it should
    assert server_names == ["internal.test"]


async def test_unresolvable_names_fail_as_dns(
    server: LocalServer, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"http://nowhere.test:{server.port}/"
    with caplog.at_level(logging.DEBUG, logger="bot.fetch"):
        assert await fetch_error(open_config(server.port), url, fake_resolver({})) == "dns failed"
    # At debug level the operator sees why the name did not resolve.
    error = f"[Errno {socket.EAI_NONAME}] nowhere.test not in the test table"
    assert caplog.messages[0] == f"resolving nowhere.test failed: {error}"
    assert (
        await fetch_error(open_config(server.port), url, fake_resolver({"nowhere.test": []}))
        == "dns failed"
    )


async def test_resolver_garbage_is_refused(
    server: LocalServer, caplog: pytest.LogCaptureFixture
) -> None:
    resolver = fake_resolver({"odd.test": ["not-an-ip"]})
    url = f"http://odd.test:{server.port}/"
    with caplog.at_level(logging.WARNING, logger="bot.fetch"):
        assert await fetch_error(open_config(server.port), url, resolver) == "blocked address"
    assert caplog.messages == ["refused odd.test: resolver returned 'not-an-ip', not an address"]


async def test_the_default_resolver_answers_what_the_system_does() -> None:
    # Numeric loopback names are answered without DNS (the tripwire lets only those through).
    assert await system_resolver("127.0.0.1", 80) == ["127.0.0.1"]
    assert await system_resolver("127.0.0.2", 443) == ["127.0.0.2"]


async def test_the_guarded_backend_never_opens_a_unix_socket(tmp_path: Path) -> None:
    connections = 0

    def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        writer.close()

    path = str(tmp_path / "docker.sock")
    server = await asyncio.start_unix_server(accept, path)
    try:
        backend = GuardedBackend(fake_resolver({}), ["127.0.0.0/8"])
        with pytest.raises(FetchError) as caught:
            await backend.connect_unix_socket(path)
        assert caught.value.reason == "blocked address"
    finally:
        server.close()
        await server.wait_closed()
    assert connections == 0


async def test_the_guarded_backend_can_wait_between_retries() -> None:
    # httpcore waits through its network backend between connection retries.
    backend = GuardedBackend(fake_resolver({}))
    async with asyncio.timeout(5):
        assert await backend.sleep(0.001) is None


async def test_a_fetch_on_a_closed_client_says_so(server: LocalServer) -> None:
    server.route("/", body=PAGE)
    config = open_config(server.port)
    client = make_client(config)
    fetcher = Fetcher(client, config)
    await client.aclose()
    with pytest.raises(RuntimeError, match=r"^the HTTP client is closed$"):
        await fetcher.fetch(server.url("/"))
    assert server.connections == 0


async def test_failed_fetches_are_logged_for_the_operator(
    server: LocalServer, caplog: pytest.LogCaptureFixture
) -> None:
    server.route("/gone", status=404, body=b"gone")
    server.route("/short", body=b"<html>1234", content_length=1000)
    config = open_config(server.port)
    with caplog.at_level(logging.DEBUG, logger="bot.fetch"):
        assert await fetch_error(config, server.url("/gone")) == "http 404"
        assert await fetch_error(config, server.url("/short")) == "bad response"
    gone, short = caplog.messages
    assert gone == f"fetch of {server.url('/gone')} failed: http 404"
    # A transport failure is logged with the error's repr: what httpx says went wrong.
    assert re.fullmatch(
        rf"fetch of {re.escape(server.url('/short'))} failed: RemoteProtocolError\(.*1000.*\)",
        short,
    )


async def test_fetcher_refuses_an_unguarded_client() -> None:
    async with httpx.AsyncClient() as plain:
        message = r"^Fetcher needs a client from make_client\(\); others have no guard$"
        with pytest.raises(ValueError, match=message):
            Fetcher(plain, FetchConfig())


async def test_proxy_environment_is_ignored(
    server: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    server.route("/", body=PAGE)
    async with LocalServer() as proxy:
        for name in (
            "HTTP_PROXY",
            "HTTPS_PROXY",
            "ALL_PROXY",
            "http_proxy",
            "https_proxy",
            "all_proxy",
        ):
            monkeypatch.setenv(name, proxy.url("/"))
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        async with fetcher(open_config(server.port, proxy.port)) as f:
            await f.fetch(server.url("/"))
        assert proxy.connections == 0
    assert server.paths() == ["/"]


# --- concurrency -------------------------------------------------------------------------------


async def test_single_flight_shares_one_request(server: LocalServer) -> None:
    gate = asyncio.Event()
    server.route("/", body=PAGE, gate=gate)
    async with fetcher(open_config(server.port)) as f:
        async with asyncio.timeout(5):
            waiters = [asyncio.create_task(f.fetch(server.url("/"))) for _ in range(20)]
            await server.wait_for_requests(1)
            gate.set()
            pages = await asyncio.gather(*waiters)
    assert len(server.requests) == 1
    assert all(page is pages[0] for page in pages)


async def test_single_flight_shares_errors(server: LocalServer) -> None:
    gate = asyncio.Event()
    server.route("/", status=404, body=b"gone", gate=gate)
    async with fetcher(open_config(server.port)) as f:
        async with asyncio.timeout(5):
            waiters = [asyncio.create_task(f.fetch(server.url("/"))) for _ in range(5)]
            await server.wait_for_requests(1)
            gate.set()
            results = await asyncio.gather(*waiters, return_exceptions=True)
    assert [getattr(r, "reason", r) for r in results] == ["http 404"] * 5
    assert len(server.requests) == 1


async def test_cancelling_one_waiter_leaves_the_shared_fetch_running(server: LocalServer) -> None:
    gate = asyncio.Event()
    server.route("/", body=PAGE, gate=gate)
    async with fetcher(open_config(server.port)) as f:
        async with asyncio.timeout(5):
            first = asyncio.create_task(f.fetch(server.url("/")))
            second = asyncio.create_task(f.fetch(server.url("/")))
            await server.wait_for_requests(1)
            first.cancel()
            with pytest.raises(asyncio.CancelledError):
                await first
            gate.set()
            page = await second
    assert "hello" in page.html
    assert len(server.requests) == 1


async def test_per_host_cap(server: LocalServer) -> None:
    gate = asyncio.Event()
    server.route("/slow", body=PAGE, gate=gate)
    server.route("/fast", body=PAGE)
    resolver = fake_resolver({"a.test": ["127.0.0.1"], "b.test": ["127.0.0.1"]})

    def on_a() -> int:
        return sum(r.headers["host"].startswith("a.test") for r in server.requests)

    async with fetcher(open_config(server.port, max_per_host=2), resolver) as f:
        async with asyncio.timeout(5):
            slow = [
                asyncio.create_task(f.fetch(server.url(f"/slow?{i}", host="a.test")))
                for i in range(5)
            ]
            await server.wait_for_requests(2)
            # Another host is not held up by a.test's queue...
            await f.fetch(server.url("/fast", host="b.test"))
            # ...and by the time it is done, a.test still has only its two slots in use.
            assert on_a() == 2
            gate.set()
            await asyncio.gather(*slow)
    assert on_a() == 5
    assert server.peak_active <= 2 + 1  # two a.test, plus b.test for a moment


async def test_global_cap(server: LocalServer) -> None:
    gate = asyncio.Event()
    server.route("/slow", body=PAGE, gate=gate)
    resolver = fake_resolver({f"h{i}.test": ["127.0.0.1"] for i in range(6)})
    async with fetcher(open_config(server.port, max_concurrent=3), resolver) as f:
        async with asyncio.timeout(5):
            tasks = [
                asyncio.create_task(f.fetch(server.url("/slow", host=f"h{i}.test")))
                for i in range(6)
            ]
            await server.wait_for_requests(3)
            gate.set()
            await asyncio.gather(*tasks)
    assert len(server.requests) == 6
    assert server.peak_active == 3
