"""The RLVR algorithms of the paper's algorithm study as small extensions of TRL's trainers.

Two layers:

* advantage estimators - pure functions on torch tensors (rewards per completion, completion
  masks, per-token values), unit-tested against hand-computed values;
* trainers - TRL's ``GRPOTrainer`` / ``RLOOTrainer`` subclasses that feed those estimators
  into TRL's clipped policy-gradient loss and record, step by step, the rewards and the
  advantages they handed to the loss (``trainer.advantage_log``), so a test can check that
  training really used the estimator.

Completions of one prompt are consecutive (TRL's sampler repeats each prompt
``num_generations`` times), so ``rewards.view(-1, group_size)`` are the groups. Rewards
arrive gathered over processes; token-level quantities are per process, and whitening
statistics are summed over processes (``reduce``). PPO (value model + GAE) is in ``ppo.py``.
See docs/rl_algorithms.md for what each algorithm is here and what it takes from TRL.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

import torch
from accelerate.utils import gather_object
from trl import GRPOTrainer, RLOOTrainer
from trl.models import unwrap_model_for_generation
from trl.trainer.utils import pad
from transformers import GenerationConfig

from ..sampling.generate import complete_token_ids
from ..stats.seeds import derive_seed

# TRL's constants, so that our estimators reproduce TRL's own advantages bit for bit.
TRL_STD_EPS = 1e-4      # GRPOTrainer: (r - mean) / (std + 1e-4)
WHITEN_EPS = 1e-8       # verl's masked_whiten: (x - mean) * rsqrt(var + 1e-8)


# ---------------------------------------------------------------- estimators

def _unbiased_std(x: torch.Tensor, dim=None, keepdim=False) -> torch.Tensor:
    """Bessel-corrected std, NaN for a single element (as TRL's ``nanstd``)."""
    return x.std(dim=dim, keepdim=keepdim, unbiased=True) if dim is not None else x.std(unbiased=True)


def group_normalized_advantages(rewards: torch.Tensor, group_size: int, scale: str = "group",
                                eps: float = TRL_STD_EPS) -> torch.Tensor:
    """GRPO: reward minus its group's mean, divided by the group's std (``scale="group"``),
    the whole batch's std (``"batch"``) or nothing (``"none"``) - TRL's formula, eps included."""
    grouped = rewards.view(-1, group_size)
    centred = (grouped - grouped.mean(dim=1, keepdim=True)).view(-1)
    if scale == "none":
        return centred
    if scale == "group":
        std = _unbiased_std(grouped, dim=1, keepdim=True).expand_as(grouped).reshape(-1)
    elif scale == "batch":
        std = _unbiased_std(rewards).expand_as(rewards)
    else:
        raise ValueError(f"unknown scale {scale!r}; expected group, batch or none")
    return centred / (std + eps)


def leave_one_out_advantages(rewards: torch.Tensor, group_size: int) -> torch.Tensor:
    """RLOO: reward minus the mean reward of the *other* completions of the same prompt."""
    if group_size < 2:
        raise ValueError("a leave-one-out baseline needs at least 2 completions per prompt")
    grouped = rewards.view(-1, group_size)
    baseline = (grouped.sum(dim=1, keepdim=True) - grouped) / (group_size - 1)
    return (grouped - baseline).view(-1)


def dynamic_sampling_keep(accuracy: torch.Tensor, group_size: int) -> torch.Tensor:
    """DAPO's dynamic-sampling filter: True for completions whose prompt's group is neither
    all right nor all wrong (equal accuracy everywhere gives no learning signal)."""
    grouped = accuracy.view(-1, group_size)
    informative = (grouped != grouped[:, :1]).any(dim=1, keepdim=True)
    return informative.expand_as(grouped).reshape(-1)


def dapo_advantages(rewards: torch.Tensor, accuracy: torch.Tensor, group_size: int,
                    scale: str = "group", dynamic_sampling: bool = True) -> torch.Tensor:
    """DAPO: group-normalised advantages of the total reward (correctness + overlong
    penalty); with dynamic sampling, 0 for groups the filter drops."""
    advantages = group_normalized_advantages(rewards, group_size, scale)
    if dynamic_sampling:
        advantages = advantages * dynamic_sampling_keep(accuracy, group_size)
    return advantages


def overlong_penalty(completion_lengths, max_completion_length: int, buffer: int) -> list[float]:
    """DAPO's soft overlong punishment (their Eq. 13): 0 up to ``max - buffer`` tokens, then
    falling linearly to -1 at ``max`` tokens; -1 beyond. TRL's
    ``get_soft_overlong_punishment`` computes the same (tested)."""
    out = []
    for length in completion_lengths:
        if length <= max_completion_length - buffer:
            out.append(0.0)
        elif length <= max_completion_length:
            out.append((max_completion_length - buffer - length) / buffer)
        else:
            out.append(-1.0)
    return out


def remax_advantages(rewards: torch.Tensor, greedy_rewards: torch.Tensor, group_size: int) -> torch.Tensor:
    """ReMax: reward minus the reward of the greedy completion of the same prompt
    (``greedy_rewards`` has one entry per prompt); no normalisation."""
    return (rewards.view(-1, group_size) - greedy_rewards.view(-1, 1)).view(-1)


def token_level_rewards(rewards: torch.Tensor, mask: torch.Tensor, kl: torch.Tensor | None = None,
                        beta: float = 0.0) -> torch.Tensor:
    """Per-token rewards: the verifiable reward on each completion's last token, minus
    ``beta * kl`` on every token when a KL estimate is given (KL in the reward)."""
    mask = mask.to(rewards.dtype)
    token_rewards = torch.zeros_like(mask)
    last = (mask.sum(dim=1).long() - 1).clamp(min=0)
    has_tokens = mask.sum(dim=1) > 0
    rows = torch.arange(mask.size(0), device=mask.device)[has_tokens]
    token_rewards[rows, last[has_tokens]] = rewards[has_tokens]
    if kl is not None and beta != 0.0:
        token_rewards = token_rewards - beta * kl * mask
    return token_rewards


def discounted_returns(token_rewards: torch.Tensor, mask: torch.Tensor, gamma: float = 1.0) -> torch.Tensor:
    """G_t = sum_{s >= t} gamma^(s-t) r_s over the completion's tokens (0 on padding)."""
    mask = mask.to(token_rewards.dtype)
    returns = torch.zeros_like(token_rewards)
    running = torch.zeros(token_rewards.size(0), dtype=token_rewards.dtype, device=token_rewards.device)
    for t in reversed(range(token_rewards.size(1))):
        running = (token_rewards[:, t] + gamma * running) * mask[:, t]
        returns[:, t] = running
    return returns


def _sum_over_processes(x: torch.Tensor) -> torch.Tensor:
    return x


def masked_whiten(values: torch.Tensor, mask: torch.Tensor, eps: float = WHITEN_EPS,
                  reduce: Callable[[torch.Tensor], torch.Tensor] = _sum_over_processes) -> torch.Tensor:
    """(x - mean) / sqrt(var + eps) over the masked entries (Bessel-corrected var, verl's
    ``masked_whiten``); ``reduce`` sums the moments over processes. 0 on masked-out entries."""
    mask = mask.to(values.dtype)
    moments = reduce(torch.stack([(values * mask).sum(), (values * values * mask).sum(), mask.sum()]))
    total, total_sq, count = moments[0], moments[1], moments[2]
    mean = total / count.clamp(min=1.0)
    var = (total_sq / count.clamp(min=1.0) - mean * mean).clamp(min=0.0)
    var = var * count / (count - 1).clamp(min=1.0)
    return (values - mean) * torch.rsqrt(var + eps) * mask


def reinforce_pp_advantages(rewards: torch.Tensor, mask: torch.Tensor, kl: torch.Tensor | None = None,
                            beta: float = 0.0, reduce=_sum_over_processes) -> torch.Tensor:
    """REINFORCE++ (critic-free): per-token returns of the verifiable reward (minus
    ``beta * kl`` per token, KL in the reward), whitened over every completion token of the
    batch - the global, not per-group, baseline and scale. Shape (B, T)."""
    returns = discounted_returns(token_level_rewards(rewards, mask, kl, beta), mask, 1.0)
    return masked_whiten(returns, mask, reduce=reduce)


def gae_advantages(token_rewards: torch.Tensor, values: torch.Tensor, mask: torch.Tensor,
                   gamma: float = 1.0, lam: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
    """Generalised advantage estimation on one completion per row: ``values[:, t]`` is
    V(state before token t); the state after the last token is terminal (V = 0).
    Returns ``(advantages, returns)`` with returns = advantages + values (the critic's
    target), both 0 on padding."""
    mask = mask.to(values.dtype)
    values = values * mask
    advantages = torch.zeros_like(values)
    running = torch.zeros(values.size(0), dtype=values.dtype, device=values.device)
    length = values.size(1)
    for t in reversed(range(length)):
        next_value = values[:, t + 1] if t + 1 < length else torch.zeros_like(running)
        delta = token_rewards[:, t] + gamma * next_value - values[:, t]
        running = (delta + gamma * lam * running) * mask[:, t]
        advantages[:, t] = running
    return advantages, (advantages + values) * mask


def ppo_advantages(rewards: torch.Tensor, values: torch.Tensor, mask: torch.Tensor, gamma: float = 1.0,
                   lam: float = 1.0, kl: torch.Tensor | None = None, beta: float = 0.0,
                   whiten: bool = True, reduce=_sum_over_processes) -> tuple[torch.Tensor, torch.Tensor]:
    """PPO: GAE on the final-token verifiable reward (KL in the reward when ``beta > 0``),
    advantages whitened over the batch's tokens (as verl does). Returns ``(advantages, returns)``."""
    advantages, returns = gae_advantages(token_level_rewards(rewards, mask, kl, beta), values, mask, gamma, lam)
    if whiten:
        advantages = masked_whiten(advantages, mask, reduce=reduce)
    return advantages, returns


def clipped_value_loss(values: torch.Tensor, old_values: torch.Tensor, returns: torch.Tensor,
                       mask: torch.Tensor, clip: float) -> tuple[torch.Tensor, torch.Tensor]:
    """PPO's clipped value loss 0.5 * max((V - G)^2, (V_clip - G)^2), V_clip = V_old +
    clamp(V - V_old, -clip, clip), averaged over completion tokens. Returns (loss, clip fraction)."""
    mask = mask.to(values.dtype)
    clipped = old_values + (values - old_values).clamp(-clip, clip)
    loss_unclipped = (values - returns) ** 2
    loss_clipped = (clipped - returns) ** 2
    per_token = 0.5 * torch.maximum(loss_unclipped, loss_clipped)
    count = mask.sum().clamp(min=1.0)
    clip_fraction = ((loss_clipped > loss_unclipped).to(values.dtype) * mask).sum() / count
    return (per_token * mask).sum() / count, clip_fraction


def k1_kl(per_token_logps: torch.Tensor, ref_per_token_logps: torch.Tensor) -> torch.Tensor:
    """The per-token KL estimate used in the reward: log pi(y_t) - log pi_ref(y_t)."""
    return per_token_logps - ref_per_token_logps


# ---------------------------------------------------------------- trainers

class SamplerRolloutMixin:
    """Rollouts through our sampler (:func:`.sampling.complete_token_ids`) instead of
    ``model.generate`` where it draws from the same distribution: one CPU process, plain
    temperature / top-p sampling (no top-k, min-p, repetition penalty or extra generation
    kwargs), text prompts, one eos token. It prefills each prompt once for its generations and
    drops finished rows (measured: perf/rl_rollouts.py). Anything else - GPUs, vLLM, other
    sampling settings - keeps TRL's own generation. Its random numbers come from a generator
    seeded from the run's seed, so the rollouts differ from ``generate``'s draws but a run is
    reproducible. ``use_sampler_rollouts = False`` (class or instance) restores TRL's path."""

    use_sampler_rollouts = True

    def _sampler_rolls_out(self, images, multimodal_fields) -> bool:
        config = getattr(self, "generation_config", None)
        return (self.use_sampler_rollouts and config is not None and not self.use_vllm
                and not self.use_transformers_continuous_batching
                and self.accelerator.device.type == "cpu" and self.accelerator.num_processes == 1
                and images is None and not multimodal_fields and len(self.eos_token_ids) == 1
                and self.args.generation_kwargs is None and config.do_sample and not config.top_k
                and config.min_p is None and config.repetition_penalty in (None, 1.0))

    def _sampler_completion_ids(self, prompt_ids: list[list[int]], temperature: float) -> list[list[int]]:
        if getattr(self, "_rollout_generator", None) is None:
            # not args.seed itself: TRL's prompt sampler seeds a generator with that
            self._rollout_generator = torch.Generator().manual_seed(derive_seed(self.args.seed, "rollouts"))
        model = self.accelerator.unwrap_model(self.model_wrapped)
        return complete_token_ids(model, prompt_ids, temperature, self.top_p, self.max_completion_length,
                                  self.eos_token_ids[0], self._tokenizer.pad_token_id,
                                  self._rollout_generator)

    def _generate_single_turn(self, prompt_ids, images, multimodal_fields, *args, **kwargs):
        if not self._sampler_rolls_out(images, multimodal_fields):
            return super()._generate_single_turn(prompt_ids, images, multimodal_fields, *args, **kwargs)
        completion_ids = self._sampler_completion_ids(prompt_ids, self.temperature)
        # TRL's RLOOTrainer returns the ids alone, GRPOTrainer (ids, sampling log-probs or None)
        return completion_ids if isinstance(self, RLOOTrainer) else (completion_ids, None)


class AdvantageRecorderMixin:
    """Records per step what the loss is fed: for each generation batch an entry of
    ``advantage_log`` with ``step``, ``prompts`` (this process's), ``rewards`` (total,
    gathered), ``rewards_per_func``,
    ``completion_mask``, ``advantages`` (what goes to the loss, before TRL shuffles it) and
    ``loss_advantages`` (the advantages of each loss call, after shuffling), plus the
    estimator's other inputs (``greedy_rewards``, ``values``, ``kl``). Logs
    ``advantage_mean`` / ``advantage_std`` (over completion tokens for per-token advantages).

    Only the last ``advantage_log_size`` entries are kept (at paper scale one entry holds
    several B x T tensors). Subclasses override ``_advantages(output, rewards,
    rewards_per_func, record)``; the default keeps the advantages TRL computed.
    """

    advantage_log_size = 32

    def _init_recorder(self) -> None:
        self.advantage_log: deque[dict] = deque(maxlen=self.advantage_log_size)
        self._rollout: dict | None = None

    def _calculate_rewards(self, inputs, prompts, completions, completion_ids_list):
        rewards_per_func = super()._calculate_rewards(inputs, prompts, completions, completion_ids_list)
        self._rollout = {"inputs": inputs, "prompts": prompts, "rewards_per_func": rewards_per_func}
        return rewards_per_func

    def _process_slice(self, local_size: int) -> slice:
        start = self.accelerator.process_index * local_size
        return slice(start, start + local_size)

    def _total_rewards(self, rewards_per_func: torch.Tensor) -> torch.Tensor:
        weights = self.reward_weights.to(rewards_per_func.device).unsqueeze(0)
        return (rewards_per_func * weights).nansum(dim=1)

    def _advantages(self, output, rewards, rewards_per_func, record):
        return output["advantages"]

    def _generate_and_score_completions(self, inputs):
        output = super()._generate_and_score_completions(inputs)
        if not self.model.training:
            return output
        rewards_per_func = self._rollout["rewards_per_func"]
        rewards = self._total_rewards(rewards_per_func)
        record = {"step": self.state.global_step + 1, "prompts": list(self._rollout["prompts"]),
                  "rewards": rewards.detach().cpu(),
                  "rewards_per_func": rewards_per_func.detach().cpu(),
                  "completion_mask": output["completion_mask"].detach().cpu()}
        advantages = self._advantages(output, rewards, rewards_per_func, record)
        output["advantages"] = advantages
        record["advantages"] = advantages.detach().cpu().clone()
        record["loss_advantages"] = []
        self.advantage_log.append(record)
        self._log_advantage_stats(advantages, output["completion_mask"])
        return output

    def _log_advantage_stats(self, advantages: torch.Tensor, completion_mask: torch.Tensor) -> None:
        weights = completion_mask.to(advantages.dtype) if advantages.dim() == 2 else torch.ones_like(advantages)
        moments = self.accelerator.reduce(torch.stack([(advantages * weights).sum(),
                                                       (advantages ** 2 * weights).sum(), weights.sum()]),
                                          reduction="sum")
        count = moments[2].clamp(min=1.0)
        mean = moments[0] / count
        var = (moments[1] / count - mean ** 2).clamp(min=0.0)
        self._metrics["train"]["advantage_mean"].append(mean.item())
        self._metrics["train"]["advantage_std"].append(var.sqrt().item())

    def _compute_loss(self, model, inputs):
        if self.model.training and self.advantage_log:
            self.advantage_log[-1]["loss_advantages"].append(inputs["advantages"].detach().cpu().clone())
        return super()._compute_loss(model, inputs)

    def _sum_over_processes(self, x: torch.Tensor) -> torch.Tensor:
        return self.accelerator.reduce(x, reduction="sum")


class GRPORecordingTrainer(SamplerRolloutMixin, AdvantageRecorderMixin, GRPOTrainer):
    """GRPO exactly as TRL does it (group-normalised advantages), recorded."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._init_recorder()


class RLOORecordingTrainer(SamplerRolloutMixin, AdvantageRecorderMixin, RLOOTrainer):
    """TRL's RLOO (leave-one-out baseline, sequence-level clipped loss), recorded."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._init_recorder()


class DAPOTrainer(SamplerRolloutMixin, AdvantageRecorderMixin, GRPOTrainer):
    """DAPO on GRPOTrainer. TRL gives the token-level loss (``loss_type="dapo"``),
    clip-higher (``epsilon_high``) and the soft overlong punishment (an extra reward
    function, set up by ``rl.train_rl``); this adds dynamic sampling as a filter: groups
    whose completions are all right or all wrong get advantage 0 and leave the token
    normaliser, so the step is the mean over informative groups' tokens. Nothing is
    resampled: every step costs the same rollouts as the other algorithms.
    The first reward function is the verifiable (accuracy) reward the filter looks at.
    """

    def __init__(self, *args, dynamic_sampling: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        self.dynamic_sampling = dynamic_sampling
        self._init_recorder()

    def _advantages(self, output, rewards, rewards_per_func, record):
        local = self._process_slice(output["completion_mask"].size(0))
        accuracy = rewards_per_func[:, 0]
        if self.dynamic_sampling:
            keep = dynamic_sampling_keep(accuracy, self.num_generations)
        else:
            keep = torch.ones_like(accuracy, dtype=torch.bool)
        record["keep"] = keep.cpu()
        advantages = output["advantages"] * keep[local].to(output["advantages"].dtype)
        loss_mask = output["completion_mask"] * keep[local].unsqueeze(1).to(output["completion_mask"].dtype)
        output["num_items_in_batch"] = self.accelerator.gather(loss_mask.sum()).sum()
        self._metrics["train"]["dynamic_sampling/kept_fraction"].append(keep.float().mean().item())
        return advantages


class _TokenRewardMixin:
    """For estimators that put the KL penalty into the per-token reward (REINFORCE++, PPO):
    TRL computes the reference log-probs (beta != 0), we turn them into a KL estimate at
    rollout time, and TRL's own KL loss term is switched off."""

    def _rollout_kl(self, output) -> torch.Tensor | None:
        if self.beta == 0.0:
            return None
        logps = output.get("old_per_token_logps")
        if logps is None:
            with torch.no_grad():
                logps, _, _ = self._get_per_token_logps_and_entropies(
                    self.model, torch.cat([output["prompt_ids"], output["completion_ids"]], dim=1),
                    torch.cat([output["prompt_mask"], output["completion_mask"]], dim=1),
                    output["completion_ids"].size(1), batch_size=self.args.per_device_train_batch_size)
        kl = k1_kl(logps, output["ref_per_token_logps"]) * output["completion_mask"]
        mask = output["completion_mask"].to(kl.dtype)
        self._metrics["train"]["kl"].append(((kl * mask).sum() / mask.sum().clamp(min=1.0)).item())
        return kl

    def _compute_loss(self, model, inputs):
        beta, self.beta = self.beta, 0.0  # the KL is in the reward, not in the loss
        try:
            return super()._compute_loss(model, inputs)
        finally:
            self.beta = beta


class ReinforcePlusPlusTrainer(SamplerRolloutMixin, AdvantageRecorderMixin, _TokenRewardMixin, GRPOTrainer):
    """REINFORCE++ on GRPOTrainer: critic-free, global (batch) whitening of the per-token
    returns instead of GRPO's per-group normalisation; KL in the reward when beta > 0."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._init_recorder()

    def _advantages(self, output, rewards, rewards_per_func, record):
        mask = output["completion_mask"]
        local_rewards = rewards[self._process_slice(mask.size(0))]
        kl = self._rollout_kl(output)
        record["kl"] = None if kl is None else kl.cpu()
        return reinforce_pp_advantages(local_rewards, mask, kl, self.beta, reduce=self._sum_over_processes)


class ReMaxTrainer(SamplerRolloutMixin, AdvantageRecorderMixin, GRPOTrainer):
    """ReMax on GRPOTrainer: the baseline of each prompt is the reward of its greedy
    completion, generated once per prompt and step with the current policy (our sampler at
    temperature 0 where the rollouts use it, else HF generate, also when sampling uses vLLM).
    Advantages are not normalised."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._init_recorder()

    def _greedy_completion_ids(self, prompts: list) -> list[list[int]]:
        prompt_ids, images, multimodal_fields = self._tokenize_prompts(prompts)
        if self._sampler_rolls_out(images, multimodal_fields):
            return self._sampler_completion_ids(prompt_ids, temperature=0.0)
        tensors = [torch.tensor(ids) for ids in prompt_ids]
        device = self.accelerator.device
        input_ids = pad(tensors, padding_value=self._tokenizer.pad_token_id, padding_side="left").to(device)
        attention_mask = pad([torch.ones_like(t) for t in tensors], padding_value=0,
                             padding_side="left").to(device)
        kwargs = {"max_new_tokens": self.max_completion_length, "do_sample": False,
                  "pad_token_id": self._tokenizer.pad_token_id, "bos_token_id": self._tokenizer.bos_token_id,
                  "eos_token_id": self.eos_token_ids}
        with unwrap_model_for_generation(self.model_wrapped, self.accelerator,
                                         gather_deepspeed3_params=self.args.ds3_gather_for_generation,
                                         generation_kwargs=kwargs,
                                         gradient_checkpointing_kwargs=self.args.gradient_checkpointing_kwargs
                                         ) as unwrapped, torch.no_grad():
            out = unwrapped.generate(input_ids=input_ids, attention_mask=attention_mask,
                                     generation_config=GenerationConfig(**kwargs, disable_compile=True))
        completion = out[:, input_ids.size(1):].cpu()
        result = []
        eos = set(self.eos_token_ids)
        for row in completion.tolist():
            cut = next((i for i, token in enumerate(row) if token in eos), None)
            result.append(row if cut is None else row[:cut + 1])
        return result

    def _greedy_rewards(self, inputs: list[dict], prompts: list, completion_ids: list[list[int]]) -> torch.Tensor:
        """The total reward of each greedy completion (the reward functions called as TRL does)."""
        completions = self.processing_class.batch_decode(completion_ids, skip_special_tokens=True)
        keys = [key for key in inputs[0] if key not in ("prompt", "completion", "completion_ids")]
        kwargs = {key: [example[key] for example in inputs] for key in keys}
        columns = []
        for reward_func in self.reward_funcs:
            if isinstance(reward_func, torch.nn.Module):
                raise NotImplementedError("ReMax here supports reward functions, not reward models")
            values = reward_func(prompts=prompts, completions=completions, completion_ids=completion_ids,
                                 trainer_state=self.state, **kwargs)
            columns.append(torch.tensor([torch.nan if v is None else v for v in values], dtype=torch.float32))
        return self._total_rewards(torch.stack(columns, dim=1).to(self.accelerator.device))

    def _advantages(self, output, rewards, rewards_per_func, record):
        group = self.num_generations
        # groups may straddle processes: every process scores the greedy completions of all prompts
        prompts = gather_object(list(self._rollout["prompts"]))[::group]
        inputs = gather_object(list(self._rollout["inputs"]))[::group]
        greedy_rewards = self._greedy_rewards(inputs, prompts, self._greedy_completion_ids(prompts))
        record["greedy_rewards"] = greedy_rewards.cpu()
        self._metrics["train"]["remax/greedy_reward"].append(greedy_rewards.mean().item())
        advantages = remax_advantages(rewards, greedy_rewards, group)
        return advantages[self._process_slice(output["completion_mask"].size(0))]
