"""Incremental readers for the JSON files a labeling job leaves in S3.

A consolidation-response file holds every human label of an iteration and a manifest has one line per
object (up to 100,000), while a Lambda has little memory. So files arrive as an iterable of byte chunks
(what botocore's ``StreamingBody.iter_chunks()`` yields) and are never held whole: memory stays
proportional to the largest single array item or line, not to the file.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Iterable, Iterator
from typing import Protocol

DEFAULT_CHUNK_SIZE = 64 * 1024
MAX_ITEM_CHARS = 16 * 1024 * 1024
"""An array item or line larger than this is treated as corruption rather than buffered further."""

_WHITESPACE = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()


class MalformedJsonStreamError(ValueError):
    """The stream is not the JSON array it should be, is not UTF-8, or holds an implausibly large item."""


class BinaryReadable(Protocol):
    """Anything with ``read(n) -> bytes``: an open file, ``io.BytesIO``, botocore's ``StreamingBody``."""

    def read(self, size: int, /) -> bytes: ...


def iter_stream_chunks(stream: BinaryReadable, chunk_size: int = DEFAULT_CHUNK_SIZE) -> Iterator[bytes]:
    """Turn a readable binary stream into the chunk iterable the readers below take."""
    while chunk := stream.read(chunk_size):
        yield chunk


def iter_json_array(chunks: Iterable[bytes], *, max_item_chars: int = MAX_ITEM_CHARS) -> Iterator[object]:
    """Yield the items of a JSON array one at a time, reading ``chunks`` only as far as needed.

    Items and multi-byte UTF-8 characters may be split across chunk boundaries anywhere.
    Raises ``MalformedJsonStreamError`` when the bytes are not one UTF-8 JSON array.
    """
    return _ArrayReader(chunks, max_item_chars).items()


def iter_lines(chunks: Iterable[bytes], *, max_line_bytes: int = MAX_ITEM_CHARS) -> Iterator[bytes]:
    """Yield the lines (without their ``\\n``) of a line-oriented file split into arbitrary chunks.

    Lines stay bytes: a line split inside a multi-byte character is whole again before anyone decodes
    it, and a caller can count an undecodable line as malformed instead of losing the whole file.
    A line over ``max_line_bytes`` raises ``MalformedJsonStreamError`` naming its (1-based) number.
    """
    pending: list[bytes] = []
    pending_size = 0
    number = 1
    for chunk in chunks:
        start = 0
        while (newline := chunk.find(b"\n", start)) != -1:
            if pending_size + newline - start > max_line_bytes:
                raise _line_too_long(number, max_line_bytes)
            pending.append(chunk[start:newline])
            yield b"".join(pending)
            pending.clear()
            pending_size = 0
            start = newline + 1
            number += 1
        if start < len(chunk):
            pending.append(chunk[start:])
            pending_size += len(chunk) - start
            if pending_size > max_line_bytes:
                raise _line_too_long(number, max_line_bytes)
    if pending:
        yield b"".join(pending)


def _line_too_long(number: int, max_line_bytes: int) -> MalformedJsonStreamError:
    """Raised while the line is still being read: nothing past the limit is buffered."""
    return MalformedJsonStreamError(f"line {number} is longer than {max_line_bytes} bytes")


class _ArrayReader:
    """A rolling text buffer over the chunks plus the ``[ item , item ]`` grammar around it."""

    def __init__(self, chunks: Iterable[bytes], max_item_chars: int) -> None:
        self._chunks = iter(chunks)
        self._utf8 = codecs.getincrementaldecoder("utf-8-sig")()
        self._max_item_chars = max_item_chars
        self._text = ""
        self._pos = 0
        self._pending: list[str] = []
        self._pending_chars = 0
        self._dropped = 0
        self._eof = False

    def items(self) -> Iterator[object]:
        if self._peek() != "[":
            raise self._error("expected a JSON array ('[')")
        self._pos += 1
        if self._peek() == "]":
            self._pos += 1
            self._expect_end()
            return
        while True:
            yield self._decode_item()
            separator = self._peek()
            if separator not in (",", "]"):
                raise self._error(
                    f"expected ',' or ']' after an array item, found {separator or 'the end'!r}"
                )
            self._pos += 1
            if separator == "]":
                self._expect_end()
                return

    def _decode_item(self) -> object:
        # A failed decode costs the whole buffered item, so the next attempt waits until the unparsed
        # text has doubled: a large item split into tiny chunks still decodes in linear time.
        needed = 0
        self._peek()
        while True:
            available = self._available()
            if available >= needed or self._eof:
                self._join_pending()
                try:
                    value, end = _DECODER.raw_decode(self._text, self._pos)
                except json.JSONDecodeError as exc:
                    if self._eof:
                        raise self._error(f"invalid array item: {exc.msg}") from exc
                    needed = 2 * available
                else:
                    if end < len(self._text) or self._eof:  # a number touching the end may go on
                        self._pos = end
                        return value
                    needed = available + 1
            if available > self._max_item_chars:
                raise self._error(f"an array item is longer than {self._max_item_chars} characters")
            self._read_more()

    def _peek(self) -> str:
        """Skip whitespace and return the next character without consuming it ('' at the end)."""
        while True:
            match = _WHITESPACE.match(self._text, self._pos)
            assert match is not None  # the pattern matches the empty string
            self._pos = match.end()
            if self._pos < len(self._text):
                return self._text[self._pos]
            if self._pending:
                self._join_pending()
            elif not self._read_more():
                return ""

    def _available(self) -> int:
        return len(self._text) - self._pos + self._pending_chars

    def _join_pending(self) -> None:
        """Drop the consumed text and append the pieces read since (one copy per decode attempt)."""
        self._dropped += self._pos
        self._text = self._text[self._pos :] + "".join(self._pending)
        self._pos = 0
        self._pending.clear()
        self._pending_chars = 0

    def _read_more(self) -> bool:
        """Decode the next chunk into ``_pending``; False once the stream is exhausted."""
        if self._eof:
            return False
        try:
            for chunk in self._chunks:
                if piece := self._utf8.decode(chunk):
                    self._pending.append(piece)
                    self._pending_chars += len(piece)
                    return True
            if piece := self._utf8.decode(b"", final=True):
                self._pending.append(piece)
                self._pending_chars += len(piece)
        except UnicodeDecodeError as exc:
            raise self._error(f"not UTF-8 ({exc.reason})") from exc
        self._eof = True
        return False

    def _expect_end(self) -> None:
        if self._peek():
            raise self._error("unexpected content after the end of the array")

    def _error(self, message: str) -> MalformedJsonStreamError:
        return MalformedJsonStreamError(f"{message} (at character {self._dropped + self._pos})")


_STRUCTURE = re.compile(rb'["\\\[\]{}]')


def nesting_exceeds(raw: bytes, max_depth: int) -> bool:
    """Whether the JSON text ``raw`` nests arrays/objects deeper than ``max_depth``, found without parsing.

    ``json.loads`` recurses once per level, so a line of a million ``[`` would exhaust the stack
    (``RecursionError``) instead of failing as bad input: call this first. Only brackets, braces,
    quotes and backslashes are visited; brackets inside strings do not count.
    """
    if raw.count(b"[") + raw.count(b"{") <= max_depth:
        return False
    depth = 0
    in_string = False
    escaped_until = -1
    for match in _STRUCTURE.finditer(raw):
        position = match.start()
        if position < escaped_until:
            continue
        token = match.group()
        if in_string:
            if token == b"\\":
                escaped_until = position + 2
            elif token == b'"':
                in_string = False
        elif token == b'"':
            in_string = True
        elif token in (b"[", b"{"):
            depth += 1
            if depth > max_depth:
                return True
        elif token in (b"]", b"}"):
            depth -= 1
    return False
