"""Import generations written by the paper's evaluation code into our sample schema.

LeapLabTHU/limit-of-RLVR's ``math_eval.py`` (from the Qwen2.5-Math toolkit) writes one JSON
object per problem to ``<split>_<prompt>_<num>_seed<S>_t<T>_s<start>_e<end>.jsonl``:
``idx`` (the problem's ``idx`` field, or its 0-based line in the benchmark file when the
file has none), ``question``, ``gt`` (the gold answer as its parser read it), ``code``
(the n completions), ``pred`` (the extracted answers), ``score`` (the paper's lenient
grade of each) and, in later versions, ``finish_reason`` (vLLM's "stop" / "length").
Several files (one per seed) hold more samples of the same problems.

Imported samples keep the paper's own grade (``score_original``) so its counts can be
compared with our regrading, and pass@k and every analysis run without resampling.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from ..grading.counting import COUNT_COLUMNS, SAMPLE_COLUMNS

IMPORT_COLUMNS = SAMPLE_COLUMNS + ["prompt_index", "pred_original", "score_original", "source_file"]
FINISH_REASONS = {"stop": "stop", "length": "length"}


def benchmark_index(raw_records: list[dict], problem_ids: list[str]) -> dict[int, tuple[int, str]]:
    """The evaluation code's ``idx`` -> (line, our problem_id), given the benchmark file's
    records and our normalised ids in the same (line) order."""
    if len(raw_records) != len(problem_ids):
        raise ValueError("benchmark records and problem ids differ in length")
    index = {}
    for line, (record, problem_id) in enumerate(zip(raw_records, problem_ids)):
        idx = int(record.get("idx", line))
        if idx in index:
            raise ValueError(f"idx {idx} repeats in the benchmark file")
        index[idx] = (line, problem_id)
    return index


def _read_jsonl(path: str | Path) -> list[dict]:
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def import_math_eval(paths: list[str | Path], index: dict[int, tuple[int, str]],
                     missing_finish_reason: str | None = None) -> pd.DataFrame:
    """All samples of the given output files (in sorted path order), one row per sample.

    Refuses a row whose ``code``, ``score`` and ``pred`` lists differ in length, an ``idx``
    not in the benchmark, problems with different sample counts, and files without
    ``finish_reason`` unless ``missing_finish_reason`` says what to assume ("stop": old
    versions of the code did not record truncation, so nothing can be said about it).
    """
    rows = []
    for path in sorted(map(str, paths)):
        for record in _read_jsonl(path):
            idx = int(record["idx"])
            if idx not in index:
                raise ValueError(f"{path}: idx {idx} is not a problem of the benchmark")
            line, problem_id = index[idx]
            completions, scores = record["code"], record["score"]
            preds = record.get("pred", [None] * len(completions))
            reasons = record.get("finish_reason")
            if reasons is None or any(r is None for r in reasons):
                if missing_finish_reason is None:
                    raise ValueError(f"{path}: idx {idx} has no finish_reason; pass "
                                     "missing_finish_reason='stop' to assume no truncation")
                reasons = [r if r is not None else missing_finish_reason
                           for r in (reasons or [None] * len(completions))]
            if not len(completions) == len(scores) == len(preds) == len(reasons):
                raise ValueError(f"{path}: idx {idx}: code, score, pred and finish_reason "
                                 "lists differ in length")
            unknown = set(reasons) - set(FINISH_REASONS)
            if unknown:
                raise ValueError(f"{path}: idx {idx}: unknown finish_reason {sorted(unknown)}")
            for completion, score, pred, reason in zip(completions, scores, preds, reasons):
                rows.append((problem_id, str(completion), FINISH_REASONS[reason], line,
                             None if pred is None else str(pred), bool(score), Path(path).name))
    frame = pd.DataFrame(rows, columns=["problem_id", "completion", "finish_reason", "prompt_index",
                                        "pred_original", "score_original", "source_file"])
    if frame.empty:
        raise ValueError("no samples in the given files")
    frame["sample_id"] = frame.groupby("problem_id").cumcount().astype("int64")
    # Token counts are not in the files (re-tokenise with the model's tokenizer if needed).
    frame["completion_tokens"] = pd.array([pd.NA] * len(frame), dtype="Int64")
    sizes = frame.groupby("problem_id").size()
    if sizes.nunique() != 1:
        raise ValueError(f"problems have different sample counts: {sorted(set(sizes))}")
    return frame[IMPORT_COLUMNS].sort_values(["prompt_index", "sample_id"]).reset_index(drop=True)


def original_counts(samples: pd.DataFrame, model: str, benchmark: str,
                    temperature: float, metric: str = "paper_grader") -> pd.DataFrame:
    """Per-problem counts from the paper's own grades (``score_original``)."""
    grouped = samples.score_original.groupby(samples.problem_id)
    return pd.DataFrame({
        "model": model, "benchmark": benchmark, "temperature": float(temperature),
        "metric": metric, "problem_id": grouped.size().index,
        "n": grouped.size().to_numpy(), "c": grouped.sum().to_numpy().astype(int)})[COUNT_COLUMNS]
