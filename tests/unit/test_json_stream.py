"""Incremental JSON-array and line readers over arbitrarily split byte chunks."""

from __future__ import annotations

import io
import itertools
import json
import time
from collections.abc import Iterator

import pytest

from labelchain.core.json_stream import (
    MalformedJsonStreamError,
    iter_json_array,
    iter_lines,
    iter_stream_chunks,
)

# Objects, escapes, separators inside strings, bare numbers and literals: everything a split can break.
SMALL_ARRAY_ITEMS: list[object] = [
    {"datasetObjectId": "0", "label": 'Vogel, "groß" ]}', "boxes": [1, 2.5e3, -7]},
    12345,
    "Bird 🐦 鳥",
    None,
    True,
    [],
    {"nested": {"deep": [{"x": "\\u00e9 é"}]}},
]
SMALL_ARRAY = (
    " \n[ " + ",\n ".join(json.dumps(i, ensure_ascii=False) for i in SMALL_ARRAY_ITEMS) + " ]\n"
).encode()


def split_at(data: bytes, *positions: int) -> list[bytes]:
    bounds = [0, *positions, len(data)]
    return [data[start:end] for start, end in itertools.pairwise(bounds)]


def test_array_items_survive_a_split_at_every_byte_position() -> None:
    for position in range(len(SMALL_ARRAY) + 1):
        assert list(iter_json_array(split_at(SMALL_ARRAY, position))) == SMALL_ARRAY_ITEMS, position


def test_array_items_survive_one_byte_chunks_with_multibyte_characters() -> None:
    one_byte_chunks = [SMALL_ARRAY[i : i + 1] for i in range(len(SMALL_ARRAY))]

    assert list(iter_json_array(one_byte_chunks)) == SMALL_ARRAY_ITEMS


def test_a_number_at_a_chunk_boundary_is_not_cut_short() -> None:
    chunks = [b"[1", b"23", b"45", b"]"]

    assert list(iter_json_array(chunks)) == [12345]


def test_empty_chunks_and_an_empty_array_yield_nothing() -> None:
    assert list(iter_json_array([b"", b" [", b"", b" ]", b""])) == []


def test_a_byte_order_mark_is_ignored() -> None:
    assert list(iter_json_array([b"\xef\xbb", b"\xbf[1]"])) == [1]


def test_items_are_yielded_before_the_rest_of_the_stream_is_read() -> None:
    def chunks() -> Iterator[bytes]:
        yield b'[{"a": 1}, '
        raise AssertionError("read past the first item")

    items = iter_json_array(chunks())

    assert next(items) == {"a": 1}


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b'{"datasetObjectId": "0"}', "expected a JSON array"),
        (b"", "expected a JSON array"),
        (b'[{"a": 1}, {"a": ', "invalid array item"),
        (b'[{"a": 1} {"a": 2}]', "expected ',' or ']'"),
        (b'[{"a": 1}', "expected ',' or ']'"),
        (b"[1,]", "invalid array item"),
        (b"[1] [2]", "unexpected content after the end"),
        (b'["caf\xe9"]', "not UTF-8"),
        (b'["\xc3', "not UTF-8"),
    ],
)
def test_a_stream_that_is_not_one_json_array_is_rejected(data: bytes, problem: str) -> None:
    with pytest.raises(MalformedJsonStreamError, match=problem):
        list(iter_json_array(split_at(data, len(data) // 2)))


def test_an_implausibly_large_item_is_rejected_instead_of_buffered() -> None:
    chunks = [b'["', *(b"x" * 1000 for _ in range(100)), b'"]']

    with pytest.raises(MalformedJsonStreamError, match="longer than 10000 characters"):
        list(iter_json_array(chunks, max_item_chars=10_000))


def test_a_large_item_split_into_tiny_chunks_decodes_in_linear_time() -> None:
    item = {
        "annotations": [{"class_id": 0, "left": i, "top": i, "width": 9, "height": 9} for i in range(40_000)]
    }
    data = json.dumps([item]).encode()
    chunks = [data[i : i + 16] for i in range(0, len(data), 16)]

    started = time.perf_counter()
    items = list(iter_json_array(chunks))

    assert items == [item]
    assert time.perf_counter() - started < 10  # quadratic re-parsing would take minutes


def test_lines_are_rejoined_across_chunk_boundaries() -> None:
    data = "first line\nsecond: Vögel 🐦\n\nlast without newline".encode()

    for position in range(len(data) + 1):
        assert list(iter_lines(split_at(data, position))) == [
            b"first line",
            "second: Vögel 🐦".encode(),
            b"",
            b"last without newline",
        ], position


def test_a_final_newline_does_not_add_an_empty_line() -> None:
    assert list(iter_lines([b"a\nb", b"\n"])) == [b"a", b"b"]


def test_a_line_longer_than_the_limit_is_rejected() -> None:
    with pytest.raises(MalformedJsonStreamError, match="longer than 100 bytes"):
        list(iter_lines([b"x" * 60, b"x" * 60, b"\n"], max_line_bytes=100))


def test_a_readable_stream_becomes_chunks_of_the_requested_size() -> None:
    assert list(iter_stream_chunks(io.BytesIO(b"abcdefg"), chunk_size=3)) == [b"abc", b"def", b"g"]
