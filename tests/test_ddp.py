"""DDP: the same training script under torchrun, 2 CPU processes on gloo.

Two ranks with 8 clips each must train the same weights as one process with 16 clips
per step: the DistributedSampler splits each global batch between the ranks and DDP
averages their gradients (dropout off, one text per clip, so nothing random differs).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch

from mclip.data.dataset import write_dataset
from mclip.train import TrainConfig, train

torch.set_num_threads(1)

BACKBONE = textwrap.dedent('''
    import hashlib, torch

    class HashBackbone:
        """Each text -> a fixed random unit vector (a stand-in for MiniLM)."""
        name, identity, dim, has_image = "hash", "hash:test", 16, False

        def encode_text(self, texts):
            out = [torch.randn(16, generator=torch.Generator().manual_seed(
                int(hashlib.sha1(t.encode()).hexdigest()[:8], 16))) for t in texts]
            return torch.nn.functional.normalize(torch.stack(out), dim=-1)
''')

SCRIPT = BACKBONE + textwrap.dedent('''
    import json, sys
    torch.set_num_threads(1)
    from mclip.train import TrainConfig, train
    cfg = TrainConfig(**json.loads(sys.argv[1]))
    train(cfg, backbone=HashBackbone())
''')


def settings(tmp_path, out, batch):
    data = tmp_path / "ds"
    if not data.exists():
        rng = np.random.default_rng(1)
        n = 40
        t = np.linspace(0, 2, 60)[None, :, None]
        poses = rng.uniform(0, 0.4, (n, 1, 72)) * np.sin(2 * np.pi * t + rng.uniform(0, 6, (n, 1, 72)))
        poses[:, :, 0] = np.pi / 2
        trans = np.zeros((n, 60, 3))
        trans[..., 2] = 0.9
        recs = [{"text": ["walk", "jump", "wave"][i % 3], "split": "val" if i % 10 == 0 else "train"}
                for i in range(n)]
        write_dataset(data, poses.astype(np.float32), trans.astype(np.float32), recs)
    model = tmp_path / "tiny.json"
    model.write_text(json.dumps({"d_model": 32, "enc_layers": 1, "dec_layers": 1, "heads": 2,
                                 "ff_size": 64, "dropout": 0.0, "latent_dim": 16, "backbone": "hash"}))
    return dict(data=str(data), out=str(tmp_path / out), model=str(model), batch_size=batch, lr=1e-3,
                steps=6, ckpt_every=4, val_every=3, sample_every=0, log_every=1, progress=False,
                seed=5)


@pytest.mark.slow
def test_two_gloo_processes_match_one_process(tmp_path):
    script = tmp_path / "ddp_train.py"
    script.write_text(SCRIPT)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           str(script), json.dumps(settings(tmp_path, "ddp", 8))]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]

    ns = {}
    exec(BACKBONE, ns)
    train(TrainConfig(**settings(tmp_path, "single", 16)), backbone=ns["HashBackbone"]())

    ddp = torch.load(tmp_path / "ddp" / "last.pt", weights_only=False)
    one = torch.load(tmp_path / "single" / "last.pt", weights_only=False)
    assert ddp["step"] == one["step"] == 6
    assert len(ddp["extra"]["rng"]) == 2                      # every rank's RNG is saved
    for k in one["model"]:
        # Attention query/key weights get (near) zero gradient: softmax ignores a shift
        # of all scores, and the decoder's cross-attention has a single key. Adam blows
        # that float noise up to lr-sized steps, so only their effect is compared below.
        if "in_proj" not in k:
            assert torch.allclose(ddp["model"][k], one["model"][k], atol=1e-5), k
    from mclip.checkpoint import load_checkpoint
    from mclip.data.dataset import ClipDataset

    x = ClipDataset(tmp_path / "ds", "train").features[:8]
    with torch.no_grad():
        y_ddp = load_checkpoint(tmp_path / "ddp" / "last.pt")[0](x)[0]
        y_one = load_checkpoint(tmp_path / "single" / "last.pt")[0](x)[0]
    assert torch.allclose(y_ddp, y_one, atol=1e-4)
    # rank 0 alone logs: one line per step, not two
    log = [json.loads(l) for l in (tmp_path / "ddp" / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log if "total" in r] == [1, 2, 3, 4, 5, 6]
