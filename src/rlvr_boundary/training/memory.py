"""GPU memory of one paper-scale RL run, computed from the model's shape (not measured).

Per GPU, for a run on ``gpus`` GPUs (one process each) in bf16 mixed precision with AdamW:

- model states, ``16 P`` bytes in all: fp32 master weights (4), fp32 gradients (4) and
  Adam's two fp32 moments (8) per parameter; sharded over the GPUs by FSDP full sharding
  (ZeRO-3's layout): ``16 P / N`` each; in host memory with FSDP CPU offload; whole on
  every GPU with DDP or one GPU, which also keeps autocast's bf16 copy of the weights
  (``2 P``);
- FSDP's gathered units: the bf16 weights of the root unit (embeddings, lm_head) and of
  two decoder layers (the running one and the prefetched one) and the bf16 gradients of
  the same, ``4 (E + layer)`` bytes;
- activations with gradient checkpointing, per micro-batch of ``b`` sequences of ``S``
  tokens (prompt + completion) of which ``T`` are completion: each layer's bf16 input
  ``L b S h 2``, one layer recomputed with its gradients ``2 b S (6 h + 4 i) 2``, and the
  completion logits (bf16 logits, their temperature-scaled copy, log-softmax, gradient)
  ``4 b T V 2``;
- vLLM colocated: the share ``u`` of the GPU it reserves (its bf16 weights ``2 P / tp``
  and the KV cache in the rest);
- a fixed overhead (CUDA context, NCCL buffers, allocator fragmentation).

``python -m rlvr_boundary.training.memory`` prints the tables of docs/cluster.md ("Memory
for RL training"), which a test keeps equal to this module's output.
"""

from __future__ import annotations

from dataclasses import dataclass

GIB = 2 ** 30
GPU_GIB = 79.6            # an H100 / A100 "80 GB": 81,559 MiB as nvidia-smi reports it
OVERHEAD_GIB = 3.0        # CUDA context, NCCL buffers, fragmentation (an allowance)
STATE_BYTES = 16          # fp32 weights 4 + fp32 gradients 4 + Adam moments 8


@dataclass(frozen=True)
class Shape:
    """A decoder-only transformer's shape (from its config.json on the Hub)."""

    name: str
    hidden: int
    layers: int
    intermediate: int
    heads: int
    kv_heads: int
    vocab: int
    tied: bool        # lm_head shares the embedding matrix
    qkv_bias: bool    # Qwen2 has q/k/v biases, Llama none

    @property
    def kv_width(self) -> int:
        return self.kv_heads * (self.hidden // self.heads)

    @property
    def layer_parameters(self) -> int:
        h, kv = self.hidden, self.kv_width
        attention = 2 * h * h + 2 * h * kv + ((h + 2 * kv) if self.qkv_bias else 0)
        return attention + 3 * h * self.intermediate + 2 * h  # + gate/up/down, two norms

    @property
    def embedding_parameters(self) -> int:
        return self.vocab * self.hidden * (1 if self.tied else 2)

    @property
    def parameters(self) -> int:
        return self.layers * self.layer_parameters + self.embedding_parameters + self.hidden

    def kv_bytes_per_token(self) -> int:
        """vLLM's bf16 KV cache per token: keys and values of every layer."""
        return 2 * self.layers * self.kv_width * 2


# The size classes of configs/paper.yaml (and Qwen2.5-1.5B), from the models' config.json.
SHAPES = {
    "1.5b": Shape("Qwen2.5-1.5B", 1536, 28, 8960, 12, 2, 151936, True, True),
    "7b": Shape("Qwen2.5-7B", 3584, 28, 18944, 28, 4, 152064, False, True),
    "8b": Shape("Llama-3.1-8B", 4096, 32, 14336, 32, 8, 128256, False, False),
    "14b": Shape("Qwen2.5-14B", 5120, 48, 13824, 40, 8, 152064, False, True),
    "32b": Shape("Qwen2.5-32B", 5120, 64, 27648, 40, 8, 152064, False, True),
}
# The rollout shape of the tables: configs/paper.yaml's algorithm study (max_new_tokens
# 8,192, micro_batch_size 1) with prompts of up to 512 tokens.
PROMPT_TOKENS, COMPLETION_TOKENS, MICRO_BATCH = 512, 8192, 1


@dataclass(frozen=True)
class Run:
    """How a run is laid out: strategy (``fsdp``, ``fsdp_offload``, ``ddp``; one GPU is
    ``ddp`` with gpus 1), GPUs, vLLM's share and tensor-parallel size."""

    strategy: str
    gpus: int
    vllm_share: float = 0.3
    vllm_tp: int = 1


def memory_gib(shape: Shape, run: Run, micro_batch: int = MICRO_BATCH,
               prompt_tokens: int = PROMPT_TOKENS, completion_tokens: int = COMPLETION_TOKENS,
               gpu_gib: float = GPU_GIB) -> dict[str, float]:
    """Each term of the module docstring per GPU, in GiB, and their ``total``."""
    p, layer, embedding = shape.parameters, shape.layer_parameters, shape.embedding_parameters
    h, i, b = shape.hidden, shape.intermediate, micro_batch
    s, t = prompt_tokens + completion_tokens, completion_tokens
    sharded = run.strategy.startswith("fsdp") and run.gpus > 1 or run.strategy == "fsdp_offload"
    if run.strategy == "fsdp_offload":
        states = 0.0
    elif sharded:
        states = STATE_BYTES * p / run.gpus
    else:
        states = STATE_BYTES * p + 2 * p  # a full replica and autocast's bf16 weight copies
    terms = {
        "states": states,
        "gathered": 4 * (embedding + layer) if sharded else 0.0,
        "activations": (shape.layers * b * s * h * 2 + 2 * b * s * (6 * h + 4 * i) * 2
                        + 4 * b * t * shape.vocab * 2),
    }
    terms = {key: value / GIB for key, value in terms.items()}
    terms["vllm"] = run.vllm_share * gpu_gib
    terms["overhead"] = OVERHEAD_GIB
    terms["total"] = sum(terms.values())
    return terms


def vllm_room(shape: Shape, run: Run, gpu_gib: float = GPU_GIB,
              sequence_tokens: int = PROMPT_TOKENS + COMPLETION_TOKENS) -> tuple[float, float]:
    """(GiB of bf16 weights per GPU, full-length sequences its KV cache holds at once) of a
    colocated engine; the sequences are <= 0 where the weights do not fit its share."""
    weights = 2 * shape.parameters / run.vllm_tp / GIB
    kv = run.vllm_share * gpu_gib - weights
    return weights, kv * GIB / (shape.kv_bytes_per_token() * sequence_tokens / run.vllm_tp)


# The layout this project suggests per size class on 80 GB GPUs (the table says whether it
# fits); configs/paper.yaml trains only 7b models (the algorithm study: fsdp on 8 GPUs).
SUGGESTED = {
    "1.5b": Run("ddp", 1),
    "7b": Run("fsdp", 8),
    "8b": Run("fsdp", 8),
    "14b": Run("fsdp", 8, vllm_share=0.25, vllm_tp=2),
    "32b": Run("fsdp_offload", 8, vllm_share=0.3, vllm_tp=4),
}


def _gib(value: float) -> str:
    return f"{value:.1f}"


def states_table() -> str:
    """Model states per size: in all, and per GPU when FSDP shards them over N GPUs."""
    rows = ["| size | model | parameters | bf16 weights 2P | fp32 weights 4P | fp32 grads 4P "
            "| Adam 8P | states 16P | per GPU, N = 2 | N = 4 | N = 8 |",
            "|---|---|---|---|---|---|---|---|---|---|---|"]
    for size, shape in SHAPES.items():
        p = shape.parameters / GIB
        rows.append(f"| {size} | {shape.name} | {shape.parameters / 1e9:.2f} B | {_gib(2 * p)} "
                    f"| {_gib(4 * p)} | {_gib(4 * p)} | {_gib(8 * p)} | {_gib(16 * p)} | "
                    + " | ".join(_gib(16 * p / n) for n in (2, 4, 8)) + " |")
    return "\n".join(rows)


def totals_table(gpu_gib: float = GPU_GIB) -> str:
    """Per GPU, the suggested layout of each size: every term, the total, whether it fits."""
    rows = ["| size | layout | states | gathered | activations | vLLM share (weights, "
            "sequences in KV) | overhead | total | fits |",
            "|---|---|---|---|---|---|---|---|---|"]
    for size, run in SUGGESTED.items():
        shape = SHAPES[size]
        terms = memory_gib(shape, run, gpu_gib=gpu_gib)
        weights, sequences = vllm_room(shape, run, gpu_gib)
        layout = f"{run.strategy}, {run.gpus} GPU{'s' if run.gpus > 1 else ''}"
        layout += f", vLLM {run.vllm_share:g} tp {run.vllm_tp}"
        fits = "yes" if terms["total"] <= gpu_gib and sequences >= 1 else "no"
        rows.append(f"| {size} | {layout} | {_gib(terms['states'])} | {_gib(terms['gathered'])} "
                    f"| {_gib(terms['activations'])} | {_gib(terms['vllm'])} ({_gib(weights)}, "
                    f"{sequences:.0f}) | {_gib(terms['overhead'])} | {_gib(terms['total'])} "
                    f"| {fits} |")
    return "\n".join(rows)


def fsdp_table(gpu_gib: float = GPU_GIB) -> str:
    """Per GPU total of each size under FSDP over N GPUs (N = 1: one GPU, no sharding),
    vLLM colocated at 0.3 with the tensor-parallel size of the suggested layout."""
    counts = (1, 2, 4, 8)
    rows = ["| size | " + " | ".join(f"N = {n}" for n in counts) + " |",
            "|---|" + "---|" * len(counts)]
    for size, shape in SHAPES.items():
        cells = []
        for n in counts:
            tp = min(SUGGESTED[size].vllm_tp, n)
            total = memory_gib(shape, Run("fsdp" if n > 1 else "ddp", n, 0.3, tp),
                               gpu_gib=gpu_gib)["total"]
            cells.append(_gib(total) + ("" if total <= gpu_gib else " (no)"))
        rows.append(f"| {size} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def tables() -> str:
    return "\n\n".join([states_table(), fsdp_table(), totals_table()])


if __name__ == "__main__":
    print(tables())
