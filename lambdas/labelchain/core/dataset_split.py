"""Split one input manifest into N parts, streaming, in memory that does not grow with the input.

The split reads the manifest twice (two streaming passes, e.g. two S3 GETs):

1. **Census.** Every line is checked the way CreateJob checks it (``core.manifest.line_problem``) and
   the objects are counted, so the part sizes are known before anything is written. Duplicates are
   found with a fixed-size Bloom filter: an object whose key the filter may have seen before is a
   *candidate* duplicate, and only candidates are kept. With the default 8 MiB filter and 7 hashes
   the false-positive rate is about 1e-7 per line at 1,000,000 lines, so candidates are (almost only)
   the real duplicates.
2. **Distribution.** Every object line is copied byte for byte to its part, in file order within
   the part. Candidate keys are counted exactly on the way: a real duplicate fails the split, a
   false positive costs nothing. With no candidate at all (the usual case) lines are not parsed again.

Memory is the filter, one line, the read chunk and whatever the sinks buffer, plus the candidates
(at most ``MAX_DUPLICATE_CANDIDATES``). Parts are written through ``PartSink``s that the caller
opens after pass 1 (``open_parts`` sees the exact sizes and may still refuse), so a manifest refused
by pass 1 writes nothing; one refused by pass 2 (duplicates) leaves the caller to discard its sinks.

Orders:
- ``file``: part *i* gets the *i*-th contiguous block; sizes differ by at most one, the first parts
  get the extra lines (AWS's tutorial cut 2,500 images into a first and a second half).
- ``shuffled``: an exactly uniform random partition with exact sizes, in one pass: each line goes to
  part *j* with probability ``remaining_j / remaining_total`` (sequential selection), which makes
  every partition into parts of these sizes equally likely. Draws come from
  ``random.Random(seed).randrange``, so a seed, an input and a part count always give the same parts
  (CPython's Mersenne Twister and ``randrange`` give the same draws on 3.11, 3.12 and 3.13; a unit
  test pins them, so a Python upgrade that changed them would fail before it moved anyone's split).
"""

from __future__ import annotations

import hashlib
import itertools
import random
import struct
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from labelchain.core.json_stream import iter_lines
from labelchain.core.manifest import MAX_LINE_BYTES, MAX_REPORTED_PROBLEMS, ManifestProblem, line_problem

BLOOM_FILTER_BYTES = 8 * 1024 * 1024
"""2**26 bits: about 1e-7 false positives per line at 1,000,000 objects with 7 hashes."""
BLOOM_HASHES = 7
MAX_BLOOM_HASHES = 8
"""The fingerprint is a 32-byte blake2b digest: eight 32-bit words, one per hash."""
MAX_BLOOM_FILTER_BYTES = 1 << 29
"""Byte index and bit index come from disjoint bits of one 32-bit word while the size is <= 2**29."""
MAX_DUPLICATE_CANDIDATES = 100_000
"""Candidate keys kept for pass 2 (~10 MB, and up to as much again for pass 2's first-occurrence
table); a manifest with more repeated objects gets a duplicate count that is a lower bound."""

SplitOrder = Literal["file", "shuffled"]
_FINGERPRINT_BYTES = 4 * MAX_BLOOM_HASHES
_BIT_MASKS = bytes(1 << bit for bit in range(8))


class PartSink(Protocol):
    """Where the lines of one part go (a multipart upload, a file, a counter in tests)."""

    def write(self, data: bytes, /) -> None: ...


class ManifestRejected(ValueError):
    """The manifest breaks a rule; ``problems`` names its first offending lines."""

    def __init__(self, summary: str, problems: Sequence[ManifestProblem]) -> None:
        self.summary = summary
        self.problems = tuple(problems)
        super().__init__(f"{summary}; first: {self.first_problems}" if problems else summary)

    @property
    def first_problems(self) -> str:
        return "; ".join(f"line {p.line}: {p.problem}" for p in self.problems)


class ManifestChanged(ValueError):
    """The second read did not return what the first one did (the object was replaced in between)."""


@dataclass(frozen=True)
class ManifestCensus:
    """What pass 1 found: the object count and the keys that may repeat."""

    objects: int
    blank_lines: int
    duplicate_candidates: frozenset[bytes]
    """Fingerprints of the candidate keys (32-byte blake2b digests)."""
    candidates_overflowed: bool = False


@dataclass(frozen=True)
class SplitOutcome:
    """The objects written to each part, and how much duplicate checking pass 2 needed."""

    sizes: tuple[int, ...]
    blank_lines: int
    duplicate_candidates: int


class BloomFilter:
    """A fixed-size set sketch: no false negatives, rare false positives, no growth.

    Each of the ``hashes`` bit positions is one 32-bit word of the fingerprint: its top bits pick the
    byte, its low three bits the bit (the size is a power of two, so no division is needed).
    """

    def __init__(self, size_bytes: int = BLOOM_FILTER_BYTES, hashes: int = BLOOM_HASHES) -> None:
        if size_bytes < 1 or size_bytes & (size_bytes - 1) or size_bytes > MAX_BLOOM_FILTER_BYTES:
            raise ValueError(f"a Bloom filter's size must be a power of two up to {MAX_BLOOM_FILTER_BYTES}")
        if not 1 <= hashes <= MAX_BLOOM_HASHES:
            raise ValueError(f"a Bloom filter takes 1-{MAX_BLOOM_HASHES} hashes, got {hashes}")
        self._bits = bytearray(size_bytes)
        self._shift = 32 - (size_bytes.bit_length() - 1)
        self._words = struct.Struct(f"<{hashes}I").unpack_from

    def add(self, fingerprint: bytes) -> bool:
        """Insert a fingerprint; True if it may have been inserted before (all its bits were set)."""
        bits, shift = self._bits, self._shift
        seen = True
        for word in self._words(fingerprint):
            index, mask = word >> shift, _BIT_MASKS[word & 7]
            byte = bits[index]
            if not byte & mask:
                seen = False
                bits[index] = byte | mask
        return seen


def fingerprint(key: str) -> bytes:
    """The 32-byte digest that feeds every Bloom hash and identifies a candidate."""
    return hashlib.blake2b(key.encode(), digest_size=_FINGERPRINT_BYTES).digest()


def _is_blank(raw: bytes) -> bool:
    return not raw or raw.isspace()


def take_census(
    chunks: Iterable[bytes],
    source_field: str,
    *,
    bloom_bytes: int = BLOOM_FILTER_BYTES,
    bloom_hashes: int = BLOOM_HASHES,
) -> ManifestCensus:
    """Pass 1: check every line and count the objects; raises ``ManifestRejected`` on bad lines."""
    may_have_seen = BloomFilter(bloom_bytes, bloom_hashes).add
    objects = blank = problem_count = 0
    problems: list[ManifestProblem] = []
    candidates: set[bytes] = set()
    overflowed = False
    for number, raw in enumerate(iter_lines(chunks, max_line_bytes=MAX_LINE_BYTES), start=1):
        if _is_blank(raw):
            blank += 1
            continue
        key, problem = line_problem(raw, source_field)
        if key is None:
            problem_count += 1
            if len(problems) < MAX_REPORTED_PROBLEMS:
                problems.append(ManifestProblem(line=number, problem=str(problem)))
            continue
        objects += 1
        digest = fingerprint(key)
        if may_have_seen(digest):
            if len(candidates) < MAX_DUPLICATE_CANDIDATES:
                candidates.add(digest)
            else:
                overflowed = True
    if problem_count:
        raise ManifestRejected(f"{problem_count:,} bad line(s)", problems)
    return ManifestCensus(objects, blank, frozenset(candidates), overflowed)


def part_sizes(objects: int, parts: int) -> list[int]:
    """Sizes of ``parts`` parts of ``objects`` objects: differing by at most one, larger ones first."""
    if parts < 2:
        raise ValueError(f"a split needs at least 2 parts, got {parts}")
    base, extra = divmod(objects, parts)
    return [base + 1 if part < extra else base for part in range(parts)]


def file_order_parts(sizes: Sequence[int]) -> Iterator[int]:
    """The part of each object in file order: contiguous blocks of the given sizes."""
    for part, size in enumerate(sizes):
        yield from itertools.repeat(part, size)


def shuffled_parts(sizes: Sequence[int], seed: int) -> Iterator[int]:
    """The part of each object for a uniform random partition with exactly these sizes.

    Sequential selection: object by object, part *j* is drawn with probability
    ``remaining_j / remaining_total``. Any one partition comes out with probability
    ``prod(sizes_j!) / n!``, the same for all of them. Memory: one counter per part.
    """
    remaining = list(sizes)
    total = sum(remaining)
    draw_below = random.Random(seed).randrange
    while total:
        draw = draw_below(total)
        part = 0
        while draw >= remaining[part]:
            draw -= remaining[part]
            part += 1
        remaining[part] -= 1
        total -= 1
        yield part


def assign_parts(sizes: Sequence[int], order: SplitOrder, seed: int | None = None) -> Iterator[int]:
    """The part index of each object, in file order, for the chosen split order."""
    if order == "file":
        return file_order_parts(sizes)
    if seed is None:
        raise ValueError("a shuffled split needs a seed (it must be reproducible)")
    return shuffled_parts(sizes, seed)


class _DuplicateCounter:
    """Pass 2's exact count of the candidate keys: the first occurrence of each, and every repeat."""

    def __init__(self, census: ManifestCensus, source_field: str) -> None:
        self._candidates = census.duplicate_candidates
        self._overflowed = census.candidates_overflowed
        self._source_field = source_field
        self._first_line: dict[str, int] = {}
        self.duplicates = 0
        self.problems: list[ManifestProblem] = []

    def see(self, number: int, raw: bytes) -> None:
        key, _ = line_problem(raw, self._source_field)
        if key is None:
            raise ManifestChanged(f"line {number} was valid on the first read and is not on the second")
        if fingerprint(key) not in self._candidates:
            return
        first = self._first_line.setdefault(key, number)
        if first != number:
            self.duplicates += 1
            if len(self.problems) < MAX_REPORTED_PROBLEMS:
                self.problems.append(
                    ManifestProblem(line=number, problem=f"repeats line {first} ({key[:80]!r})")
                )

    def raise_if_duplicates(self) -> None:
        if self.duplicates:
            at_least = "at least " if self._overflowed else ""
            raise ManifestRejected(
                f"{at_least}{self.duplicates:,} duplicate object(s) (each object is labeled once)",
                self.problems,
            )
        if self._overflowed:
            raise ManifestRejected(
                f"more than {MAX_DUPLICATE_CANDIDATES:,} lines may repeat an earlier object, too many to "
                "confirm; the manifest is too large for the duplicate check",
                [],
            )


def distribute_lines(
    chunks: Iterable[bytes],
    census: ManifestCensus,
    assignment: Iterator[int],
    sinks: Sequence[PartSink],
    source_field: str,
) -> None:
    """Pass 2: copy each object line (plus ``\\n``) to the sink ``assignment`` names for it.

    Raises ``ManifestRejected`` for confirmed duplicates (after writing: the caller discards the
    sinks) and ``ManifestChanged`` if the input is not the one pass 1 counted.
    """
    writers = [sink.write for sink in sinks]
    counter = _DuplicateCounter(census, source_field) if census.duplicate_candidates else None
    written = 0
    for number, raw in enumerate(iter_lines(chunks, max_line_bytes=MAX_LINE_BYTES), start=1):
        if _is_blank(raw):
            continue
        if counter is not None:
            counter.see(number, raw)
        part = next(assignment, None)
        if part is None:
            raise ManifestChanged(f"the second read holds more than the {census.objects:,} objects counted")
        writers[part](raw + b"\n")
        written += 1
    if written != census.objects:
        raise ManifestChanged(f"the second read holds {written:,} objects, the first {census.objects:,}")
    if counter is not None:
        counter.raise_if_duplicates()


def split_manifest(
    open_manifest: Callable[[], Iterable[bytes]],
    open_parts: Callable[[Sequence[int]], Sequence[PartSink]],
    *,
    parts: int,
    source_field: str,
    order: SplitOrder = "file",
    seed: int | None = None,
    bloom_bytes: int = BLOOM_FILTER_BYTES,
    bloom_hashes: int = BLOOM_HASHES,
) -> SplitOutcome:
    """Split a manifest into ``parts`` parts (any number >= 2) in two streaming passes.

    ``open_manifest`` is called once per pass and must return the same bytes both times.
    ``open_parts`` is called between the passes with the exact part sizes, only if every line is
    valid; it returns one sink per part, or raises to refuse the split before anything is written.
    Raises ``ManifestRejected`` (bad lines, duplicates), ``ManifestChanged`` and
    ``core.json_stream.MalformedJsonStreamError`` (a line longer than the limit).
    """
    part_sizes(0, parts)  # refuse a bad request before the first read
    if order == "shuffled" and seed is None:
        raise ValueError("a shuffled split needs a seed (it must be reproducible)")
    census = take_census(open_manifest(), source_field, bloom_bytes=bloom_bytes, bloom_hashes=bloom_hashes)
    sizes = part_sizes(census.objects, parts)
    sinks = open_parts(sizes)
    if len(sinks) != parts:
        raise ValueError(f"open_parts returned {len(sinks)} sinks for {parts} parts")
    distribute_lines(open_manifest(), census, assign_parts(sizes, order, seed), sinks, source_field)
    return SplitOutcome(tuple(sizes), census.blank_lines, len(census.duplicate_candidates))
