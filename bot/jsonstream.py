"""Reading a large JSON document a piece at a time, with the standard library's decoder.

An import file is one big array, or an object holding one (``@graph``, ``dataFeedElement``).
Loading it whole costs about fifteen times its size in Python objects; here the elements of
that array are decoded and handed out one at a time, so memory follows one element, not the
file. Numbers are limited to :data:`MAX_NUMBER_DIGITS` digits (Python refuses to convert an
integer of more than 4,300 digits, and nothing in a ClaimReview needs one of 100), and the file
to ``max_bytes``.

(ijson, the usual library for this, was tried: its C backend crashed the process on a
5,000-digit integer, so it cannot read files from strangers.)
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Iterator
from typing import Any, BinaryIO

MAX_NUMBER_DIGITS = 100
_CHUNK_BYTES = 1 << 20
_WHITESPACE = " \t\n\r"


class JSONStreamError(ValueError):
    """The document is not JSON, not UTF-8, or too large; ``str()`` is one line."""


def _parse_int(text: str) -> int:
    if len(text) > MAX_NUMBER_DIGITS:
        raise JSONStreamError(f"a number of more than {MAX_NUMBER_DIGITS} digits")
    return int(text)


def _parse_float(text: str) -> float:
    if len(text) > MAX_NUMBER_DIGITS:
        raise JSONStreamError(f"a number of more than {MAX_NUMBER_DIGITS} digits")
    return float(text)


_DECODER = json.JSONDecoder(parse_int=_parse_int, parse_float=_parse_float)


class _Reader:
    def __init__(self, fh: BinaryIO, max_bytes: int) -> None:
        self._fh = fh
        self._max_bytes = max_bytes
        self._utf8 = codecs.getincrementaldecoder("utf-8-sig")()  # a BOM is skipped
        self._read_bytes = 0
        self._eof = False
        self._buf = ""
        self._pos = 0
        self._lines_before = 0  # newlines in text already dropped from the buffer

    def _more(self) -> bool:
        """Read another chunk into the buffer; False at the end of the file."""
        if self._eof:
            return False
        if self._pos > _CHUNK_BYTES:
            self._lines_before += self._buf.count("\n", 0, self._pos)
            self._buf = self._buf[self._pos :]
            self._pos = 0
        # Grow reads with the buffer, so one large element is not decoded again per chunk.
        chunk = self._fh.read(max(_CHUNK_BYTES, len(self._buf) - self._pos))
        self._read_bytes += len(chunk)
        if self._read_bytes > self._max_bytes:
            raise JSONStreamError(f"larger than {self._max_bytes // (1 << 20)} MiB")
        try:
            self._buf += self._utf8.decode(chunk, final=not chunk)
        except UnicodeDecodeError:
            raise JSONStreamError("not UTF-8 text") from None
        self._eof = not chunk
        return True

    def _line(self, pos: int) -> int:
        return self._lines_before + self._buf.count("\n", 0, pos) + 1

    def error(self, message: str) -> JSONStreamError:
        return JSONStreamError(f"not valid JSON (line {self._line(self._pos)}: {message})")

    def peek(self) -> str:
        """The next character that is not white space ("" at the end)."""
        while True:
            while self._pos < len(self._buf) and self._buf[self._pos] in _WHITESPACE:
                self._pos += 1
            if self._pos < len(self._buf) or not self._more():
                return self._buf[self._pos : self._pos + 1]

    def take(self, expected: str) -> None:
        if self.peek() != expected:
            found = self.peek() or "end of file"
            raise self.error(f"expecting {expected!r}, found {found[:1]!r}")
        self._pos += 1

    def value(self) -> Any:
        """Decode the next value whole, reading on until it is complete."""
        self.peek()
        while True:
            try:
                value, end = _DECODER.raw_decode(self._buf, self._pos)
            except json.JSONDecodeError as exc:
                # Cut off by the end of the buffer: read on. Anything else is an error.
                truncated = exc.pos >= len(self._buf) - 12 or exc.msg.startswith("Unterminated")
                if truncated and self._more():
                    continue
                line = self._lines_before + exc.lineno
                raise JSONStreamError(f"not valid JSON (line {line}: {exc.msg})") from None
            if end >= len(self._buf) and self._more():
                continue  # a number may go on in the next chunk
            self._pos = end
            return value


def iter_elements(
    fh: BinaryIO, *, containers: tuple[str, ...], max_bytes: int
) -> Iterator[tuple[str | None, Any]]:
    """The document's parts, decoded one at a time, as ``(container, value)``.

    A top-level array gives ``(None, element)`` for each element; a top-level object gives
    ``(key, element)`` for each element of an array under one of ``containers``, or, when it
    has none, ``(None, the object)`` once; any other value gives ``(None, value)``.
    Raises :class:`JSONStreamError`.
    """
    reader = _Reader(fh, max_bytes)
    first = reader.peek()
    if first == "[":
        yield from ((None, v) for v in _array(reader))
    elif first == "{":
        yield from _object(reader, containers)
    else:
        yield None, reader.value()
    if reader.peek():
        raise reader.error("extra data after the document")


def _array(reader: _Reader) -> Iterator[Any]:
    reader.take("[")
    if reader.peek() == "]":
        reader.take("]")
        return
    while True:
        yield reader.value()
        if reader.peek() == ",":
            reader.take(",")
            continue
        reader.take("]")
        return


def _object(reader: _Reader, containers: tuple[str, ...]) -> Iterator[tuple[str | None, Any]]:
    reader.take("{")
    kept: dict[str, Any] = {}
    streamed = False
    first = True
    while reader.peek() != "}":
        if not first:
            reader.take(",")
        first = False
        if reader.peek() != '"':
            raise reader.error("expecting a property name")
        key = reader.value()
        reader.take(":")
        if key in containers and reader.peek() == "[":
            streamed = True
            yield from ((key, v) for v in _array(reader))
        else:
            kept[key] = reader.value()
        if reader.peek() not in (",", "}"):
            raise reader.error("expecting ',' or '}'")
    reader.take("}")
    if not streamed:
        yield None, kept
