"""Fetching pages that strangers link to, without becoming a way into the operator's network.

The guard sits where sockets are opened: ``make_client`` builds an ``httpx.AsyncClient`` whose
httpcore connection pool connects through ``GuardedBackend``. That backend resolves the host once,
refuses if *any* resolved address is loopback, private, link-local, reserved or an IPv6 form
hiding one of those, and then connects to an address it checked (never resolving again, so DNS
rebinding has nothing to race). TLS still verifies and sends SNI for the hostname, because
httpcore passes the URL's host to ``start_tls``, not the address we connected to.

``Fetcher`` adds what a single request cannot know: redirects walked by hand with every hop
checked like the first, one deadline for the whole fetch, a cap on the decoded body (streamed
and inflated in bounded steps, so a gzip bomb never inflates in memory), HTML only, charset
detection that never raises, global and per-host concurrency caps, and single flight.
"""

from __future__ import annotations

import asyncio
import codecs
import ipaddress
import logging
import re
import socket
import weakref
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from http.cookiejar import DefaultCookiePolicy
from typing import Any

import httpcore
import httpx

log = logging.getLogger(__name__)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], Awaitable[list[str]]]


@dataclass(frozen=True)
class FetchConfig:
    timeout_s: float = 10.0  # total deadline per fetch, all hops and body included
    connect_timeout_s: float = 5.0
    max_bytes: int = 2 * 1024 * 1024  # decoded body cap
    max_redirects: int = 5
    allowed_ports: tuple[int, ...] = (80, 443)
    # The ONLY way to open the guard, e.g. ("127.0.0.0/8",) for tests against a local server.
    allowed_private_networks: tuple[str, ...] = ()
    max_concurrent: int = 8  # global cap on fetches in flight
    max_per_host: int = 2
    max_url_length: int = 2048
    user_agent: str = "factbot/0.1 (+link preview; fact-check bot)"


class FetchError(Exception):
    """A page could not be fetched; ``reason`` is short and stable (it is cached and shown).

    Reasons: "blocked address", "blocked port", "bad url", "timeout", "too large", "not html",
    "too many redirects", "redirect loop", "bad redirect", "http <status>", "connect failed",
    "dns failed", "bad response" (protocol error, truncated body), "bad encoding" (a
    Content-Encoding we did not ask for, or a corrupt compressed body).
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class FetchedPage:
    url: str  # as requested
    final_url: str  # after redirects
    status: int
    content_type: str  # media type without parameters, e.g. "text/html"
    html: str  # decoded text
    redirects: tuple[str, ...]  # every URL redirected to, in order (the last is final_url)


# --- the address guard -------------------------------------------------------------------------

# Explicit lists: ipaddress.is_global/is_private changed meaning between Python versions.
_BLOCKED_V4 = tuple(
    ipaddress.IPv4Network(n)
    for n in (
        "0.0.0.0/8",  # "this network"; connecting to 0.0.0.0 reaches the local host on Linux
        "10.0.0.0/8",
        "100.64.0.0/10",  # carrier-grade NAT
        "127.0.0.0/8",
        "169.254.0.0/16",  # link-local, including the 169.254.169.254 cloud metadata service
        "172.16.0.0/12",
        "192.0.0.0/24",  # IETF protocol assignments
        "192.0.2.0/24",  # documentation
        "192.88.99.0/24",  # 6to4 relay anycast
        "192.168.0.0/16",
        "198.18.0.0/15",  # benchmarking
        "198.51.100.0/24",  # documentation
        "203.0.113.0/24",  # documentation
        "224.0.0.0/4",  # multicast
        "240.0.0.0/4",  # reserved, including broadcast 255.255.255.255
    )
)
_BLOCKED_V6 = tuple(
    ipaddress.IPv6Network(n)
    for n in (
        "::/96",  # unspecified, loopback and IPv4-compatible ::a.b.c.d (deprecated)
        "::ffff:0:0:0/96",  # SIIT IPv4-translated
        "64:ff9b:1::/48",  # local-use NAT64: what it translates to is the operator's business
        "100::/64",  # discard
        "2001::/32",  # Teredo: tunnels to an IPv4 address we cannot check
        "2001:2::/48",  # benchmarking
        "2001:10::/28",  # ORCHID
        "2001:20::/28",  # ORCHIDv2
        "2001:db8::/32",  # documentation
        "2002::/16",  # 6to4: embeds an IPv4 address; refused whole rather than decoded
        "3fff::/20",  # documentation (RFC 9637)
        "fc00::/7",  # unique local
        "fec0::/10",  # site-local (deprecated)
        "fe80::/10",  # link-local
        "ff00::/8",  # multicast
    )
)
# Everything reachable on the IPv6 internet is global unicast; anything else is refused whole.
_GLOBAL_UNICAST_V6 = ipaddress.IPv6Network("2000::/3")
_NAT64_WELL_KNOWN = ipaddress.IPv6Network("64:ff9b::/96")


def _as_network(value: IPNetwork | str) -> IPNetwork:
    # Not strict: "10.1.2.3/8" (which the config accepts) means 10.0.0.0/8.
    return ipaddress.ip_network(value, strict=False)


def _embedded_v4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv4-mapped or well-known-prefix NAT64 address really reaches."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64_WELL_KNOWN:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def is_blocked_address(
    ip: str | ipaddress.IPv4Address | ipaddress.IPv6Address,
    allowed: Sequence[IPNetwork | str] = (),
) -> bool:
    """Whether connecting to ``ip`` could reach something that is not the public internet.

    ``allowed`` networks are let through (an IPv4-mapped or NAT64 address is judged by the IPv4
    address it embeds). Anything that does not parse as an address is blocked: fail closed.
    """
    try:
        address: IPAddress = ipaddress.ip_address(ip)
    except ValueError:
        return True
    networks = [_as_network(n) for n in allowed]
    if isinstance(address, ipaddress.IPv6Address):
        address = ipaddress.IPv6Address(int(address))  # drop any %scope: it cannot unblock
        if any(address in n for n in networks):
            return False
        embedded = _embedded_v4(address)
        if embedded is None:
            return address not in _GLOBAL_UNICAST_V6 or any(address in n for n in _BLOCKED_V6)
        address = embedded
    if any(address in n for n in networks):
        return False
    return any(address in n for n in _BLOCKED_V4)


_NUMERIC_PART = re.compile(r"(0[xX][0-9a-fA-F]*|[0-9]+)")


def _parse_ipv4_number(part: str) -> int:
    if not _NUMERIC_PART.fullmatch(part):
        raise ValueError(part)
    if part[:2].lower() == "0x":
        return int(part[2:] or "0", 16)
    if part.startswith("0"):
        return int(part, 8)  # raises ValueError on 8 or 9, as inet_aton refuses them
    return int(part)


def host_address(host: str) -> IPAddress | None:
    """The address a URL host names literally, or None when it is a name to resolve.

    Follows the WHATWG URL rules browsers (and libc's inet_aton) use, so ``2130706433``,
    ``0x7f.1``, ``127.1`` and ``0`` are all addresses; a host that ends in a number but is not
    a valid address raises ValueError rather than being sent to DNS.
    """
    if ":" in host:
        return ipaddress.IPv6Address(host)  # a URL's raw host, without the brackets
    parts = host.split(".")
    if parts[-1] == "":
        parts.pop()  # one trailing dot is allowed: "127.0.0.1." is still an address
    if not parts or not _NUMERIC_PART.fullmatch(parts[-1]):
        return None
    if len(parts) > 4:
        raise ValueError(host)
    numbers = [_parse_ipv4_number(p) for p in parts]
    if any(n > 255 for n in numbers[:-1]) or numbers[-1] >= 256 ** (5 - len(numbers)):
        raise ValueError(host)
    value = numbers[-1]
    for i, n in enumerate(numbers[:-1]):
        value += n << (8 * (3 - i))
    return ipaddress.IPv4Address(value)


def _is_localhost_name(host: str) -> bool:
    # RFC 6761: these always mean this machine; never ask DNS, which might say otherwise.
    # (A host here passed _checked_url: at most one trailing dot.)
    name = host.lower().removesuffix(".")
    return name == "localhost" or name.endswith(".localhost")


async def system_resolver(host: str, port: int) -> list[str]:
    """The addresses the operating system resolves ``host`` to (the default resolver)."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


# Addresses tried in turn when a host has several; a cap so a long DNS answer is not a tarpit.
_MAX_CONNECT_ATTEMPTS = 3


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """An httpcore network backend that connects only to addresses it has checked."""

    def __init__(
        self,
        resolver: Resolver,
        allowed_networks: Iterable[IPNetwork | str] = (),
        allowed_ports: Iterable[int] = (80, 443),
        inner: httpcore.AsyncNetworkBackend | None = None,
    ) -> None:
        self._resolver = resolver
        self._allowed = tuple(_as_network(n) for n in allowed_networks)
        self._ports = frozenset(allowed_ports)
        self._inner = inner if inner is not None else httpcore.AnyIOBackend()

    async def checked_addresses(self, host: str, port: int) -> list[str]:
        """The addresses to connect to for ``host``; FetchError if any of them is refused."""
        if port not in self._ports:
            raise FetchError("blocked port")
        try:
            literal = host_address(host)
        except ValueError:
            raise FetchError("bad url") from None
        candidates: list[IPAddress]
        if literal is not None:
            candidates = [literal]
        elif _is_localhost_name(host):
            candidates = [ipaddress.IPv4Address("127.0.0.1"), ipaddress.IPv6Address("::1")]
        else:
            try:
                resolved = await self._resolver(host, port)
            except OSError as exc:
                log.debug("resolving %s failed: %s", host, exc)
                raise FetchError("dns failed") from None
            if not resolved:
                raise FetchError("dns failed")
            candidates = []
            for text in resolved:
                try:
                    candidates.append(ipaddress.ip_address(text))
                except ValueError:
                    log.warning("refused %s: resolver returned %r, not an address", host, text)
                    raise FetchError("blocked address") from None
        for address in candidates:
            if is_blocked_address(address, self._allowed):
                # Any bad answer refuses the host: a name resolving to both a public and a
                # private address is a rebinding trick, not a misconfiguration to work around.
                log.warning("refused %s: resolves to blocked address %s", host, address)
                raise FetchError("blocked address")
        return list(dict.fromkeys(str(a) for a in candidates))

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await self.checked_addresses(host, port)
        failure: Exception  # set by each failed attempt; checked_addresses is never empty
        for address in addresses[:_MAX_CONNECT_ATTEMPTS]:
            try:
                return await self._inner.connect_tcp(
                    address,
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        raise failure

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise FetchError("blocked address")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class _GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport with its connection pool rebuilt on the guarded backend.

    httpx has no hook for name resolution or for the network backend, so the pool it builds is
    replaced (before any connection exists) by one that connects only through ``backend``.
    """

    def __init__(self, backend: GuardedBackend, config: FetchConfig) -> None:
        super().__init__(trust_env=False, http1=True, http2=False)
        if not isinstance(getattr(self, "_pool", None), httpcore.AsyncConnectionPool):
            # If httpx ever renames this, fail at start-up instead of running unguarded.
            raise RuntimeError("httpx.AsyncHTTPTransport layout changed; cannot install guard")
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=config.max_concurrent,
            max_keepalive_connections=config.max_concurrent,
            keepalive_expiry=5.0,
            http1=True,
            http2=False,
            network_backend=backend,
        )


# The guarded transport of each client built by make_client. A Fetcher sends through it directly:
# a client's send() runs httpx's own redirect handling, which parses (and "repairs") every
# Location even when not following, and raises on hostile ones. A client not in this map was not
# built by make_client and has no guard, so a Fetcher refuses it.
_TRANSPORTS: weakref.WeakKeyDictionary[httpx.AsyncClient, _GuardedTransport] = (
    weakref.WeakKeyDictionary()
)


def make_client(config: FetchConfig, resolver: Resolver | None = None) -> httpx.AsyncClient:
    """The one HTTP client for fetching strangers' links; close it with ``aclose()``."""
    backend = GuardedBackend(
        resolver if resolver is not None else system_resolver,
        config.allowed_private_networks,
        config.allowed_ports,
    )
    transport = _GuardedTransport(backend, config)
    client = httpx.AsyncClient(
        transport=transport,
        trust_env=False,  # no proxies, netrc or CA bundle from the environment
        follow_redirects=False,  # Fetcher walks redirects itself, checking each hop
        timeout=httpx.Timeout(config.timeout_s, connect=config.connect_timeout_s),
        headers={
            "User-Agent": config.user_agent,
            "Accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.1",
            # Only encodings we can inflate in bounded steps (see _BoundedDecoder).
            "Accept-Encoding": "gzip, deflate",
        },
    )
    # One page must not set cookies that a later fetch for someone else sends back.
    client.cookies.jar.set_policy(DefaultCookiePolicy(allowed_domains=[]))
    _TRANSPORTS[client] = transport
    return client


# --- bodies ------------------------------------------------------------------------------------


class _BoundedDecoder:
    """Content-Encoding decoding that never produces more than it is asked for.

    httpx's own decoders inflate each network read whole: one 64 KiB read of a gzip bomb is
    ~64 MiB in memory. zlib's ``max_length`` bounds each step instead.
    """

    def __init__(self, encoding: str) -> None:
        self._encoding = encoding
        self._zlib: Any = None
        self._started = False
        if encoding == "gzip":
            self._zlib = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif encoding == "deflate":
            self._zlib = zlib.decompressobj()

    def decode(self, data: bytes, budget: int) -> bytes:
        """At most ``budget`` decoded bytes from ``data`` (``budget`` means "over the cap")."""
        if self._zlib is None:
            return data[:budget]
        try:
            out = bytes(self._zlib.decompress(data, budget))
        except zlib.error:
            if self._encoding == "deflate" and not self._started:
                # Many servers send raw deflate under the "deflate" name.
                self._started = True
                self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)
                return self.decode(data, budget)
            raise FetchError("bad encoding") from None
        self._started = self._started or bool(data)
        return out


_ENCODINGS = {"": "", "identity": "", "gzip": "gzip", "x-gzip": "gzip", "deflate": "deflate"}


def _body_decoder(content_encoding: str | None) -> _BoundedDecoder:
    encoding = _ENCODINGS.get((content_encoding or "").strip().lower())
    if encoding is None:
        raise FetchError("bad encoding")  # br, zstd or stacked encodings: we did not ask for them
    return _BoundedDecoder(encoding)


_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
_CHARSET_PARAM = re.compile(r"""charset\s*=\s*["']?\s*([^"';\s]+)""", re.IGNORECASE)
_META_CHARSET = re.compile(rb"""<meta[^>]*?charset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)""", re.I)
_CHARSET_NAME = re.compile(r"[A-Za-z0-9._:-]{1,40}")
# Browsers decode these labels as windows-1252 (WHATWG Encoding); so do we, for the same text.
_WINDOWS_1252_LABELS = frozenset(
    {"ascii", "us-ascii", "iso-8859-1", "iso8859-1", "latin1", "latin-1", "l1", "cp819"}
)
_BOMS = ((b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"))
_SNIFF_BYTES = 1024
_META_SCAN_BYTES = 2048


def _split_content_type(value: str | None) -> tuple[str, str | None]:
    if not value:
        return "", None
    media_type = value.partition(";")[0].strip().lower()
    match = _CHARSET_PARAM.search(value)
    return media_type, match.group(1) if match else None


def _looks_like_html(head: bytes) -> bool:
    start = head[:_SNIFF_BYTES].lstrip(b"\xef\xbb\xbf \t\r\n\f").lower()
    return start.startswith(b"<!doctype") or b"<html" in start


def _text_codec(label: str | None) -> str | None:
    """A Python codec for a charset label, or None when it is unknown or not a text encoding."""
    if not label or not _CHARSET_NAME.fullmatch(label):
        return None
    label = label.lower()
    if label in _WINDOWS_1252_LABELS:
        return "cp1252"
    try:
        info = codecs.lookup(label)
    except LookupError:
        return None
    # "zlib", "base64", "rot13" are codecs too, but not charsets: a page labelled with one is
    # read by its <meta> instead.
    if not info._is_text_encoding:
        return None
    return info.name


def decode_html(body: bytes, header_charset: str | None) -> str:
    """Decoded text: BOM, else Content-Type charset, else <meta>, else UTF-8; never raises."""
    for bom, bom_codec in _BOMS:
        if body.startswith(bom):
            return body[len(bom) :].decode(bom_codec, errors="replace")
    codec = _text_codec(header_charset)
    if codec is None:
        match = _META_CHARSET.search(body[:_META_SCAN_BYTES])
        if match is not None:
            meta_codec = _text_codec(match.group(1).decode("ascii"))
            # A <meta> claiming UTF-16 was read as ASCII, so it is not UTF-16 (WHATWG rule).
            if meta_codec is not None and not meta_codec.startswith(("utf-16", "utf-32")):
                codec = meta_codec
    if codec is not None:
        try:
            return body.decode(codec, errors="replace")
        except (LookupError, ValueError, TypeError):
            log.debug("charset %s failed, falling back to utf-8", codec)
    return body.decode("utf-8", errors="replace")


# --- the fetcher -------------------------------------------------------------------------------

_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_DEFAULT_PORTS = {"http": 80, "https": 443}
_AUTHORITY = re.compile(r"^(?:[A-Za-z][A-Za-z0-9+.-]*:)?//([^/?#]*)")
_HOST_NAME = re.compile(r"[a-z0-9_](?:[a-z0-9_-]*)(?:\.[a-z0-9_-]+)*\.?")
_CONTROL = re.compile(r"[\x00-\x1f\x7f\\]")


@dataclass
class _HostSlot:
    semaphore: asyncio.Semaphore
    users: int = 0


class Fetcher:
    """Fetches HTML pages within the limits of a FetchConfig; see the module docstring."""

    def __init__(self, client: httpx.AsyncClient, config: FetchConfig) -> None:
        transport = _TRANSPORTS.get(client)
        if transport is None:
            raise ValueError("Fetcher needs a client from make_client(); others have no guard")
        self._client = client
        self._transport = transport
        self.config = config
        self._global = asyncio.Semaphore(config.max_concurrent)
        self._hosts: dict[str, _HostSlot] = {}
        self._in_flight: dict[str, asyncio.Task[FetchedPage]] = {}

    async def fetch(self, url: str) -> FetchedPage:
        """The page at ``url`` after redirects; raises FetchError.

        Concurrent calls for the same URL share one fetch and its outcome. Cancelling a caller
        does not cancel the shared fetch (it still ends by the deadline).
        """
        start = self._checked_url(url)
        task = self._in_flight.get(url)
        if task is None:
            task = asyncio.create_task(self._fetch_within_deadline(url, start))
            self._in_flight[url] = task
            task.add_done_callback(lambda done: self._forget(url, done))
        return await asyncio.shield(task)

    def _forget(self, url: str, task: asyncio.Task[FetchedPage]) -> None:
        if self._in_flight.get(url) is task:
            del self._in_flight[url]
        if not task.cancelled():
            task.exception()  # retrieved here, so a fetch every caller abandoned logs no warning

    async def _fetch_within_deadline(self, url: str, start: httpx.URL) -> FetchedPage:
        try:
            # The deadline includes waiting for a slot: it bounds how long a caller waits.
            async with asyncio.timeout(self.config.timeout_s), self._global:
                return await self._follow(url, start)
        except FetchError as exc:
            log.debug("fetch of %s failed: %s", url, exc.reason)
            raise
        except (TimeoutError, httpx.TimeoutException):
            raise FetchError("timeout") from None
        except httpx.ConnectError:
            raise FetchError("connect failed") from None
        except httpx.InvalidURL:
            raise FetchError("bad url") from None
        except httpx.TransportError as exc:
            log.debug("fetch of %s failed: %r", url, exc)
            raise FetchError("bad response") from None

    async def _follow(self, url: str, start: httpx.URL) -> FetchedPage:
        current = start
        seen = {str(current)}
        redirects: list[str] = []
        while True:
            async with self._host_slot(current.host):
                response = await self._send(current)
                try:
                    if response.status_code not in _REDIRECT_STATUSES:
                        return await self._page(url, current, response, tuple(redirects))
                    target = self._redirect_target(current, response.headers.get("location"))
                finally:
                    await response.aclose()
            if str(target) in seen:
                raise FetchError("redirect loop")
            if len(redirects) >= self.config.max_redirects:
                raise FetchError("too many redirects")
            seen.add(str(target))
            redirects.append(str(target))
            current = target

    async def _send(self, url: httpx.URL) -> httpx.Response:
        """One GET, response body not yet read: the client's headers and timeouts, but straight
        to the guarded transport (no redirect handling, cookies or auth from the client)."""
        request = self._client.build_request("GET", url)
        if self._client.is_closed:
            raise RuntimeError("the HTTP client is closed")
        response = await self._transport.handle_async_request(request)
        response.request = request
        return response

    @asynccontextmanager
    async def _host_slot(self, host: str) -> AsyncIterator[None]:
        slot = self._hosts.get(host)
        if slot is None:
            slot = self._hosts[host] = _HostSlot(asyncio.Semaphore(self.config.max_per_host))
        slot.users += 1
        try:
            async with slot.semaphore:
                yield
        finally:
            slot.users -= 1
            if slot.users == 0:
                del self._hosts[host]  # the map holds only hosts in use: it cannot grow unbounded

    def _checked_url(self, raw: str) -> httpx.URL:
        """``raw`` parsed, if it is one the fetcher may request; the address is checked later,
        where the socket is opened."""
        if len(raw) > self.config.max_url_length or _CONTROL.search(raw):
            raise FetchError("bad url")
        try:
            url = httpx.URL(raw)
        except (httpx.InvalidURL, ValueError, TypeError):
            raise FetchError("bad url") from None
        if url.scheme not in _DEFAULT_PORTS:
            raise FetchError("bad url")
        authority = _AUTHORITY.match(raw)
        if authority is None or "@" in authority.group(1) or url.userinfo:
            raise FetchError("bad url")  # credentials in a link are a phishing trick, not a login
        host = url.raw_host.decode("ascii", errors="replace")
        try:
            literal = host_address(host)
        except ValueError:
            raise FetchError("bad url") from None
        if literal is None and not _HOST_NAME.fullmatch(host):
            raise FetchError("bad url")  # empty, percent-encoded or otherwise odd host names
        port = url.port if url.port is not None else _DEFAULT_PORTS[url.scheme]
        if port not in self.config.allowed_ports:
            raise FetchError("blocked port")
        return url.copy_with(fragment=None)

    def _redirect_target(self, current: httpx.URL, location: str | None) -> httpx.URL:
        location = (location or "").strip()
        if not location or len(location) > self.config.max_url_length:
            raise FetchError("bad redirect")
        authority = _AUTHORITY.match(location)
        if authority is not None and "@" in authority.group(1):
            raise FetchError("bad url")
        try:
            target = current.join(location)
        except (httpx.InvalidURL, ValueError, TypeError):
            raise FetchError("bad redirect") from None
        if target.scheme not in _DEFAULT_PORTS:
            raise FetchError("bad redirect")  # file:, ftp:, data:, javascript: ...
        return self._checked_url(str(target))

    async def _page(
        self, url: str, final: httpx.URL, response: httpx.Response, redirects: tuple[str, ...]
    ) -> FetchedPage:
        status = response.status_code
        if not 200 <= status < 300:
            raise FetchError(f"http {status}")
        media_type, charset = _split_content_type(response.headers.get("content-type"))
        if media_type and media_type not in _HTML_TYPES:
            raise FetchError("not html")
        body = await self._read_body(response)
        if not media_type:
            if not _looks_like_html(body):
                raise FetchError("not html")
            media_type = "text/html"
        return FetchedPage(
            url=url,
            final_url=str(final),
            status=status,
            content_type=media_type,
            html=decode_html(body, charset),
            redirects=redirects,
        )

    async def _read_body(self, response: httpx.Response) -> bytes:
        limit = self.config.max_bytes
        declared = response.headers.get("content-length", "").strip()
        if declared.isdigit() and int(declared) > limit:
            raise FetchError("too large")
        decoder = _body_decoder(response.headers.get("content-encoding"))
        parts: list[bytes] = []
        size = 0
        # Raw bytes, decoded here in bounded steps; a lying Content-Length cannot make this read
        # more than the cap, and one that promises more than it sends ends at the deadline.
        async for raw in response.aiter_raw():
            data = decoder.decode(raw, limit - size + 1)
            size += len(data)
            if size > limit:
                raise FetchError("too large")
            parts.append(data)
        # No final flush: below the cap each decode() inflates all the input it was given, so
        # zlib holds nothing back at the end (a truncated stream simply ends there).
        return b"".join(parts)
