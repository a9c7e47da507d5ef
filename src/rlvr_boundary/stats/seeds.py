"""Named seeds: every random stream in the study is derived from one master seed."""

from __future__ import annotations

import hashlib


def derive_seed(master: int, *names: object) -> int:
    """A stable 31-bit seed for ``names`` (hashlib, not ``hash()``, which varies per process)."""
    text = "/".join([str(master), *map(str, names)])
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "little") & 0x7FFFFFFF
