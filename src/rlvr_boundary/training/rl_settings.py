"""Settings of one RL run and what each trainer accepts: importable without torch or TRL,
so the workflow checks a config's algorithms when it is parsed, before any job starts."""

from __future__ import annotations

REQUIRED_SETTINGS = ("steps", "prompts_per_step", "generations_per_prompt", "temperature", "top_p",
                     "max_new_tokens", "learning_rate")
# Optional settings and their defaults. The schedule is constant so that a checkpoint at step
# s is the same kind of model as a run of s steps (training-length study); TRL's default
# would decay linearly to 0 over `steps`.
OPTIONAL_SETTINGS = {
    "beta": 0.0,                    # KL coefficient; 0 = no reference model (the paper's setting)
    "loss_type": "grpo",            # TRL's default is "dapo"
    "scale_rewards": "group",       # group | batch | none
    "reward_metric": "answer",      # answer | trace (tiny world) | math_verify (real math)
    "lr_scheduler_type": "constant",
    "warmup_steps": 0,
    "num_iterations": 1,            # policy updates per generation batch (1 = on-policy)
    "epsilon": 0.2,                 # PPO-style clip range
    "max_grad_norm": 1.0,
    "weight_decay": 0.0,
    # Paper scale, on GPUs (PAPER_DEFAULTS; docs/cluster.md, "Memory for RL training").
    # precision: auto (bfloat16 on a GPU, float32 on a CPU, resolved in the job), bfloat16
    # (mixed precision: fp32 master weights and optimizer, bf16 compute) or float32; a CPU
    # run is always float32. `bf16: true` is the older spelling of precision bfloat16 (with
    # precision float32 an error).
    "precision": "float32",
    "bf16": False,
    "gradient_checkpointing": False,  # recompute activations in backward: memory for time
    # Completions per process in one forward/backward pass; a step's share of each process
    # (prompts_per_step x generations_per_prompt / gpus) is accumulated over passes of this
    # size, still one optimizer step per generation batch. null: the whole share at once.
    "micro_batch_size": None,
    # One process per GPU (accelerate launch); `distributed` names the accelerate config
    # file configs/accelerate/<name>.yaml (fsdp: FSDP2 full sharding; ddp: replicas);
    # null: accelerate's plain multi-GPU defaults.
    "gpus": 1,
    "distributed": None,
    # TRL 1.16 generates with vLLM: colocate (in each training process, on its GPU) or
    # server (a separate `trl vllm-serve` at vllm_server_base_url). Colocate: the share of
    # each GPU's memory vLLM takes, its tensor-parallel size, its context (null: the longest
    # prompt + max_new_tokens, measured in the job) and sleep mode (weights and KV cache
    # offloaded during the optimizer step).
    "use_vllm": False,
    "vllm_mode": "colocate",
    "vllm_gpu_memory_utilization": 0.3,
    "vllm_tensor_parallel_size": 1,
    "vllm_max_model_length": None,
    "vllm_enable_sleep_mode": False,
    "vllm_server_base_url": None,
}
PRECISIONS = ("auto", "bfloat16", "float32")
DISTRIBUTED_DIR = "configs/accelerate"  # relative to the workflow's directory
# What a paper-scale run (rule train_paper_rl) has unless its `train` block says otherwise:
# a 7B model fits only in bf16 mixed precision, with activations recomputed, sharded.
PAPER_DEFAULTS = {"precision": "auto", "gradient_checkpointing": True, "micro_batch_size": 1,
                  "distributed": "fsdp"}

# The trainers of the algorithm study and the extra keys each accepts, with their defaults
# (the config schema is built from this). An algorithm is a config entry naming one of these
# trainers plus hyper-parameters, so a seventh algorithm needs no code.
TRAINER_OPTIONS: dict[str, dict[str, object]] = {
    "grpo": {},
    "dapo": {"epsilon_high": 0.28, "dynamic_sampling": True, "overlong_buffer_fraction": 0.2,
             "overlong_penalty_factor": 1.0},
    "rloo": {"normalize_advantages": False},
    "reinforce_pp": {},
    "remax": {},
    "ppo": {"value_learning_rate": 0.003, "gae_lambda": 1.0, "gamma": 1.0, "value_clip": 0.5,
            "whiten_advantages": True},
}
# One line per trainer option, for the config schema's descriptions.
OPTION_DESCRIPTIONS: dict[str, dict[str, str]] = {
    "dapo": {
        "epsilon_high": "clip-higher: the ratio is clipped to [1 - epsilon, 1 + epsilon_high]",
        "dynamic_sampling": "drop groups whose completions are all right or all wrong from the loss "
                            "(no resampling: the rollout budget stays prompts_per_step x generations)",
        "overlong_buffer_fraction": "soft overlong penalty over the last fraction of max_new_tokens "
                                    "(DAPO's L_cache / L_max)",
        "overlong_penalty_factor": "weight of the overlong penalty in the reward; 0 turns it off",
    },
    "rloo": {"normalize_advantages": "TRL option: whiten RLOO advantages over the batch"},
    "ppo": {
        "value_learning_rate": "learning rate of the critic's own AdamW optimizer",
        "gae_lambda": "GAE lambda (1.0 = Monte Carlo returns minus values, verl's default)",
        "gamma": "discount factor over completion tokens",
        "value_clip": "clip range of the value loss around the rollout-time values (verl's cliprange_value)",
        "whiten_advantages": "normalise GAE advantages over all completion tokens of the batch",
    },
}
TRAINER_DESCRIPTIONS = {
    "grpo": "TRL GRPOTrainer: group-normalised advantages (the current behaviour)",
    "dapo": "GRPOTrainer + token-level loss, clip-higher, dynamic-sampling filter, soft overlong penalty",
    "rloo": "TRL RLOOTrainer: leave-one-out baseline, sequence-level clipped loss",
    "reinforce_pp": "REINFORCE++: critic-free, returns whitened over the whole batch, KL in the reward",
    "remax": "ReMax: baseline = reward of the greedy completion of the same prompt",
    "ppo": "PPO: learned value model (critic with its own optimizer), GAE, clipped value loss",
}
# Keys of the config's rl block that belong to the workflow, not to a trainer: accepted, unused.
WORKFLOW_KEYS = frozenset({"algorithm", "algorithms", "regimes", "checkpoint_fractions", "study",
                           "prompts"})


def validate_settings(settings: dict) -> dict:
    """The full settings of one run: required keys, shared optional keys and the trainer's
    own keys, defaults filled in. Raises ValueError naming an unknown trainer, a missing key
    or a key that neither the shared block nor this trainer accepts."""
    trainer = settings.get("trainer", "grpo")
    if trainer not in TRAINER_OPTIONS:
        raise ValueError(f"unknown trainer {trainer!r}; expected one of {sorted(TRAINER_OPTIONS)}")
    missing = [key for key in REQUIRED_SETTINGS if key not in settings]
    if missing:
        raise ValueError(f"rl settings lack {missing}")
    own = TRAINER_OPTIONS[trainer]
    known = {"trainer", *REQUIRED_SETTINGS, *OPTIONAL_SETTINGS, *own, *WORKFLOW_KEYS}
    unknown = sorted(key for key in settings if key not in known)
    if unknown:
        others = {key: name for name, options in TRAINER_OPTIONS.items() for key in options}
        hints = [f"{key!r} (a {others[key]} option)" if key in others else repr(key) for key in unknown]
        raise ValueError(f"rl settings for trainer {trainer!r}: unknown key(s) {', '.join(hints)}; "
                         f"this trainer accepts {sorted(own)} besides the shared keys")
    if settings.get("bf16") and settings.get("precision") == "float32":
        raise ValueError(f"rl settings: bf16 true and precision {settings['precision']!r}; "
                         "give precision only")
    cfg = {**OPTIONAL_SETTINGS, **own, "trainer": trainer}
    cfg.update({key: value for key, value in settings.items() if key not in WORKFLOW_KEYS})
    if cfg["bf16"]:
        cfg["precision"] = "bfloat16"
    if cfg["precision"] not in PRECISIONS:
        raise ValueError(f"rl settings: precision {cfg['precision']!r}; expected one of {PRECISIONS}")
    if cfg["vllm_mode"] not in ("colocate", "server"):
        raise ValueError(f"rl settings: vllm_mode {cfg['vllm_mode']!r}; expected colocate or server")
    return cfg


def training_precision(cfg: dict, device: str) -> str:
    """``bfloat16`` or ``float32`` for a run of ``cfg`` (validated) on ``device`` (resolved):
    ``auto`` is bfloat16 on a GPU; on a CPU every run is float32 (fp32 for bytewise
    reproducibility; bf16 autocast there would only be slower)."""
    if str(device).startswith("cpu"):
        return "float32"
    return "float32" if cfg["precision"] == "float32" else "bfloat16"
