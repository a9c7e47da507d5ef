"""The CPU a job runs on: which fp32 product kernels are fastest depends on it (:mod:`.onednn`).

Kept free of torch so provenance can record it cheaply."""

from __future__ import annotations

import os


def vendor(cpuinfo: str = "/proc/cpuinfo") -> str:
    """The CPU's vendor as Linux reports it (``AuthenticAMD``, ``GenuineIntel``), or ''."""
    try:
        with open(cpuinfo) as handle:
            for line in handle:
                if line.startswith("vendor_id"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return ""


def wants_onednn() -> bool:
    """Whether linear layers should go through oneDNN rather than torch's default (MKL):
    on AMD CPUs, where MKL takes a path without AVX-512 (oneDNN 2-2.7x faster products,
    measured on an EPYC), not on Intel ones, where MKL was faster (pretraining 1.24x, sampling
    1.1-1.2x, on an Emerald Rapids Xeon). ``RLVR_ONEDNN=1`` or ``0`` overrides."""
    override = os.environ.get("RLVR_ONEDNN", "")
    if override not in ("", "0", "1"):
        raise ValueError(f"RLVR_ONEDNN must be 0 or 1, not {override!r}")
    return override == "1" if override else vendor() == "AuthenticAMD"
