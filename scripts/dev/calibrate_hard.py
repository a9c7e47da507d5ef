"""Bases-only measurement that fixes `rare_depths.share`, the share of depth-5/6 chains in
the bases' pretraining corpus, before any RL or distilled model of that world exists.

The rule: `hard` is the AIME analog when each family's base sometimes solves it - trace
pass@1 below 0.05 and pass@256 between 0.2 and 0.7 - and each family's share is the
smallest value of the grid measured for it at which its base meets that (the families learn
deep chains at very different rates, so their grids differ). Only the bases' corpus changes;
nothing else of the world does, and no RL or distilled model is involved.

For each share, a copy of this tree with config.yaml's families given that share runs the
workflow's own rules up to the bases' graded `hard` samples; the table lists trace pass@1
and pass@256 per family (the unbiased estimator, 100 problems, n = 256).

    python scripts/dev/calibrate_hard.py 0.0005 0.001 0.0015 0.002 0.0025 0.005 0.01 \
        --families deep --out deep.csv
    python scripts/dev/calibrate_hard.py 0.01 0.02 0.05 --families wide --out wide.csv
"""

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import yaml

from rlvr_boundary.stats.passk import pass_at_k

REPO = Path(__file__).resolve().parents[2]
RARE_DEPTHS = [5, 6]
TARGET_PASS1, TARGET_PASS_N = 0.05, (0.2, 0.7)


def prepare_copy(share: float, folder: Path) -> dict:
    """A copy of the tree (code and configs, no results) whose families get `share`."""
    if folder.exists():
        shutil.rmtree(folder)
    ignore = shutil.ignore_patterns(".git", ".venv*", "results", ".snakemake", "logs",
                                    "benchmarks", "__pycache__")
    shutil.copytree(REPO, folder, ignore=ignore)
    config = yaml.safe_load((folder / "config.yaml").read_text())
    for spec in config["families"].values():
        spec["pretrain"]["rare_depths"] = {"depths": RARE_DEPTHS, "share": share}
    (folder / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return config


def measure(share: float, families: list[str] | None, workdir: Path, cores: int) -> list[dict]:
    folder = workdir / f"share_{share}"
    config = prepare_copy(share, folder)
    temperature = config["analysis"]["claim_temperature"]
    families = sorted(families or config["families"])
    targets = [f"results/scored/{family}-base/hard/T{temperature}.parquet" for family in families]
    env = {**os.environ, "PYTHONPATH": str(folder / "src"), "PYTHONHASHSEED": "0"}
    snakemake = Path(sys.executable).with_name("snakemake")
    subprocess.run([str(snakemake), "--cores", str(cores), *targets], cwd=folder, env=env,
                   check=True)
    return [base_row(share, family, pd.read_parquet(folder / target))
            for family, target in zip(families, targets)]


def base_row(share: float, family: str, scored: pd.DataFrame) -> dict:
    """Trace pass@1 and pass@n of one base's graded `hard` samples, and the verdict."""
    counts = scored.groupby("problem_id").correct.agg(["size", "sum"])
    n = int(counts["size"].iloc[0])
    pass1 = sum(pass_at_k(n, int(c), 1) for c in counts["sum"]) / len(counts)
    pass_n = sum(pass_at_k(n, int(c), n) for c in counts["sum"]) / len(counts)
    return {"share": share, "family": family, "problems": len(counts), "n": n,
            "trace_pass_at_1": round(float(pass1), 4),
            f"trace_pass_at_{n}": round(float(pass_n), 4),
            "meets_target": bool(pass1 < TARGET_PASS1
                                 and TARGET_PASS_N[0] <= pass_n <= TARGET_PASS_N[1])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("shares", nargs="+", type=float)
    parser.add_argument("--families", nargs="+", help="only these families' bases (default: all)")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/calibrate_hard"))
    parser.add_argument("--cores", type=int, default=2)
    args = parser.parse_args()
    rows = [row for share in sorted(args.shares)
            for row in measure(share, args.families, args.workdir, args.cores)]
    table = pd.DataFrame(rows)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.out, index=False)
    print(table.to_string(index=False))
    for family, rows in table.groupby("family"):
        meeting = rows[rows.meets_target]
        chosen = meeting.share.min() if len(meeting) else None
        print(f"{family}: smallest share meeting the target: {chosen}")


if __name__ == "__main__":
    main()
