"""What verifying a checkpoint's sha256 costs per GB, against reading the same bytes.

    python perf/checkpoint_verify.py [--size-gb 1] [--shards 4] [--repeats 3] [--dir /tmp]

Writes a temp file of --size-gb (random bytes), then, best of --repeats interleaved runs,
with the file in the page cache (the case once a job has read or written it; a cold read
from disk is bounded by the disk instead, for the plain read and the hash alike):

- baseline: a plain read of every byte (8 MiB ``readinto``, nothing computed);
- ``integrity.file_digests``: the sha256 every checkpoint load computes (same reads);
- ``job_io.sha256_file``: the existing 1 MiB-block hash, for reference;
- ``verify_checkpoint`` on a folder of the same bytes in --shards safetensors files, as a
  multi-shard checkpoint is: the files hashed by a thread pool (one per CPU, up to 8).

Prints GB/s of each and its time over the plain read's.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

from rlvr_boundary.models import integrity
from rlvr_boundary.workflow.job_io import sha256_file

BLOCK = 8 << 20


def plain_read(path: Path) -> int:
    buffer = bytearray(BLOCK)
    total = 0
    with open(path, "rb", buffering=0) as handle:
        while read := handle.readinto(buffer):
            total += read
    return total


def timed(function, *args) -> float:
    integrity._DIGESTS.clear()  # no per-process reuse: every run reads and hashes
    started = time.perf_counter()
    function(*args)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-gb", type=float, default=1.0)
    parser.add_argument("--shards", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--dir", default=None, help="where the temp files go (default: $TMPDIR)")
    args = parser.parse_args()

    size = int(args.size_gb * 1e9)
    root = Path(tempfile.mkdtemp(prefix="checkpoint_verify.", dir=args.dir))
    try:
        block = os.urandom(64 << 20)
        whole = root / "model.safetensors"
        folder = root / "sharded"
        folder.mkdir()
        with open(whole, "wb") as handle:
            for start in range(0, size, len(block)):
                handle.write(block[: min(len(block), size - start)])
        shard_size = -(-size // args.shards)
        with open(whole, "rb") as source:
            for index in range(args.shards):
                with open(folder / f"model-{index + 1:05d}-of-{args.shards:05d}.safetensors", "wb") as out:
                    out.write(source.read(shard_size))
        (folder / "config.json").write_text("{}")
        integrity.write_checksums(folder)
        print(f"{size / 1e9:.2f} GB, {args.shards} shards, {os.cpu_count()} CPUs, "
              f"best of {args.repeats} interleaved runs, file in the page cache")
        plain_read(whole)  # warm the cache
        runs = {"plain read (baseline)": [], "integrity.file_digests (sha256)": [],
                "job_io.sha256_file (1 MiB blocks)": [], f"verify_checkpoint, {args.shards} shards": []}
        for _ in range(args.repeats):
            runs["plain read (baseline)"].append(timed(plain_read, whole))
            runs["integrity.file_digests (sha256)"].append(timed(integrity.file_digests, whole))
            runs["job_io.sha256_file (1 MiB blocks)"].append(timed(sha256_file, whole))
            runs[f"verify_checkpoint, {args.shards} shards"].append(
                timed(integrity.verify_checkpoint, folder))
        baseline = min(runs["plain read (baseline)"])
        rows = []
        for name, seconds in runs.items():
            best = min(seconds)
            rows.append({"what": name, "seconds": round(best, 3),
                         "GB_per_s": round(size / 1e9 / best, 2),
                         "s_per_GB": round(best / (size / 1e9), 3),
                         "over_plain_read": round(best / baseline, 2)})
            print(f"{name:40s} {best:7.3f} s  {size / 1e9 / best:6.2f} GB/s  "
                  f"{best / (size / 1e9):6.3f} s/GB  {best / baseline:5.2f}x the plain read")
        print(json.dumps(rows))
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
