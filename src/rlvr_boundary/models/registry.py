"""The model registry (results/tables/models.csv): every other table names models by its ids."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from ..workflow.job_io import sha256_tree

REGISTRY_COLUMNS = ["model", "family", "role", "parent", "algorithm", "step", "regime", "study",
                    "rl_seed", "checkpoint_of", "source", "revision_or_sha256"]
ROLES = ("base", "rl", "distilled", "teacher", "imported", "instruct")


def registry_table(rows: list[dict], digests: list[str]) -> pd.DataFrame:
    """Config-derived rows plus each checkpoint's identity: the sha256 of a trained
    checkpoint folder, or a Hub id@revision with its manifest's digest."""
    frame = pd.DataFrame(rows).reindex(columns=REGISTRY_COLUMNS)
    frame["source"] = frame["source"].fillna("trained")
    frame["revision_or_sha256"] = list(digests)
    unknown = set(frame.role) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown model roles {sorted(unknown)}")
    frame["step"] = frame["step"].astype("Int64")
    frame["rl_seed"] = frame["rl_seed"].fillna(0).astype(int)
    return frame.fillna({"family": "", "parent": "", "algorithm": "", "regime": "", "study": "",
                         "checkpoint_of": ""})


def checkpoint_identity(path: str) -> tuple[str | None, str]:
    """A model's source and identity: for a manifest (a fetched or given checkpoint), its
    source and Hub id@revision or path with the files' digest; for a checkpoint folder
    trained here, no source of its own (the registry row's) and the folder's sha256."""
    if not str(path).endswith(".json"):
        return None, sha256_tree(path)
    manifest = json.loads(Path(path).read_text())
    where = (f"{manifest['repo']}@{manifest['revision']}" if manifest["source"] == "hub"
             else manifest["path"])
    return manifest["source"], f"{where} sha256:{manifest['digest']}"
