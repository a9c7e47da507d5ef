"""RLVR from a base checkpoint with a verifiable reward: six algorithms on TRL's trainers.

The reward is 1 when the tiny world's grader calls a sampled completion ``correct`` and 0
otherwise - by default on the final answer only (``answer``, as the paper's RLVR verifies
the final answer), or on the whole chain of thought (``trace``). On real math problems
(paper scale) ``math_verify`` compares the boxed answer with each prompt's reference answer.

In the tiny world everything runs in fp32 on the CPU with Hugging Face generation (no
vLLM), so a run with the same base, prompts, settings, seed and thread count gives the same
weights byte for byte. At paper scale (GPUs) a run can train in bf16 mixed precision with
gradient checkpointing, sharded over GPUs (FSDP through an accelerate config file,
:mod:`.rl_job`), with vLLM rollouts (:func:`vllm_arguments`). Intermediate checkpoints are
written at the requested steps for a training-length study; TRL's own checkpointing is off.

``settings["trainer"]`` picks the algorithm (grpo, dapo, rloo, reinforce_pp, remax, ppo;
``TRAINER_OPTIONS`` lists each one's own keys); the trainers are in ``rl_algorithms`` and
``ppo`` and docs/rl_algorithms.md says what each is.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import time
from pathlib import Path

import pandas as pd
import torch
from datasets import Dataset
from transformers import PrinterCallback, TrainerCallback

from ..models.modeling import load_checkpoint, save_checkpoint, set_determinism
# Re-exported: the settings of a run are part of this module's interface.
from .rl_settings import (  # noqa: F401
    OPTIONAL_SETTINGS,
    REQUIRED_SETTINGS,
    TRAINER_OPTIONS,
    training_precision,
    validate_settings,
)
from ..world.task import GRADERS, parse_prompt

log = logging.getLogger(__name__)

# Renamed TRL log keys; every other numeric key TRL logs is kept under its own name.
_HISTORY_RENAMES = {"completions/mean_length": "completion_length"}
_HISTORY_FIRST = ["step", "reward", "reward_std", "completion_length", "entropy", "advantage_mean",
                  "advantage_std", "learning_rate",
                  "loss", "grad_norm", "kl", "frac_reward_zero_std", "completions/clipped_ratio"]
_HISTORY_DROP = {"epoch", "total_flos", "train_runtime", "train_samples_per_second",
                 "train_steps_per_second", "train_loss"}


# answer, trace: the tiny world's graders; math_verify: real math with reference answers.
REWARD_METRICS = (*sorted(GRADERS), "math_verify")


def make_reward_function(metric: str = "answer", eos_token_id: int | None = None):
    """A TRL reward function: 1.0 when ``GRADERS[metric]`` grades a completion ``correct``.

    TRL passes plain-text prompts and completions decoded with ``skip_special_tokens``.
    When ``eos_token_id`` is given and TRL also passes ``completion_ids``, a completion that
    does not end in eos was cut at ``max_completion_length`` and is graded as finish reason
    ``length`` (so ``truncated``, reward 0), as in evaluation; otherwise as ``stop``.
    """
    if metric not in REWARD_METRICS:
        raise ValueError(f"unknown reward metric {metric!r}; expected one of {REWARD_METRICS}")

    def status(prompt, completion, finish_reason, gold) -> str:
        if metric == "math_verify":
            from ..grading.math_answers import grade_completion

            return grade_completion(gold, completion, finish_reason)
        return GRADERS[metric](parse_prompt(prompt), completion, finish_reason)

    def reward(prompts, completions, completion_ids=None, reference_answer=None,
               **kwargs) -> list[float]:
        golds = reference_answer if reference_answer is not None else [None] * len(prompts)
        rewards = []
        for i, (prompt, completion) in enumerate(zip(prompts, completions, strict=True)):
            finish_reason = "stop"
            if eos_token_id is not None and completion_ids is not None:
                ids = completion_ids[i]
                if len(ids) == 0 or ids[-1] != eos_token_id:
                    finish_reason = "length"
            correct = status(prompt, completion, finish_reason, golds[i]) == "correct"
            rewards.append(1.0 if correct else 0.0)
        return rewards

    reward.__name__ = f"{metric}_correct"  # TRL logs it as rewards/<name>/mean
    return reward


def prompt_token_ids(tokenizer, prompts: list[str]) -> list[list[int]]:
    """The prompt ids exactly as GRPOTrainer makes them for plain-text (non-chat) prompts."""
    return tokenizer(text=prompts)["input_ids"]


def check_prompt_tokenization(tokenizer, prompts: list[str]) -> None:
    """Raise unless TRL's prompt tokenisation gives bos + one id per prompt character,
    the layout the base was pretrained on (no double bos, no eos, no padding)."""
    vocab = tokenizer.get_vocab()
    for prompt, ids in zip(prompts, prompt_token_ids(tokenizer, prompts), strict=True):
        expected = [tokenizer.bos_token_id, *(vocab.get(ch, tokenizer.unk_token_id) for ch in prompt)]
        if list(ids) != expected:
            raise ValueError(f"prompt {prompt!r} tokenises to {list(ids)}, expected bos + characters "
                             f"{expected}; the tokenizer does not match pretraining")


def full_model(trainer):
    """The trained weights as a plain model. Sharded (FSDP) they are gathered onto the main
    process's CPU into a copy of the model there (every process must call this: it is a
    collective) and the other processes get None; otherwise the unwrapped model itself."""
    if not trainer.is_fsdp_enabled:
        return trainer.accelerator.unwrap_model(trainer.model)
    state = trainer.accelerator.get_state_dict(trainer.model)  # full on the main process only
    if not trainer.accelerator.is_main_process:
        return None
    from accelerate import init_empty_weights
    from transformers import AutoModelForCausalLM

    sharded = trainer.accelerator.unwrap_model(trainer.model)  # FSDP2 changed its class
    with init_empty_weights(include_buffers=False):  # buffers (rotary) as the model makes them
        model = AutoModelForCausalLM.from_config(sharded.config)
    model.load_state_dict(state, assign=True, strict=False)
    missing = {name for name, _ in model.named_parameters() if name not in state}
    model.tie_weights()
    untied = [name for name in missing if model.get_parameter(name).is_meta]
    if untied:
        raise RuntimeError(f"gathered FSDP state lacks {untied}")
    model.generation_config = sharded.generation_config
    return model


class _CheckpointCallback(TrainerCallback):
    """Save model + tokenizer into ``checkpoint_dir/step-{step:05d}`` at the given steps
    (by the main process; sharded weights are first gathered by all, :func:`full_model`)."""

    def __init__(self, tokenizer, checkpoint_dir: Path, steps: set[int]):
        self.tokenizer, self.trainer = tokenizer, None  # the trainer: set once it exists
        self.checkpoint_dir, self.steps = checkpoint_dir, steps

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step not in self.steps:
            return
        model = full_model(self.trainer)
        if state.is_world_process_zero:
            path = self.checkpoint_dir / f"step-{state.global_step:05d}"
            save_checkpoint(model, self.tokenizer, path)
            log.info("step %d: checkpoint saved to %s", state.global_step, path)


class _ProgressCallback(TrainerCallback):
    """Log step, reward, steps/s and ETA about every 5% of the run."""

    def __init__(self, steps: int):
        self.steps, self.every = steps, max(1, steps // 20)
        self.started = None
        self.rewards: list[float] = []

    def on_train_begin(self, args, state, control, **kwargs):
        self.started = time.perf_counter()

    def on_log(self, args, state, control, logs=None, **kwargs):
        if not logs or "reward" not in logs:
            return
        self.rewards.append(float(logs["reward"]))
        step = state.global_step
        if step % self.every == 0 or step == self.steps:
            elapsed = time.perf_counter() - self.started
            recent = self.rewards[-self.every:]
            log.info("step %d/%d reward %.3f (mean of last %d: %.3f)  %.2f steps/s  ETA %.0fs",
                     step, self.steps, self.rewards[-1], len(recent), sum(recent) / len(recent),
                     step / elapsed, elapsed / step * (self.steps - step))


def _history(log_history: list[dict]) -> pd.DataFrame:
    rows = []
    for entry in log_history:
        if "reward" not in entry:  # the end-of-training summary row
            continue
        row = {_HISTORY_RENAMES.get(k, k): v for k, v in entry.items()
               if k not in _HISTORY_DROP and (v is None or isinstance(v, (int, float)))}
        rows.append(row)
    history = pd.DataFrame(rows)
    if history.empty:
        return history
    first = [c for c in _HISTORY_FIRST if c in history.columns]
    return history[first + sorted(c for c in history.columns if c not in first)]


def per_device_batch(completions: int, processes: int | None = None) -> int:
    """Completions per process and step, so that the step's total (the rollout budget)
    does not depend on how many processes (GPUs) share it."""
    processes = int(os.environ.get("WORLD_SIZE", 1)) if processes is None else processes
    if completions % processes:
        raise ValueError(f"{completions} completions per step do not split over {processes} "
                         "processes; choose prompts_per_step x generations_per_prompt divisible by rl.gpus")
    return completions // processes


def micro_batches(per_process: int, micro_batch_size: int | None) -> tuple[int, int]:
    """(completions per forward/backward pass, passes accumulated per optimizer step) for a
    process's share of a step; ``micro_batch_size`` None: the share in one pass."""
    micro = per_process if micro_batch_size is None else min(int(micro_batch_size), per_process)
    if per_process % micro:
        raise ValueError(f"micro_batch_size {micro} does not divide the {per_process} completions "
                         "each process trains on per step")
    return micro, per_process // micro


def _trainer_args(cfg: dict, output_dir: str, seed: int, device: str):
    """TRL's config object for ``cfg["trainer"]``: RLOOConfig for rloo, GRPOConfig otherwise."""
    from trl import GRPOConfig, RLOOConfig  # heavy import, only where needed

    per_step, group = int(cfg["prompts_per_step"]), int(cfg["generations_per_prompt"])
    # One generation batch per optimizer step (TRL: steps_per_generation defaults to the
    # accumulation), trained on in passes of micro_batch_size completions per process.
    micro, accumulation = micro_batches(per_device_batch(per_step * group), cfg["micro_batch_size"])
    common = dict(
        output_dir=output_dir,
        # fp32 unless asked (TRL defaults bf16 to True); CPU runs are always fp32. bf16 is
        # mixed precision: the weights stay as loaded (fp32), autocast computes in bf16.
        use_cpu=device == "cpu", bf16=training_precision(cfg, device) == "bfloat16", fp16=False,
        **vllm_arguments(cfg),
        report_to="none", disable_tqdm=True,
        logging_strategy="steps", logging_steps=1,
        save_strategy="no",
        seed=seed, data_seed=seed,
        max_steps=int(cfg["steps"]),
        per_device_train_batch_size=micro,
        gradient_accumulation_steps=accumulation,
        num_generations=group,
        max_completion_length=int(cfg["max_new_tokens"]),
        temperature=float(cfg["temperature"]),
        top_p=float(cfg["top_p"]),
        learning_rate=float(cfg["learning_rate"]),
        lr_scheduler_type=cfg["lr_scheduler_type"],
        warmup_steps=int(cfg["warmup_steps"]),
        weight_decay=float(cfg["weight_decay"]),
        max_grad_norm=float(cfg["max_grad_norm"]),
        beta=float(cfg["beta"]),
        num_iterations=int(cfg["num_iterations"]),
        epsilon=float(cfg["epsilon"]),
        # TRL defaults it to True: only slower for a tiny model (the tiny world's default,
        # False); paper scale turns it on (PAPER_DEFAULTS).
        gradient_checkpointing=bool(cfg["gradient_checkpointing"]),
        dataloader_num_workers=0,
    )
    trainer = cfg["trainer"]
    if trainer == "rloo":
        return RLOOConfig(**common, normalize_advantages=bool(cfg["normalize_advantages"]))
    extra = {}
    if trainer == "dapo":
        extra["epsilon_high"] = float(cfg["epsilon_high"])
        if _overlong_buffer(cfg):
            extra["reward_weights"] = [1.0, float(cfg["overlong_penalty_factor"])]
    return GRPOConfig(**common, loss_type=cfg["loss_type"], scale_rewards=cfg["scale_rewards"], **extra)


def vllm_arguments(cfg: dict) -> dict:
    """TRL 1.16's vLLM fields of GRPOConfig / RLOOConfig for ``cfg`` (validated): none
    without ``use_vllm``, the colocate engine's settings in colocate mode, the server's
    address in server mode (the server takes its own memory and parallelism flags)."""
    if not cfg["use_vllm"]:
        return {"use_vllm": False}
    args = {"use_vllm": True, "vllm_mode": cfg["vllm_mode"]}
    if cfg["vllm_mode"] == "colocate":
        args.update(vllm_gpu_memory_utilization=float(cfg["vllm_gpu_memory_utilization"]),
                    vllm_tensor_parallel_size=int(cfg["vllm_tensor_parallel_size"]),
                    vllm_enable_sleep_mode=bool(cfg["vllm_enable_sleep_mode"]))
        if cfg["vllm_max_model_length"] is not None:
            args["vllm_max_model_length"] = int(cfg["vllm_max_model_length"])
    elif cfg["vllm_server_base_url"]:
        args["vllm_server_base_url"] = str(cfg["vllm_server_base_url"])
    return args


def _overlong_buffer(cfg: dict) -> int:
    """DAPO's overlong-penalty buffer in tokens; 0 = no penalty."""
    if cfg["trainer"] != "dapo" or float(cfg["overlong_penalty_factor"]) == 0.0:
        return 0
    return int(round(float(cfg["overlong_buffer_fraction"]) * int(cfg["max_new_tokens"])))


def make_trainer(model, tokenizer, prompts: list[str], cfg: dict, seed: int, output_dir: str,
                 device: str = "cpu", callbacks=(), answers: list[str] | None = None):
    """The TRL trainer (subclass) for ``cfg["trainer"]``, ready to ``train()``; ``cfg`` as
    returned by ``validate_settings``. Every trainer records ``advantage_log``. ``answers``:
    each prompt's reference answer (the math_verify reward reads them)."""
    from trl.rewards import get_soft_overlong_punishment

    from . import rl_algorithms as algorithms
    from .ppo import PPOTrainer

    trainer_name = cfg["trainer"]
    reward_funcs = [make_reward_function(cfg["reward_metric"], tokenizer.eos_token_id)]
    buffer = _overlong_buffer(cfg)
    if buffer:
        reward_funcs.append(get_soft_overlong_punishment(int(cfg["max_new_tokens"]), buffer))
    if trainer_name == "dapo" and cfg["loss_type"] != "dapo":
        log.warning("trainer dapo with loss_type %r: DAPO's token-level loss is loss_type 'dapo'",
                    cfg["loss_type"])
    classes = {"grpo": algorithms.GRPORecordingTrainer, "dapo": algorithms.DAPOTrainer,
               "rloo": algorithms.RLOORecordingTrainer, "reinforce_pp": algorithms.ReinforcePlusPlusTrainer,
               "remax": algorithms.ReMaxTrainer, "ppo": PPOTrainer}
    own = {}
    if trainer_name == "dapo":
        own["dynamic_sampling"] = bool(cfg["dynamic_sampling"])
    elif trainer_name == "ppo":
        own = {key: cfg[key] for key in TRAINER_OPTIONS["ppo"]}
    return classes[trainer_name](
        model=model,
        reward_funcs=reward_funcs,
        args=_trainer_args(cfg, output_dir, seed, device),
        train_dataset=Dataset.from_dict(
            {"prompt": list(prompts)} if answers is None
            else {"prompt": list(prompts), "reference_answer": list(answers)}),
        processing_class=tokenizer,
        callbacks=list(callbacks),
        **own,
    )


def train_rl(base_path, prompts: list[str], settings: dict, seed: int, threads: int,
             checkpoint_dir, checkpoint_steps: list[int], device: str = "cpu",
             answers: list[str] | None = None):
    """RLVR with ``settings["trainer"]`` (default grpo) from the checkpoint at ``base_path``
    on ``prompts``; returns ``(model, tokenizer, history)`` with the model in eval mode (the
    caller saves it; sharded across processes, the main process gets the gathered model and
    the others None).

    Each step samples ``generations_per_prompt`` completions for each of
    ``prompts_per_step`` prompts (drawn without replacement, reshuffled every pass over
    ``prompts``) and takes one optimiser step, whatever the trainer (ReMax adds one greedy
    completion per prompt as its baseline). ``history`` has one row per step.
    With ``reward_metric: math_verify`` (real checkpoints and prompts) ``answers`` holds
    each prompt's reference answer and the tiny world's prompt checks are skipped.
    """
    cfg = validate_settings(settings)
    steps = int(cfg["steps"])
    per_step, group = int(cfg["prompts_per_step"]), int(cfg["generations_per_prompt"])
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    if len(prompts) < per_step:
        raise ValueError(f"{len(prompts)} RL prompts but prompts_per_step={per_step}: TRL's sampler "
                         "only yields full batches, so it would yield none")
    if len(prompts) % per_step:
        log.info("%d RL prompts is not a multiple of prompts_per_step=%d: each pass over the "
                 "reshuffled prompts skips %d of them (different ones each pass)",
                 len(prompts), per_step, len(prompts) % per_step)
    checkpoint_steps = sorted({int(s) for s in checkpoint_steps})
    bad = [s for s in checkpoint_steps if not 1 <= s <= steps]
    if bad:
        raise ValueError(f"checkpoint steps {bad} are outside 1..{steps}")
    real_math = cfg["reward_metric"] == "math_verify"
    if real_math and (answers is None or len(answers) != len(prompts)):
        raise ValueError("reward_metric math_verify needs one reference answer per prompt")
    if not real_math:
        for prompt in prompts:
            parse_prompt(prompt)  # fail early on a prompt the reward cannot grade

    set_determinism(seed, threads)
    model, tokenizer = load_checkpoint(base_path, device, direct=True)  # fp32 master weights
    if not real_math:
        check_prompt_tokenization(tokenizer, prompts)
    if cfg["use_vllm"] and cfg["vllm_mode"] == "colocate" and cfg["vllm_max_model_length"] is None:
        # vLLM's context: what the rollouts need, not the model's (Qwen2.5: 131,072 positions,
        # whose KV cache for one sequence would not fit a colocated engine's share).
        longest = max(len(ids) for ids in prompt_token_ids(tokenizer, prompts))
        cfg = {**cfg, "vllm_max_model_length": longest + int(cfg["max_new_tokens"])}
    checkpoint_dir = Path(checkpoint_dir)
    if checkpoint_steps:
        checkpoint_dir.mkdir(parents=True, exist_ok=True)
    progress = _ProgressCallback(steps)

    output_dir = tempfile.mkdtemp(prefix=f"{cfg['trainer']}-")
    checkpoints = _CheckpointCallback(tokenizer, checkpoint_dir, set(checkpoint_steps))
    try:
        trainer = make_trainer(model, tokenizer, prompts, cfg, seed, output_dir, device,
                               callbacks=[checkpoints, progress],
                               answers=answers if real_math else None)
        checkpoints.trainer = trainer
        # With disable_tqdm, Trainer prints every log dict to stdout; the history and our
        # progress log carry the same numbers.
        trainer.remove_callback(PrinterCallback)
        torch.set_num_threads(threads)  # in case anything above changed it
        log.info("%s: %d steps x %d prompts x %d generations from %s (%d prompts, reward %s)",
                 cfg["trainer"], steps, per_step, group, base_path, len(prompts), cfg["reward_metric"])
        trainer.train()
        model = full_model(trainer)
        history = _history(trainer.state.log_history)
    finally:
        shutil.rmtree(output_dir, ignore_errors=True)
    if len(history) != steps:
        raise RuntimeError(f"expected {steps} logged steps, TRL logged {len(history)}")
    if model is not None:
        model.eval()
    return model, tokenizer, history
