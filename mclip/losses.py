"""MotionCLIP's training objective, equations (1)-(4) of the paper.

    L_recon = MSE(p, p^)            "rot":  6D rotations (+ the root-translation row)
            + MSE(v, v^)            "pos":  SMPL vertices, or joint positions without SMPL
            + MSE(dp, dp^)          "vel":  frame-to-frame differences of p
    L_text  = 1 - cos(text_embedding, z_p)
    L_image = 1 - cos(image_embedding, z_p)
    L       = L_recon + lambda_text L_text + lambda_image L_image

Beyond the paper, optional (weight 0 by default): ``text_recon``, L_recon of the clip
decoded from its *text's* latent. The paper feeds text latents to the decoder only at
inference; this term trains that path too (see ``TrainConfig.lambda_text_recon``).

Each MSE is a mean over all its elements, which is the paper's 1/(|p| T) normalisation.
The authors' code weights each reconstruction term by 100 and each cosine term by 1
(the paper's lambda = 0.01, rescaled): those are the ``LossWeights`` defaults.

Positions come from a body (``mclip.body``): with a real SMPL model its vertices are
compared (as in the paper), with mclip's skeleton the 24 joint positions.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .representation import from_features


@dataclass
class LossWeights:
    """Weights of eq. (4); reconstruction terms split into their three parts."""

    rot: float = 100.0
    vel: float = 100.0
    pos: float = 100.0
    text: float = 1.0
    image: float = 1.0
    text_recon: float = 0.0


def body_positions(x: torch.Tensor, body=None) -> torch.Tensor:
    """Features (B, T, 25, 6) -> positions (B, T, P, 3) in metres.

    P = SMPL's vertices when ``body`` has them, else the 24 joints (``body`` or, when
    None, mclip's skeleton forward kinematics).
    """
    rotmats, trans = from_features(x)
    if body is None:
        from .skeleton import forward_kinematics

        return forward_kinematics(rotmats, trans)
    out = body(rotmats, trans)
    return out.vertices if out.vertices is not None else out.joints


def reconstruction_loss(pred: torch.Tensor, target: torch.Tensor, body=None,
                        weights: LossWeights | None = None) -> dict[str, torch.Tensor]:
    """Eq. (1). pred, target: (B, T, 25, 6) features.

    Returns {"rot", "vel", "pos", "recon"} where recon is the weighted sum.
    """
    w = weights or LossWeights()
    rot = F.mse_loss(pred, target)
    vel = F.mse_loss(pred[:, 1:] - pred[:, :-1], target[:, 1:] - target[:, :-1])
    with torch.no_grad():
        target_pos = body_positions(target, body)
    pos = F.mse_loss(body_positions(pred, body), target_pos)
    recon = w.rot * rot + w.vel * vel + w.pos * pos
    return {"rot": rot, "vel": vel, "pos": pos, "recon": recon}


def cosine_loss(embedding: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """1 - cos(embedding, z), averaged over the batch. Both (B, D). Eq. (2) and (3)."""
    return (1.0 - F.cosine_similarity(embedding.to(z.dtype), z, dim=-1, eps=1e-8)).mean()


def text_loss(text_embedding: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """Eq. (2): the backbone's embedding of the clip's label vs the motion latent z_p."""
    return cosine_loss(text_embedding, z)


def image_loss(image_embedding: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """Eq. (3): the backbone's embedding of a rendered frame of the clip vs z_p."""
    return cosine_loss(image_embedding, z)


def motionclip_loss(pred: torch.Tensor, target: torch.Tensor, z: torch.Tensor,
                    text_embedding: torch.Tensor | None = None,
                    image_embedding: torch.Tensor | None = None,
                    body=None, weights: LossWeights | None = None,
                    text_pred: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
    """Eq. (4). Text/image terms are skipped (absent from the dict) when their
    embeddings are None. ``text_pred`` (B, T, 25, 6): the clips decoded from their texts'
    latents, scored as "text_recon" with weight ``weights.text_recon``. Returns every
    term plus "total", the value to minimise."""
    w = weights or LossWeights()
    terms = reconstruction_loss(pred, target, body, w)
    total = terms["recon"]
    if text_pred is not None:
        terms["text_recon"] = reconstruction_loss(text_pred, target, body, w)["recon"]
        total = total + w.text_recon * terms["text_recon"]
    if text_embedding is not None:
        terms["text"] = text_loss(text_embedding, z)
        total = total + w.text * terms["text"]
    if image_embedding is not None:
        terms["image"] = image_loss(image_embedding, z)
        total = total + w.image * terms["image"]
    terms["total"] = total
    return terms
