"""Fixtures shared by unit-test modules."""

import numpy as np
import pytest
import torch

from rlvr_boundary.world.data import draw_problems, problems_frame
from rlvr_boundary.models.modeling import save_checkpoint
from rlvr_boundary.training.pretrain import pretrain


@pytest.fixture(scope="session")
def base_path(tmp_path_factory):
    """A tiny Llama (hidden 64, 1 layer) pretrained briefly on clean depth 1-2 traces, so
    that some sampled answers are right and RL advantages are not all zero."""
    rng = np.random.default_rng(0)
    train = problems_frame(draw_problems(rng, [1, 2], 300, set(), "train"), "train")
    architecture = {"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 1,
                    "num_attention_heads": 2}
    model, tokenizer, _ = pretrain(train, architecture, {"depths": [1, 2], "steps": 300,
                                                         "batch_size": 64, "learning_rate": 3e-3},
                                   None, 64, seed=0, threads=1)
    path = tmp_path_factory.mktemp("base") / "model"
    save_checkpoint(model, tokenizer, path)
    return path


@pytest.fixture(scope="session")
def prompts():
    rng = np.random.default_rng(1)
    return [p.prompt for p in draw_problems(rng, [1, 2], 8, set(), "rl")]


@pytest.fixture(scope="module")
def one_thread():
    """One torch thread: results are defined per thread count, and on a shared 2-core
    machine a second OpenMP thread waiting for a busy core makes tiny ops 100x slower.
    Modules opt in with pytestmark = pytest.mark.usefixtures("one_thread")."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
