"""A generated stand-in for AWS's bird dataset: tiny images made here, nothing downloaded.

Each object is a small PNG (a few hundred bytes) drawn from a seed, uploaded to the data bucket, and
listed in a JSON-lines manifest, so every ``source-ref`` points at a real object. The images carry no
birds: the Ground Truth emulator decides what is labeled how (and says so: it is a simulation).
"""

from __future__ import annotations

import json
import random
import struct
import zlib
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from labelchain.core.s3_layout import s3_uri

IMAGE_SIZE = 16


def tiny_png(seed: int, size: int = IMAGE_SIZE) -> bytes:
    """A valid ``size``×``size`` RGB PNG whose colours come from ``seed``."""
    rng = random.Random(seed)
    sky = (rng.randrange(120, 200), rng.randrange(160, 230), 255)
    bird = (rng.randrange(40, 120), rng.randrange(20, 80), rng.randrange(0, 40))
    x0, y0 = rng.randrange(0, size - 5), rng.randrange(0, size - 4)
    rows = []
    for y in range(size):
        row = bytearray([0])  # filter type 0
        for x in range(size):
            row.extend(bird if x0 <= x < x0 + 5 and y0 <= y < y0 + 4 else sky)
        rows.append(bytes(row))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"".join(rows)))
        + chunk(b"IEND", b"")
    )


def upload_bird_dataset(
    s3: Any, bucket: str, prefix: str, *, objects: int, seed: int, workers: int = 8
) -> str:
    """Upload ``objects`` generated images and their manifest; returns the manifest's S3 URI."""
    keys = [f"{prefix}/images/bird-{index:05d}.png" for index in range(objects)]

    def put(index: int) -> None:
        s3.put_object(
            Bucket=bucket, Key=keys[index], Body=tiny_png(seed * 1_000_003 + index), ContentType="image/png"
        )

    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(put, range(objects)))
    manifest = "".join(json.dumps({"source-ref": s3_uri(bucket, key)}) + "\n" for key in keys)
    manifest_key = f"{prefix}/birds-{objects}.manifest"
    s3.put_object(Bucket=bucket, Key=manifest_key, Body=manifest.encode())
    return s3_uri(bucket, manifest_key)
