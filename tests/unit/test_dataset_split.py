"""Specification of the dataset split: which line goes to which part, what is refused, and the
promise that memory stays flat however long the manifest is.

Pure: the manifest is bytes cut into chunks, the parts are in-memory sinks. No AWS.
"""

from __future__ import annotations

import collections
import json
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from labelchain.core import dataset_split
from labelchain.core.dataset_split import (
    BloomFilter,
    ManifestChanged,
    ManifestRejected,
    SplitOrder,
    SplitOutcome,
    assign_parts,
    fingerprint,
    part_sizes,
    split_manifest,
)
from labelchain.core.json_stream import MalformedJsonStreamError
from labelchain.core.manifest import MAX_LINE_BYTES

LAMBDAS = Path(__file__).resolve().parents[2] / "lambdas"


class CollectingSink:
    """A part kept in memory, line by line."""

    def __init__(self) -> None:
        self.data = bytearray()

    def write(self, data: bytes, /) -> None:
        self.data += data

    @property
    def lines(self) -> list[bytes]:
        """The lines written, each without the ``\n`` the split ends it with."""
        assert not self.data or self.data.endswith(b"\n")
        return bytes(self.data).split(b"\n")[:-1]


def image_line(number: int, key: str = "source-ref") -> bytes:
    return json.dumps({key: f"s3://labelchain-data/birds/{number:05d}.jpg"}).encode()


def image_manifest(count: int) -> list[bytes]:
    return [image_line(number) for number in range(count)]


def chunked(data: bytes, size: int) -> Iterator[bytes]:
    return (data[start : start + size] for start in range(0, len(data), size))


def run_split(
    manifest: Sequence[bytes] | bytes,
    parts: int = 2,
    *,
    order: SplitOrder = "file",
    seed: int | None = None,
    chunk_size: int = 64 * 1024,
    source_field: str = "source-ref",
    bloom_bytes: int | None = None,
) -> tuple[list[list[bytes]], SplitOutcome]:
    """Split ``manifest`` (lines, or raw bytes) and return each part's lines and the outcome."""
    data = manifest if isinstance(manifest, bytes) else b"\n".join(manifest) + b"\n"
    sinks = [CollectingSink() for _ in range(parts)]
    options = {} if bloom_bytes is None else {"bloom_bytes": bloom_bytes}
    outcome = split_manifest(
        lambda: chunked(data, chunk_size),
        lambda sizes: sinks,
        parts=parts,
        source_field=source_field,
        order=order,
        seed=seed,
        **options,
    )
    return [sink.lines for sink in sinks], outcome


def refusal(manifest: Sequence[bytes] | bytes, **options: object) -> ManifestRejected:
    with pytest.raises(ManifestRejected) as refused:
        run_split(manifest, **options)  # type: ignore[arg-type]
    return refused.value


# --- file order -------------------------------------------------------------------------------------


def test_file_order_gives_each_part_the_next_contiguous_block() -> None:
    lines = image_manifest(10)

    parts, _ = run_split(lines, 3)

    assert parts == [lines[0:4], lines[4:7], lines[7:10]]


def test_the_birds_file_order_split_is_two_halves() -> None:
    lines = image_manifest(2500)

    parts, outcome = run_split(lines)

    assert parts == [lines[:1250], lines[1250:]]
    assert outcome.sizes == (1250, 1250)


@pytest.mark.parametrize(
    ("objects", "parts", "sizes"),
    [(10, 2, [5, 5]), (11, 2, [6, 5]), (10, 3, [4, 3, 3]), (2, 3, [1, 1, 0]), (0, 2, [0, 0])],
)
def test_part_sizes_differ_by_at_most_one_and_the_first_parts_get_the_extra(
    objects: int, parts: int, sizes: list[int]
) -> None:
    assert part_sizes(objects, parts) == sizes


def test_a_split_needs_at_least_two_parts() -> None:
    with pytest.raises(ValueError, match="at least 2 parts"):
        run_split(image_manifest(4), 1)


def test_each_object_line_is_copied_byte_for_byte() -> None:
    lines = [b'{ "source-ref" : "s3://labelchain-data/a.jpg", "note": "caf\xc3\xa9" }', image_line(1)]

    parts, _ = run_split(lines)

    assert parts == [[lines[0]], [lines[1]]]


# --- shuffled ---------------------------------------------------------------------------------------


def test_a_shuffled_split_is_the_same_for_the_same_seed() -> None:
    lines = image_manifest(200)

    first, _ = run_split(lines, order="shuffled", seed=7)
    again, _ = run_split(lines, order="shuffled", seed=7)

    assert first == again


def test_a_shuffled_split_differs_for_another_seed() -> None:
    lines = image_manifest(200)

    first, _ = run_split(lines, order="shuffled", seed=7)
    other, _ = run_split(lines, order="shuffled", seed=8)

    assert first != other


def test_a_seed_draws_the_same_parts_on_every_supported_python() -> None:
    # Recorded on CPython 3.11.7, 3.12.1 and 3.13.0: a change here would move existing experiments.
    assert "".join(map(str, assign_parts([10, 10], "shuffled", 2019))) == "00101101011011011000"
    assert "".join(map(str, assign_parts([4, 3, 3], "shuffled", 7))) == "1022000112"


def test_a_shuffled_split_is_not_the_file_order_split() -> None:
    lines = image_manifest(200)

    shuffled, _ = run_split(lines, order="shuffled", seed=7)

    assert shuffled != [lines[:100], lines[100:]]


@pytest.mark.parametrize(("objects", "parts"), [(2500, 2), (1001, 2), (10, 3), (7, 7), (100, 6)])
def test_a_shuffled_split_has_exactly_the_file_order_sizes(objects: int, parts: int) -> None:
    split, outcome = run_split(image_manifest(objects), parts, order="shuffled", seed=42)

    assert [len(part) for part in split] == part_sizes(objects, parts) == list(outcome.sizes)


def test_a_shuffled_split_puts_every_line_in_exactly_one_part() -> None:
    lines = image_manifest(999)

    split, _ = run_split(lines, 3, order="shuffled", seed=3)

    assert sorted(line for part in split for line in part) == sorted(lines)


def test_a_shuffled_split_keeps_file_order_within_each_part() -> None:
    lines = image_manifest(500)
    position = {line: index for index, line in enumerate(lines)}

    split, _ = run_split(lines, 3, order="shuffled", seed=11)

    for part in split:
        assert [position[line] for line in part] == sorted(position[line] for line in part)


def test_every_partition_is_about_equally_likely_over_many_seeds() -> None:
    # 4 objects in 2 parts of 2: 6 possible partitions. 6,000 fixed seeds → about 1,000 each; the
    # binomial standard deviation is ~29, so 850-1,150 is a five-sigma band on a fixed sample.
    seen = collections.Counter(tuple(assign_parts([2, 2], "shuffled", seed)) for seed in range(6000))

    assert len(seen) == 6
    assert all(850 <= count <= 1150 for count in seen.values()), seen


def test_each_object_lands_in_each_part_about_equally_often_over_many_seeds() -> None:
    # 30 objects in 3 parts of 10: each object is in a given part with probability 1/3, i.e. in
    # ~1,000 of 3,000 fixed seeds (sd ~26).
    landed = collections.Counter(
        (index, part)
        for seed in range(3000)
        for index, part in enumerate(assign_parts([10, 10, 10], "shuffled", seed))
    )

    assert len(landed) == 90
    assert all(870 <= count <= 1130 for count in landed.values()), landed


def test_a_shuffled_split_needs_a_seed() -> None:
    with pytest.raises(ValueError, match="needs a seed"):
        run_split(image_manifest(4), order="shuffled")


# --- invalid lines ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        (b"{not json", "not valid JSON"),
        (b'["s3://labelchain-data/a.jpg"]', "expected a JSON object, got list"),
        (b'{"image": "s3://labelchain-data/a.jpg"}', "'source-ref' must be an s3://bucket/key URI (missing)"),
        (b'{"source-ref": "https://example.com/a.jpg"}', "'source-ref' must be an s3://bucket/key URI"),
        (b'{"source-ref": 7}', "'source-ref' must be an s3://bucket/key URI (7)"),
        (b'{"source-ref": "s3://labelchain-data/a.jpg"\xff}', "not valid JSON"),
    ],
    ids=["not-json", "array", "missing-source-ref", "https-uri", "number", "not-utf8"],
)
def test_a_bad_line_is_refused_with_its_line_number(line: bytes, problem: str) -> None:
    manifest = [image_line(0), image_line(1), line, image_line(3)]

    refused = refusal(manifest)

    assert refused.summary == "1 bad line(s)"
    assert refused.problems[0].line == 3
    assert problem in refused.problems[0].problem


@pytest.mark.parametrize(
    ("line", "problem"),
    [(b'{"source": "   "}', "'source' must be non-empty text"), (b'{"text": "hello"}', "'source'")],
    ids=["blank-text", "missing-source"],
)
def test_a_text_manifest_line_needs_source_text(line: bytes, problem: str) -> None:
    refused = refusal([b'{"source": "a good review"}', line], source_field="source")

    assert (refused.problems[0].line, problem in refused.problems[0].problem) == (2, True)


def test_a_text_manifest_is_split_on_its_source_text() -> None:
    lines = [json.dumps({"source": f"review number {number}"}).encode() for number in range(6)]

    parts, _ = run_split(lines, source_field="source")

    assert parts == [lines[:3], lines[3:]]


def test_every_bad_line_is_counted_and_the_first_five_are_named() -> None:
    manifest = [image_line(0), *([b"nope"] * 8)]

    refused = refusal(manifest)

    assert refused.summary == "8 bad line(s)"
    assert [problem.line for problem in refused.problems] == [2, 3, 4, 5, 6]


def test_nothing_is_opened_for_writing_when_a_line_is_bad() -> None:
    data = b"\n".join([image_line(0), b"[]", image_line(2)])
    opened: list[Sequence[int]] = []

    with pytest.raises(ManifestRejected):
        split_manifest(
            lambda: [data],
            lambda sizes: opened.append(sizes) or [CollectingSink(), CollectingSink()],
            parts=2,
            source_field="source-ref",
        )

    assert opened == []


def test_a_line_longer_than_the_limit_is_a_malformed_manifest() -> None:
    too_long = b'{"source-ref": "s3://labelchain-data/' + b"a" * MAX_LINE_BYTES + b'.jpg"}'

    with pytest.raises(MalformedJsonStreamError, match="longer than"):
        run_split([image_line(0), too_long])


# --- duplicates -------------------------------------------------------------------------------------


def test_a_repeated_object_is_refused_naming_both_lines() -> None:
    manifest = [image_line(0), image_line(1), image_line(2), image_line(1)]

    refused = refusal(manifest)

    assert refused.summary == "1 duplicate object(s) (each object is labeled once)"
    assert [(p.line, p.problem) for p in refused.problems] == [
        (4, "repeats line 2 ('s3://labelchain-data/birds/00001.jpg')")
    ]


def test_lines_naming_the_same_object_with_other_fields_are_duplicates() -> None:
    manifest = [image_line(0), b'{"source-ref": "s3://labelchain-data/birds/00000.jpg", "x": 1}']

    refused = refusal(manifest)

    assert refused.problems[0].line == 2


def test_every_duplicate_is_counted_and_the_first_five_are_named() -> None:
    manifest = [*image_manifest(3), *([image_line(0)] * 4), *([image_line(2)] * 3)]

    refused = refusal(manifest)

    assert refused.summary.startswith("7 duplicate object(s)")
    assert [p.line for p in refused.problems] == [4, 5, 6, 7, 8]
    assert refused.problems[4].problem.startswith("repeats line 3 ")


def test_bloom_filter_false_positives_are_not_reported_as_duplicates() -> None:
    # An 8-bit filter is full after a few objects: nearly every later object becomes a candidate.
    lines = image_manifest(300)

    parts, outcome = run_split(lines, bloom_bytes=1)

    assert outcome.duplicate_candidates > 250
    assert parts == [lines[:150], lines[150:]]


def test_real_duplicates_are_found_among_false_positives() -> None:
    manifest = [*image_manifest(300), image_line(123)]

    refused = refusal(manifest, bloom_bytes=1)

    assert refused.summary.startswith("1 duplicate object(s)")
    assert (refused.problems[0].line, refused.problems[0].problem[:16]) == (301, "repeats line 124")


def test_past_the_candidate_limit_the_duplicate_count_is_a_lower_bound(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(dataset_split, "MAX_DUPLICATE_CANDIDATES", 3)
    manifest = [
        *image_manifest(10),
        image_line(0),
        image_line(1),
        image_line(2),
        image_line(3),
        image_line(4),
    ]

    refused = refusal(manifest, bloom_bytes=1)

    assert refused.summary.startswith("at least ")
    assert refused.summary.endswith(" duplicate object(s) (each object is labeled once)")


def test_too_many_candidates_without_a_confirmed_duplicate_are_refused_as_uncheckable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(dataset_split, "MAX_DUPLICATE_CANDIDATES", 3)

    refused = refusal(image_manifest(50), bloom_bytes=1)

    assert refused.summary == (
        "more than 3 lines may repeat an earlier object, too many to confirm; "
        "the manifest is too large for the duplicate check"
    )


def test_a_manifest_without_duplicates_has_no_candidates_with_the_default_filter() -> None:
    _, outcome = run_split(image_manifest(20_000))

    assert outcome.duplicate_candidates == 0


def test_the_bloom_filter_never_forgets_a_fingerprint() -> None:
    bloom = BloomFilter(size_bytes=64, hashes=3)
    fingerprints = [fingerprint(f"key-{number}") for number in range(200)]
    for item in fingerprints:
        bloom.add(item)

    assert all(bloom.add(item) for item in fingerprints)


@pytest.mark.parametrize(("size_bytes", "hashes"), [(3, 7), (0, 7), (8, 0), (8, 9)])
def test_a_bloom_filter_needs_a_power_of_two_size_and_one_to_eight_hashes(
    size_bytes: int, hashes: int
) -> None:
    with pytest.raises(ValueError, match="Bloom filter"):
        BloomFilter(size_bytes, hashes)


# --- lines and chunks -------------------------------------------------------------------------------


def test_blank_lines_are_ignored_and_counted() -> None:
    data = b"\n" + image_line(0) + b"\n \t\n" + image_line(1) + b"\r\n\n" + image_line(2) + b"\n\n"

    parts, outcome = run_split(data)

    assert parts == [[image_line(0), image_line(1) + b"\r"], [image_line(2)]]
    assert outcome.blank_lines == 4


def test_a_last_line_without_a_newline_is_an_object() -> None:
    parts, _ = run_split(image_line(0) + b"\n" + image_line(1))

    assert parts == [[image_line(0)], [image_line(1)]]


@pytest.mark.parametrize("chunk_size", [1, 2, 3, 5, 7, 13, 64, 1000])
def test_chunk_boundaries_anywhere_give_the_same_parts(chunk_size: int) -> None:
    lines = [
        json.dumps({"source-ref": f"s3://labelchain-data/vögel/{n}-ñandú.jpg"}, ensure_ascii=False).encode()
        for n in range(40)
    ]
    data = b"\n".join(lines) + b"\n\n"

    split, _ = run_split(data, 3, order="shuffled", seed=5, chunk_size=chunk_size)
    whole, _ = run_split(data, 3, order="shuffled", seed=5, chunk_size=len(data))

    assert split == whole
    assert sorted(line for part in split for line in part) == sorted(lines)


# --- the two passes ---------------------------------------------------------------------------------


def test_the_part_sinks_are_opened_with_the_exact_sizes_and_may_refuse() -> None:
    data = b"\n".join(image_manifest(5))
    asked: list[Sequence[int]] = []

    def refuse(sizes: Sequence[int]) -> list[CollectingSink]:
        asked.append(list(sizes))
        raise RuntimeError("too small")

    with pytest.raises(RuntimeError, match="too small"):
        split_manifest(lambda: [data], refuse, parts=2, source_field="source-ref")

    assert asked == [[3, 2]]


def test_a_second_read_that_differs_from_the_first_is_a_changed_manifest() -> None:
    reads = iter([b"\n".join(image_manifest(6)), b"\n".join(image_manifest(7))])

    with pytest.raises(ManifestChanged):
        split_manifest(
            lambda: [next(reads)],
            lambda sizes: [CollectingSink(), CollectingSink()],
            parts=2,
            source_field="source-ref",
        )


# --- memory -----------------------------------------------------------------------------------------

MILLION_LINE_SPLIT = """
import json, resource, sys
from labelchain.core.dataset_split import split_manifest

LINES = 1_000_000
LINE = b'{"source-ref": "s3://labelchain-data/birds/open-images/train/%07d.jpg"}\\n'

def manifest():
    for start in range(0, LINES, 14_000):  # ~1 MiB chunks, as S3 would stream them
        yield b"".join(LINE % number for number in range(start, min(LINES, start + 14_000)))

class CountingSink:
    def __init__(self):
        self.bytes = 0
    def write(self, data):
        self.bytes += len(data)

sinks = [CountingSink(), CountingSink()]
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
outcome = split_manifest(manifest, lambda sizes: sinks, parts=2, source_field="source-ref")
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
unit = 1 if sys.platform == "darwin" else 1024
print(json.dumps({
    "sizes": list(outcome.sizes),
    "data_bytes": sum(sink.bytes for sink in sinks),
    "peak_growth": (after - before) * unit,
}))
"""


@pytest.mark.scale
def test_a_million_line_manifest_splits_in_memory_far_smaller_than_the_data() -> None:
    # A fresh process's peak RSS, before and after: it counts every allocation (the Bloom filter's
    # bytearray included) and, unlike tracemalloc, does not slow a million lines down tenfold.
    completed = subprocess.run(
        [sys.executable, "-c", MILLION_LINE_SPLIT],
        env={"PYTHONPATH": str(LAMBDAS), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    measured = json.loads(completed.stdout)

    assert measured["sizes"] == [500_000, 500_000]
    assert measured["data_bytes"] > 70_000_000
    assert measured["peak_growth"] < 30_000_000, measured
