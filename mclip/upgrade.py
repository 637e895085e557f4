"""Carry trained weights of the paper's form of the model into the dynamics form, keeping
the function they compute (``mclip train --init`` does this when the configs differ).

The two forms (``mclip.model`` docstring) differ in four config fields: ``z_pathway``,
``readout``, ``time_basis`` and ``standardize`` (and the shipped configs drop dropout,
which has no weights). Every other weight means the same in both. What changes:

- standardised features: the encoder's first layer reads ``(x - mean) / std`` instead of
  ``x``, and the head writes ``(x - mean) / std``; both layers are rescaled so the model
  computes exactly what it did (``W' = W diag(std)``, ``b' = b + W mean`` in, and
  ``W' = W / std``, ``b' = (b - mean) / std`` out);
- the per-frame pathways are new and start at zero, so at first they add nothing.

A fine-tune from there starts at the old model's scores and can learn what the new
pathways make reachable.
"""
from __future__ import annotations

from dataclasses import replace

import torch

from .errors import MclipError
from .model import ModelConfig, MotionCLIP

# the fields whose change this module knows how to bridge (dropout has no weights)
DYNAMICS_FIELDS = ("z_pathway", "readout", "time_basis", "standardize", "dropout")


def can_upgrade(old: ModelConfig, new: ModelConfig) -> bool:
    """Whether ``old`` weights can be carried into ``new``: they differ only in
    ``DYNAMICS_FIELDS``, and nothing the new form has is taken away."""
    same_rest = replace(old, **{f: getattr(new, f) for f in DYNAMICS_FIELDS}) == new
    keeps = ((not old.standardize or new.standardize)
             and (old.z_pathway == "memory" or new.z_pathway == old.z_pathway)
             and (old.readout == "token" or new.readout == old.readout)
             and (old.time_basis == new.time_basis
                  or (old.z_pathway, old.readout) == ("memory", "token")))
    return same_rest and keeps


def upgrade(state: dict[str, torch.Tensor], old: ModelConfig, new: ModelConfig,
            features: torch.Tensor) -> MotionCLIP:
    """A ``new``-config model computing what ``state`` (an ``old``-config state dict)
    computes. ``features`` (N, T, 25, 6): training clips for the feature statistics,
    used when ``new`` standardises and ``old`` did not."""
    if not can_upgrade(old, new):
        raise MclipError("--init: the weights' model config differs from this run's beyond "
                         f"{', '.join(DYNAMICS_FIELDS)}")
    model = MotionCLIP(new)
    sd = {k: v.float() if v.is_floating_point() else v for k, v in state.items()}
    if new.standardize and not old.standardize:
        model.set_feature_stats(features)
        mean = model.feature_mean.reshape(-1)                    # (150,)
        std = model.feature_std.reshape(-1)
        w, b = sd["encoder.embed.weight"], sd["encoder.embed.bias"]   # (d, 150), (d,)
        sd["encoder.embed.weight"], sd["encoder.embed.bias"] = w * std, b + w @ mean
        w, b = sd["decoder.head.weight"], sd["decoder.head.bias"]     # (150, d), (150,)
        sd["decoder.head.weight"], sd["decoder.head.bias"] = w / std[:, None], (b - mean) / std
        sd["feature_mean"], sd["feature_std"] = model.feature_mean, model.feature_std
    new_keys = set(model.state_dict()) - set(sd)
    for k in new_keys:                       # the new pathways: zero, so they add nothing yet
        sd[k] = torch.zeros_like(model.state_dict()[k])
    missing = [k for k in new_keys if not k.startswith(("encoder.from_frames.", "decoder.to_queries."))]
    if missing:
        raise MclipError(f"--init: the weights lack {missing[:3]}")
    model.load_state_dict(sd)
    return model
