"""Write tests/golden/tiny_outputs.npz: what a tiny MotionCLIP computes, for the golden
test (tests/test_model.py::test_golden_outputs). Run it only when a change to the
model's maths is intended, and say so in the commit:

    python tests/golden/make_golden.py

Weights are drawn from numpy's RNG (not torch's initialisation, which may change with a
torch release), so the stored numbers depend on the model's maths alone.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from mclip.model import ModelConfig, MotionCLIP

TINY = dict(num_frames=60, d_model=32, enc_layers=1, dec_layers=1, heads=2, ff_size=64,
            dropout=0.0, latent_dim=16, backbone="minilm")
FORMS = {
    "paper": dict(z_pathway="memory", readout="token", standardize=False),
    "dynamics": dict(z_pathway="frames", readout="frames", time_basis=16, standardize=True,
                     smooth_output=20, scale_latent=True),
}


def tiny_model(form: str) -> MotionCLIP:
    model = MotionCLIP(ModelConfig(**TINY, **FORMS[form]))
    rng = np.random.default_rng(7)
    with torch.no_grad():
        for name, p in sorted(model.named_parameters()):
            p.copy_(torch.from_numpy(rng.standard_normal(tuple(p.shape)) * 0.1).float())
    return model.eval()


def golden_input() -> torch.Tensor:
    """(2, 60, 25, 6) features: smooth curves, so the low-pass has something to keep."""
    rng = np.random.default_rng(3)
    t = np.linspace(0, 2 * np.pi, 60)[None, :, None, None]
    x = (rng.standard_normal((2, 1, 25, 6)) * np.sin(t * rng.integers(1, 4, (2, 1, 25, 6)))
         + 0.1 * rng.standard_normal((2, 60, 25, 6)))
    return torch.from_numpy(x).float()


def outputs(form: str) -> dict[str, np.ndarray]:
    model = tiny_model(form)
    with torch.no_grad():
        recon, z = model(golden_input())
    return {f"{form}_z": z.numpy(), f"{form}_recon": recon.numpy()}


if __name__ == "__main__":
    out = {}
    for form in FORMS:
        out.update(outputs(form))
    path = Path(__file__).with_name("tiny_outputs.npz")
    np.savez(path, **out)
    print(f"wrote {path}: " + ", ".join(f"{k} {v.shape}" for k, v in out.items()))
