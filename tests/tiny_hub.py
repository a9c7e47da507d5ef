"""Tiny real-format checkpoints in a Hugging Face cache, for tests of the Hub code paths.

A byte-level BPE tokenizer (no merges: any text encodes) with Qwen-style chat specials and a
from-scratch Llama (head_dim 32, which vLLM supports), saved the way ``snapshot_download``
leaves a repo in the cache: ``models--{org}--{name}/snapshots/{commit}/`` and
``refs/main``. With ``HF_HUB_OFFLINE=1`` the Hub code reads it back without a network.
"""

from __future__ import annotations

from pathlib import Path

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]


def byte_tokenizer() -> PreTrainedTokenizerFast:
    vocab = {char: i for i, char in enumerate(sorted(pre_tokenizers.ByteLevel.alphabet()))}
    core = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    core.decoder = decoders.ByteLevel()
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=core, eos_token=SPECIALS[0],
                                        pad_token=SPECIALS[0], padding_side="left")
    tokenizer.add_special_tokens({"additional_special_tokens": SPECIALS[1:]})
    return tokenizer


def tiny_model(tokenizer, seed: int, max_positions: int = 4096) -> LlamaForCausalLM:
    torch.manual_seed(seed)
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128,
                         num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=2,
                         head_dim=32, max_position_embeddings=max_positions,
                         eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
                         bos_token_id=tokenizer.eos_token_id, tie_word_embeddings=True)
    return LlamaForCausalLM(config).eval()


def save_in_cache(cache: Path, repo: str, commit: str, seed: int) -> Path:
    """A tiny model saved as ``repo`` at ``commit`` in the cache; returns the snapshot."""
    org, name = repo.split("/")
    storage = cache / f"models--{org}--{name}"
    snapshot = storage / "snapshots" / commit
    tokenizer = byte_tokenizer()
    tiny_model(tokenizer, seed).save_pretrained(snapshot)
    tokenizer.save_pretrained(snapshot)
    (storage / "refs").mkdir(parents=True, exist_ok=True)
    (storage / "refs" / "main").write_text(commit)
    return snapshot
