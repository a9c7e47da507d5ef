"""The README's findings table, generated from a committed snapshot of a finished run.

``make findings`` copies a run's claims.json, provenance.json and one figure to
docs/findings/ with a note of when and where the run was made (run.json), and rewrites the
table between the README's findings markers from them; tests/unit/test_findings.py checks
that the README agrees with the snapshot, so no number in it is typed by hand.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
from datetime import date
from pathlib import Path

START, END = "<!-- findings:start -->", "<!-- findings:end -->"
SNAPSHOT_FILES = ("results/report/claims.json", "results/provenance.json")


def _effect(row: dict) -> str:
    if row.get("value") is None:
        return ""
    interval = (f" [{row['ci_low']:+.3f}, {row['ci_high']:+.3f}]"
                if row.get("ci_low") is not None and row.get("ci_high") is not None else "")
    return f"{row['value']:+.3f}{interval}"


def _scopes(evidence: str) -> str:
    """The scope count that opens an overall row's evidence ("8 scopes: 0 holds, ...")."""
    first = evidence.split(";", 1)[0]
    return first if " scopes: " in first else ""


def findings_table(claims: list[dict], run: dict) -> str:
    """One row per claim: its overall verdict, pooled effect with CI (description only)
    and how its scopes came out; above it, where and when the run was made."""
    overall = sorted((row for row in claims if row["scope"] == "overall"), key=lambda r: r["id"])
    lines = [f"Run of {run['date']} on {run['machine']}, commit {run['commit'][:10]}"
             f"{' (uncommitted changes)' if run.get('dirty') else ''}; "
             "from docs/findings/claims.json (`make findings` refreshes it).", "",
             "| claim | verdict | pooled effect [95% CI] | scopes |", "|---|---|---|---|"]
    for row in overall:
        lines.append(f"| {row['id']}: {row['statement']} | {row['verdict']} | {_effect(row)} "
                     f"| {_scopes(row.get('evidence', ''))} |")
    return "\n".join(lines)


def with_findings(readme: str, table: str) -> str:
    """The README with the text between its findings markers replaced by ``table``."""
    if readme.count(START) != 1 or readme.count(END) != 1:
        raise ValueError(f"the README needs one {START} and one {END} line")
    head, rest = readme.split(START)
    _, tail = rest.split(END)
    return f"{head}{START}\n{table}\n{END}{tail}"


def machine() -> str:
    """This machine in a few words: CPU model and the cores this process may use."""
    model = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        names = [line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines()
                 if line.startswith("model name")]
        model = names[0] if names else model
    return f"{model}, {len(os.sched_getaffinity(0))} cores"


def snapshot(workdir: Path, out: Path, figure: str) -> dict:
    """Copy a finished run's claims, provenance and one figure to ``out``; write run.json."""
    out.mkdir(parents=True, exist_ok=True)
    for name in (*SNAPSHOT_FILES, figure):
        shutil.copy2(workdir / name, out / Path(name).name)
    git = json.loads((out / "provenance.json").read_text())["git"]
    run = {"date": date.today().isoformat(), "machine": machine(), "commit": git["commit"],
           "dirty": git["dirty"]}
    (out / "run.json").write_text(json.dumps(run, indent=2) + "\n")
    return run


def read_snapshot(folder: Path) -> tuple[list[dict], dict]:
    return (json.loads((folder / "claims.json").read_text()),
            json.loads((folder / "run.json").read_text()))
