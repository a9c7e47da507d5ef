"""Installed package versions, read from their metadata: nothing is imported (cheap enough
for a job's first lines, before its slow imports)."""

from __future__ import annotations

from importlib import metadata


def installed_versions(names, missing=None) -> dict:
    """Each distribution's installed version, ``missing`` where it is not installed."""
    versions = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = missing
    return versions
