"""claims.md's record of where a checkpoint study ran (results/provenance.json, merged from
the records its GPU jobs wrote: rlvr_boundary.workflow.job_environment)."""

from __future__ import annotations

from .sections import _table


def machines_section(provenance: dict, path: str = "results/provenance.json") -> str:
    git = provenance.get("git") or {}
    commit = git.get("commit") or "none (not a git checkout)"
    dirty = " with uncommitted changes" if git.get("dirty") else ""
    rows = [[m["hostname"], m["gpu_names"], m["gpu_count"], m["nvidia_driver"], m["cuda"],
             m["torch"], m["transformers"], m["vllm"], m["trl"],
             ", ".join(f"{rule} {count}" for rule, count in sorted(m["rules"].items()))]
            for m in provenance.get("machines", [])]
    lines = ["## Where it ran", "",
             f"Sampling and training jobs recorded their machine themselves; {path} holds every "
             f"job's record, the config (sha256 `{provenance['config_sha256'][:12]}`), the seeds "
             f"and each checkpoint's identity. Workflow commit `{commit}`{dirty}. `none`: not "
             "present in that job (a CPU job has no GPU, driver or CUDA build; an hf-backend "
             "environment has no vLLM).", ""]
    if not rows:
        lines.append("No GPU job ran in this study (every model's samples were made elsewhere).")
    else:
        lines += _table(["host", "GPUs", "GPU count", "NVIDIA driver", "CUDA", "torch",
                         "transformers", "vLLM", "TRL", "jobs"], rows)
    other = provenance.get("jobs_under_other_config") or []
    if other:
        lines += ["", f"{len(other)} job(s) ran under a config whose sha256 differs from this "
                  "one's (a later change that reran none of them, e.g. of the analysis); each "
                  "job's own config_sha256 is in the file."]
    return "\n".join(lines)
