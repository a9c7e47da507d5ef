"""Distillation (claim C7): fine-tune a base model on a stronger teacher's verified traces.

The teacher samples worked answers with :func:`~rlvr_boundary.sampling.generate.sample_completions`;
only traces whose every step is right (``grade_trace == "correct"``) are kept, and the
base checkpoint is fine-tuned on them with TRL's ``SFTTrainer`` in its prompt/completion
format. TRL tokenises an example as ``tokenizer(prompt + completion + eos)``, i.e. with our
tokenizer ``<s>`` + one token per character + ``</s>``, and puts the loss on the
completion and eos only - the very layout pretraining used and the sampler feeds
(``<s>`` + prompt, then the completion up to eos). ``tests/unit/test_distill.py`` checks it.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import tempfile
import time

import datasets
import pandas as pd
from transformers import TrainerCallback

from ..models.allocator import retain_freed_memory
from ..models.modeling import context_length, load_checkpoint, set_determinism
from ..sampling.generate import sample_completions
from ..world.task import grade_trace, parse_prompt

log = logging.getLogger(__name__)

DISTILL_COLUMNS = ["problem_id", "prompt", "completion"]


def build_distillation_set(teacher, tokenizer, prompts: pd.DataFrame, samples_per_prompt: int,
                           temperature: float, max_new_tokens: int, seed: int) -> pd.DataFrame:
    """The teacher's fully correct traces: one row per kept sample (a prompt answered
    correctly k times appears k times, so the SFT data weighs prompts as the teacher did)."""
    samples = sample_completions(teacher, tokenizer, prompts["prompt"].tolist(), n=samples_per_prompt,
                                 temperature=temperature, top_p=1.0, max_new_tokens=max_new_tokens,
                                 seed=seed)
    rows = prompts.iloc[samples["prompt_index"].to_numpy()].reset_index(drop=True)
    grades = [grade_trace(parse_prompt(prompt), completion, finish)
              for prompt, completion, finish in zip(rows["prompt"], samples["completion"],
                                                    samples["finish_reason"])]
    correct = pd.Series(grades) == "correct"
    kept = pd.DataFrame({"problem_id": rows["problem_id"], "prompt": rows["prompt"],
                         "completion": samples["completion"]})[correct.to_numpy()]
    log.info("distillation set: kept %d of %d teacher traces (%.1f%%) on %d of %d prompts",
             len(kept), len(samples), 100 * len(kept) / max(1, len(samples)),
             kept["problem_id"].nunique(), len(prompts))
    if kept.empty:
        raise ValueError(f"the teacher got none of its {len(samples)} traces fully right; "
                         "nothing to distill")
    return kept.reset_index(drop=True)[DISTILL_COLUMNS]


def sft(base_path, dataset: pd.DataFrame, settings: dict, seed: int, threads: int,
        device: str = "cpu"):
    """Fine-tune the checkpoint at ``base_path`` on ``dataset`` (prompt, completion).

    Returns ``(model, tokenizer, history)`` with history columns step, loss; the caller
    saves with :func:`~rlvr_boundary.models.modeling.save_checkpoint`. fp32 on CPU: the same
    inputs, seed and threads give the same weights. ``device="cuda"`` trains on the GPU.
    """
    set_determinism(seed, threads)
    retain_freed_memory()  # as in pretraining: measured 1.28x per SFT run, same loss
    model, tokenizer = load_checkpoint(base_path, device)
    output_dir = tempfile.mkdtemp(prefix="sft-")
    try:
        with _quiet_datasets():
            trainer = make_trainer(model, tokenizer, dataset, settings, seed, output_dir)
            trainer.train()
    finally:
        shutil.rmtree(output_dir, ignore_errors=True)
    history = pd.DataFrame([{"step": int(entry["step"]), "loss": float(entry["loss"])}
                            for entry in trainer.state.log_history if "loss" in entry],
                           columns=["step", "loss"])
    if not history.empty:
        log.info("SFT done: %d steps, loss %.4f -> %.4f", settings["steps"],
                 history.loss.iloc[0], history.loss.iloc[-1])
    model = trainer.model
    model.eval()
    return model, tokenizer, history


def make_trainer(model, tokenizer, dataset: pd.DataFrame, settings: dict, seed: int, output_dir: str):
    """The SFTTrainer that :func:`sft` runs (separate so tests can inspect its data)."""
    from transformers import PrinterCallback
    from trl import SFTTrainer  # imported here: TRL is slow to import and only SFT needs it

    _check_fits(dataset, tokenizer, context_length(model))
    train = datasets.Dataset.from_pandas(dataset[["prompt", "completion"]].reset_index(drop=True))
    trainer = SFTTrainer(model=model, args=_sft_config(output_dir, settings, seed, context_length(model),
                                                    use_cpu=model.device.type == "cpu"),
                         train_dataset=train, processing_class=tokenizer)
    # With tqdm off the Trainer prints every log dict to stdout; log through logging instead.
    trainer.remove_callback(PrinterCallback)
    trainer.add_callback(_LogProgress(int(settings["steps"])))
    return trainer


def _sft_config(output_dir: str, settings: dict, seed: int, max_length: int, use_cpu: bool = True):
    from trl import SFTConfig

    steps = int(settings["steps"])
    return SFTConfig(
        output_dir=output_dir,
        max_steps=steps,
        per_device_train_batch_size=int(settings["batch_size"]),
        learning_rate=float(settings["learning_rate"]),
        lr_scheduler_type="linear",
        warmup_steps=max(1, steps // 20),
        optim="adamw_torch",
        seed=seed,
        data_seed=seed,
        use_cpu=use_cpu,
        # SFTConfig's own defaults are bf16=True and gradient checkpointing on: we want
        # plain fp32 (byte-reproducible on CPU) and the tiny models need no checkpointing.
        bf16=False,
        fp16=False,
        gradient_checkpointing=False,
        completion_only_loss=True,
        packing=False,
        max_length=max_length,
        report_to="none",
        save_strategy="no",
        logging_steps=1,
        disable_tqdm=True,
        dataloader_num_workers=0,
    )


class _LogProgress(TrainerCallback):
    """INFO lines (step, loss, steps/s, ETA) about 20 times per run."""

    def __init__(self, steps: int):
        self.steps, self.every, self.started = steps, max(1, steps // 20), None

    def on_train_begin(self, args, state, control, **kwargs):
        self.started = time.perf_counter()

    def on_log(self, args, state, control, logs=None, **kwargs):
        step = state.global_step
        if not logs or "loss" not in logs or (step % self.every and step != self.steps):
            return
        elapsed = time.perf_counter() - self.started
        log.info("SFT step %d/%d loss %.4f  %.1f steps/s  ETA %.0fs", step, self.steps, logs["loss"],
                 step / elapsed, elapsed / step * (self.steps - step))


def _check_fits(dataset: pd.DataFrame, tokenizer, context: int) -> None:
    """Every example must fit the context whole: TRL would otherwise truncate it silently."""
    if dataset.empty:
        raise ValueError("empty SFT dataset")
    texts = (dataset["prompt"] + dataset["completion"]).tolist()
    longest = max(len(ids) for ids in tokenizer(texts)["input_ids"]) + 1  # + eos
    if longest > context:
        raise ValueError(f"longest SFT example is {longest} tokens (bos + prompt + completion + eos), "
                         f"more than the model's context length ({context})")


@contextlib.contextmanager
def _quiet_datasets():
    """No per-map progress bars from ``datasets`` in the logs (restored afterwards)."""
    was_enabled = datasets.is_progress_bar_enabled()
    datasets.disable_progress_bars()
    try:
        yield
    finally:
        if was_enabled:
            datasets.enable_progress_bars()
