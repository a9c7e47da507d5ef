"""The model registry (results/tables/models.csv): every other table names models by its ids."""

from __future__ import annotations

import pandas as pd

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
