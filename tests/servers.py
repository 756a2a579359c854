"""Real HTTP/1.1 servers on 127.0.0.1 for tests, and a tripwire that keeps tests on loopback.

``LocalServer`` listens on an ephemeral port, answers the routes a test defines (status, headers,
body chunks with a delay before each, lying lengths, never answering, waiting for a gate) and
records every connection and request, so a test can assert that a server was never reached.

    async with LocalServer() as server:
        server.route("/a", body=b"<html>...</html>")
        server.redirect("/old", "/a")
        ... fetch server.url("/old") ...
        assert server.paths() == ["/old", "/a"]

``NetworkTripwire`` (installed with pytest's monkeypatch) fails a test the moment anything tries
to connect a socket to a non-loopback address or to resolve a name through DNS.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
import ssl
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from types import TracebackType
from typing import Any, Literal

import pytest

BodySource = bytes | Sequence[bytes] | Callable[[], AsyncIterator[bytes]]
Framing = Literal["length", "chunked", "close"]

HTML = (("Content-Type", "text/html; charset=utf-8"),)
_MAX_HEAD = 64 * 1024


@dataclass
class Route:
    """How the server answers one path."""

    status: int = 200
    headers: Sequence[tuple[str, str]] = HTML
    # bytes, a list of chunks, or a function returning an async iterator of chunks (for bodies
    # too big to build, produced only as fast as the client reads them)
    body: BodySource = b""
    delay: float = 0.0  # seconds before each body chunk (a slow drip)
    # "length": Content-Length (computed, or `content_length` if set, which may lie);
    # "chunked": Transfer-Encoding: chunked; "close": no length, the body ends at close.
    framing: Framing = "length"
    content_length: int | None = None
    hang: bool = False  # read the request and never answer
    gate: asyncio.Event | None = None  # answer only once the test sets this event


@dataclass(frozen=True)
class ReceivedRequest:
    method: str
    target: str  # path and query, as sent
    headers: dict[str, str]  # names lower-cased
    peer: str

    @property
    def path(self) -> str:
        return self.target.split("?", 1)[0]


class LocalServer:
    """An HTTP/1.1 server on ``host`` (a loopback address) and an ephemeral port.

    Every answer carries ``Connection: close``, so each request is one connection.
    """

    def __init__(self, host: str = "127.0.0.1", tls: ssl.SSLContext | None = None) -> None:
        self.host = host
        self.tls = tls  # serve HTTPS with this context
        self.routes: dict[str, Route] = {}
        self.requests: list[ReceivedRequest] = []
        self.connections = 0
        self.body_bytes_sent = 0  # body bytes the client's socket accepted
        self.active = 0  # requests being answered now
        self.peak_active = 0
        self._server: asyncio.Server | None = None
        self._port = 0
        self._handlers: set[asyncio.Task[Any]] = set()
        self._closing = asyncio.Event()
        self._changed = asyncio.Condition()

    # --- lifecycle

    async def start(self) -> LocalServer:
        self._server = await asyncio.start_server(
            self._handle, self.host, 0, limit=_MAX_HEAD, ssl=self.tls
        )
        self._port = self._server.sockets[0].getsockname()[1]
        return self

    async def close(self) -> None:
        self._closing.set()
        if self._server is not None:
            self._server.close()
        for task in list(self._handlers):
            task.cancel()
        await asyncio.gather(*self._handlers, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    async def __aenter__(self) -> LocalServer:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # --- defining routes

    @property
    def port(self) -> int:
        return self._port

    def url(self, path: str = "/", host: str | None = None) -> str:
        """``http://<host>:<port><path>``; ``host`` lets a test use a name its resolver knows."""
        scheme = "https" if self.tls is not None else "http"
        return f"{scheme}://{host or self.host}:{self._port}{path}"

    def route(self, path: str, **kwargs: Any) -> Route:
        """Answer ``path`` (or an exact ``path?query``) as described by Route's fields."""
        route = Route(**kwargs)
        self.routes[path] = route
        return route

    def redirect(self, path: str, location: str | None, status: int = 302) -> Route:
        """Redirect ``path`` to ``location`` (None: a redirect without a Location header)."""
        headers = [("Content-Type", "text/html")]
        if location is not None:
            headers.append(("Location", location))
        return self.route(path, status=status, headers=headers, body=b"moved")

    # --- what was received

    def paths(self) -> list[str]:
        return [r.path for r in self.requests]

    async def wait_for_requests(self, count: int) -> None:
        """Return once at least ``count`` requests have arrived (bound it with a timeout)."""
        async with self._changed:
            await self._changed.wait_for(lambda: len(self.requests) >= count)

    # --- serving

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._handlers.add(task)
        self.connections += 1
        try:
            request = await self._read_request(reader, writer)
            async with self._changed:
                self.requests.append(request)
                self._changed.notify_all()
            route = self.routes.get(request.target) or self.routes.get(request.path)
            if route is None:
                route = Route(status=404, headers=(("Content-Type", "text/plain"),), body=b"none")
            self.active += 1
            self.peak_active = max(self.peak_active, self.active)
            try:
                if route.hang:
                    await self._closing.wait()
                    return
                if route.gate is not None:
                    await route.gate.wait()
                await self._respond(writer, route)
            finally:
                self.active -= 1
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass  # the client went away or sent garbage: both are normal in these tests
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError, asyncio.CancelledError):
                await writer.wait_closed()
            if task is not None:
                self._handlers.discard(task)

    @staticmethod
    async def _read_request(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> ReceivedRequest:
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        method, target, _version = lines[0].split(" ", 2)
        headers: dict[str, str] = {}
        for line in lines[1:]:
            if ":" in line:
                name, value = line.split(":", 1)
                headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0") or 0)
        if length:
            await reader.readexactly(length)
        peer = writer.get_extra_info("peername")
        return ReceivedRequest(method, target, headers, str(peer[0]) if peer else "")

    async def _respond(self, writer: asyncio.StreamWriter, route: Route) -> None:
        try:
            phrase = HTTPStatus(route.status).phrase
        except ValueError:
            phrase = "Unknown"
        head = [f"HTTP/1.1 {route.status} {phrase}", *(f"{k}: {v}" for k, v in route.headers)]
        if route.framing == "length":
            length = route.content_length
            if length is None:
                if callable(route.body):
                    raise TypeError("a streamed body needs content_length or another framing")
                length = (
                    len(route.body) if isinstance(route.body, bytes) else sum(map(len, route.body))
                )
            head.append(f"Content-Length: {length}")
        elif route.framing == "chunked":
            head.append("Transfer-Encoding: chunked")
        head.append("Connection: close")
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1"))
        await writer.drain()
        async for chunk in _chunks(route.body):
            if route.delay:
                await asyncio.sleep(route.delay)
            if route.framing == "chunked":
                if not chunk:
                    continue  # an empty chunk would end the body early
                writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            else:
                writer.write(chunk)
            await writer.drain()
            self.body_bytes_sent += len(chunk)
        if route.framing == "chunked":
            writer.write(b"0\r\n\r\n")
            await writer.drain()


async def _chunks(body: BodySource) -> AsyncIterator[bytes]:
    if isinstance(body, bytes):
        yield body
    elif callable(body):
        async for chunk in body():
            yield chunk
    else:
        for chunk in body:
            yield chunk


def repeated(chunk: bytes, count: int) -> Callable[[], AsyncIterator[bytes]]:
    """A body of ``count`` copies of ``chunk``, produced only as the client reads it."""

    async def produce() -> AsyncIterator[bytes]:
        for _ in range(count):
            yield chunk

    return produce


# --- keeping tests on loopback ------------------------------------------------------------------


def _is_loopback(host: str) -> bool:
    try:
        address = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


class NetworkTripwire:
    """Fails a test on any socket connect to a non-loopback address or any DNS lookup.

    A safety net under the code being tested: if the fetcher's guard were broken, a test that
    hands it 169.254.169.254 must fail here instead of sending a packet off this machine.
    Lookups of numeric loopback addresses (what asyncio does for "127.0.0.1") pass through.
    """

    def __init__(self) -> None:
        self.connects: list[Any] = []  # every address a socket tried to connect to
        self.refused: list[str] = []

    def install(self, monkeypatch: pytest.MonkeyPatch) -> NetworkTripwire:
        real_connect = socket.socket.connect
        real_connect_ex = socket.socket.connect_ex
        real_getaddrinfo = socket.getaddrinfo

        def check(address: Any) -> None:
            self.connects.append(address)
            if isinstance(address, tuple) and not _is_loopback(str(address[0])):
                self.refused.append(f"connect {address!r}")
                raise AssertionError(f"test tried to connect to non-loopback {address!r}")

        def connect(sock: socket.socket, address: Any) -> None:
            check(address)
            real_connect(sock, address)

        def connect_ex(sock: socket.socket, address: Any) -> int:
            check(address)
            return real_connect_ex(sock, address)

        def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
            name = host.decode() if isinstance(host, bytes) else host
            if name is not None and not _is_loopback(str(name)):
                self.refused.append(f"getaddrinfo {name!r}")
                raise AssertionError(f"test tried to resolve {name!r} (DNS is off loopback)")
            return real_getaddrinfo(host, *args, **kwargs)

        monkeypatch.setattr(socket.socket, "connect", connect)
        monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
        monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
        return self


def fake_resolver(table: dict[str, Iterable[str]]) -> Callable[[str, int], Any]:
    """A resolver (for make_client) answering from ``table``; unknown names fail like DNS."""

    async def resolve(host: str, port: int) -> list[str]:
        try:
            return list(table[host])
        except KeyError:
            raise socket.gaierror(socket.EAI_NONAME, f"{host} not in the test table") from None

    return resolve
