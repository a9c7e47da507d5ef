"""PPO with a learned value model on TRL's GRPOTrainer (TRL 1.16 has no PPOTrainer).

The policy side is TRL's: sampling, the clipped surrogate loss (which accepts per-token
advantages), the optimizer and the schedule. Added here:

* a critic: a copy of the policy's transformer body (initialised from the base, as verl and
  OpenRLHF initialise theirs from a model of the same family) with a scalar value head,
  its own AdamW optimizer and learning rate;
* at rollout time: per-token values V(s_t) of the state before each completion token, GAE
  (gamma, lambda) on the final-token verifiable reward (minus beta * KL per token when
  beta > 0), advantages whitened over the batch's tokens, returns = advantages + values;
* at each loss call: the clipped value loss against those returns and old values, one
  critic optimizer step per policy optimizer step (``num_iterations`` > 1 gives PPO epochs).
"""

from __future__ import annotations

import copy

import torch
from torch import nn
from trl import GRPOTrainer

from .rl_algorithms import (
    AdvantageRecorderMixin,
    SamplerRolloutMixin,
    _TokenRewardMixin,
    clipped_value_loss,
    ppo_advantages,
)


class ValueModel(nn.Module):
    """A transformer body with a scalar head: values[b, i] = V(tokens[b, :i+1])."""

    def __init__(self, body: nn.Module, hidden_size: int):
        super().__init__()
        self.body = body
        self.head = nn.Linear(hidden_size, 1)
        # zero head: V = 0 at the start, so the first advantages are plain returns (no
        # random baseline), and no random numbers are drawn (the policy's stream is unchanged)
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)

    @classmethod
    def from_policy(cls, policy) -> ValueModel:
        body = copy.deepcopy(getattr(policy, policy.base_model_prefix))
        return cls(body, policy.config.hidden_size).to(device=policy.device, dtype=policy.dtype)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        hidden = self.body(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        return self.head(hidden).squeeze(-1)


class PPOTrainer(SamplerRolloutMixin, AdvantageRecorderMixin, _TokenRewardMixin, GRPOTrainer):
    """PPO: clipped policy loss on GAE advantages from a learned critic (see module doc)."""

    def __init__(self, *args, value_learning_rate: float, gae_lambda: float = 1.0, gamma: float = 1.0,
                 value_clip: float = 0.5, whiten_advantages: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        self.gae_lambda, self.gamma, self.value_clip = float(gae_lambda), float(gamma), float(value_clip)
        self.whiten_advantages = bool(whiten_advantages)
        value_model = ValueModel.from_policy(self.accelerator.unwrap_model(self.model))
        # prepare_model wraps the critic in DDP when training runs on several processes
        self.value_model = self.accelerator.prepare_model(value_model)
        self.value_optimizer = torch.optim.AdamW(self.value_model.parameters(), lr=float(value_learning_rate),
                                                 weight_decay=0.0)
        self._init_recorder()

    def _values(self, batch) -> torch.Tensor:
        """V(state before each completion token), 0 on padding."""
        input_ids = torch.cat([batch["prompt_ids"], batch["completion_ids"]], dim=1)
        attention_mask = torch.cat([batch["prompt_mask"], batch["completion_mask"]], dim=1)
        length = batch["completion_ids"].size(1)
        values = self.value_model(input_ids, attention_mask)[:, -length - 1:-1]
        return values * batch["completion_mask"].to(values.dtype)

    def _advantages(self, output, rewards, rewards_per_func, record):
        mask = output["completion_mask"]
        local_rewards = rewards[self._process_slice(mask.size(0))]
        with torch.no_grad():
            values = self._values(output)
        kl = self._rollout_kl(output)
        advantages, returns = ppo_advantages(local_rewards, values, mask, self.gamma, self.gae_lambda, kl,
                                             self.beta, self.whiten_advantages, reduce=self._sum_over_processes)
        output["old_values"], output["returns"] = values, returns
        record.update(values=values.cpu(), kl=None if kl is None else kl.cpu(), returns=returns.cpu())
        # how much of the return variance the critic explains (1 = perfect, <= 0 = useless)
        m = mask.bool()
        residual, target = (returns - values)[m], returns[m]
        if target.numel() > 1 and target.var() > 0:
            self._metrics["train"]["value/explained_variance"].append((1 - residual.var() / target.var()).item())
        self._metrics["train"]["value/mean"].append(values[m].mean().item() if m.any() else 0.0)
        return advantages

    def _compute_loss(self, model, inputs):
        loss = super()._compute_loss(model, inputs)
        if self.model.training:
            self._critic_step(inputs)
        return loss

    def _critic_step(self, inputs) -> None:
        """Backpropagate the clipped value loss; step the critic's optimizer with the policy's."""
        with torch.enable_grad():
            values = self._values(inputs)
            value_loss, clip_fraction = clipped_value_loss(values, inputs["old_values"], inputs["returns"],
                                                           inputs["completion_mask"], self.value_clip)
            (value_loss / self.current_gradient_accumulation_steps).backward()
        if self.accelerator.sync_gradients:
            if self.args.max_grad_norm is not None and self.args.max_grad_norm > 0:
                torch.nn.utils.clip_grad_norm_(self.value_model.parameters(), self.args.max_grad_norm)
            self.value_optimizer.step()
            self.value_optimizer.zero_grad(set_to_none=True)
        self._metrics["train"]["value/loss"].append(value_loss.item())
        self._metrics["train"]["value/clip_fraction"].append(clip_fraction.item())
