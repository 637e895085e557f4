"""Body models: from local joint rotations to world joint positions (and mesh vertices).

Two bodies share one call signature::

    body(rotmats (B, T, 24, 3, 3), trans (B, T, 3)) -> BodyOutput(joints (B, T, 24, 3),
                                                                  vertices (B, T, V, 3) | None)

- ``SkeletonBody``: forward kinematics on mclip's own rest-joint table
  (``skeleton.REST_JOINTS``). No mesh, so ``vertices`` is None. Always available.
- ``SmplBody``: the real SMPL layer from ``smplx`` (neutral body, betas = 0), giving
  joints and the 6890 mesh vertices the paper's vertex loss needs. The SMPL model file is
  licensed and cannot be shipped, so the user brings it (``--smpl-dir`` or
  ``MCLIP_SMPL_DIR``).

Both use the same world-frame semantics (z-up, metres; see ``skeleton``): every joint
rotates about its rest position and the root translation is added last, so
``pelvis_world = rest_pelvis + trans``. This is how smplx and AMASS read ``trans``.
Both are differentiable in ``rotmats`` and ``trans``.

``load_body(smpl_dir)`` picks one: SMPL when a model file is found, the skeleton otherwise
(with a one-line hint when a directory was given but holds no model).
"""
from __future__ import annotations

import contextlib
import io
import logging
import os
import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from . import skeleton
from .errors import MclipError

__all__ = ["BodyOutput", "SkeletonBody", "SmplBody", "load_body", "find_smpl_file",
           "SMPL_HELP_URL"]

log = logging.getLogger(__name__)

SMPL_HELP_URL = "https://smpl.is.tue.mpg.de"
SMPL_NUM_VERTICES = 6890
# Keys of an SMPL model file, as smplx's SMPL class reads them (names from the official
# release): v_template (V,3), shapedirs (V,3,10), posedirs (V,3,207), J_regressor (24,V),
# weights (V,24), kintree_table (2,24) whose row 0 holds the parents, f (F,3) faces.
SMPL_KEYS = ("v_template", "shapedirs", "posedirs", "J_regressor", "weights",
             "kintree_table", "f")


@dataclass
class BodyOutput:
    """joints (B, T, 24, 3) world metres; vertices (B, T, V, 3) or None (skeleton body)."""

    joints: torch.Tensor
    vertices: torch.Tensor | None = None


def _check_input(rotmats: torch.Tensor, trans: torch.Tensor | None) -> None:
    if rotmats.shape[-3:] != (skeleton.NUM_JOINTS, 3, 3):
        raise ValueError(f"rotmats must be (..., 24, 3, 3), got {tuple(rotmats.shape)}")
    if trans is not None and trans.shape != rotmats.shape[:-3] + (3,):
        raise ValueError(f"trans must be {tuple(rotmats.shape[:-3]) + (3,)}, "
                         f"got {tuple(trans.shape)}")


class SkeletonBody(torch.nn.Module):
    """Forward kinematics on mclip's own rest skeleton; joints only."""

    name = "skeleton"
    has_vertices = False
    num_vertices = 0
    faces = None

    def __init__(self, device: str | torch.device = "cpu"):
        super().__init__()
        # A buffer so .to(device) moves it along with the module.
        self.register_buffer("rest", torch.as_tensor(skeleton.REST_JOINTS, device=device))

    def rest_joints(self) -> torch.Tensor:
        """(24, 3) rest joint positions in the body frame (y up, facing +z), metres."""
        return self.rest

    def forward(self, rotmats: torch.Tensor, trans: torch.Tensor | None = None) -> BodyOutput:
        """rotmats (..., 24, 3, 3) local rotations, trans (..., 3) -> joints (..., 24, 3)."""
        _check_input(rotmats, trans)
        return BodyOutput(skeleton.forward_kinematics(rotmats, trans, self.rest), None)


def find_smpl_file(smpl_dir: str | os.PathLike) -> Path | None:
    """The neutral SMPL model file under ``smpl_dir``, or None.

    Looks where smplx looks (``<dir>/smpl/SMPL_NEUTRAL.*``) and, for convenience, in
    ``<dir>`` itself. ``.npz`` is preferred (plain arrays). The official ``.pkl`` stores
    some arrays as ``chumpy`` objects; we unpickle those without chumpy installed.
    """
    d = Path(smpl_dir).expanduser()
    for folder in (d / "smpl", d):
        for ext in ("npz", "pkl"):
            f = folder / f"SMPL_NEUTRAL.{ext}"
            if f.is_file():
                return f
    return None


class _ChumpyValue:
    """Stands in for a pickled ``chumpy.Ch`` so official SMPL ``.pkl`` files load without
    chumpy (which does not install on numpy 2). A plain ``Ch`` pickles its value as the
    ``x`` entry of its state dict; that is all we keep."""

    def __setstate__(self, state):
        self.x = state.get("x") if isinstance(state, dict) else None


class _NoChumpyUnpickler(pickle.Unpickler):
    """Maps every ``chumpy.*`` class to ``_ChumpyValue``; latin1 reads Python 2 pickles."""

    def __init__(self, fh):
        super().__init__(fh, encoding="latin1")

    def find_class(self, module, name):
        if module == "chumpy" or module.startswith("chumpy."):
            return _ChumpyValue
        return super().find_class(module, name)


def _plain_array(x) -> np.ndarray:
    """A model-file entry as a plain ndarray (scipy.sparse J_regressor -> dense)."""
    if isinstance(x, np.ndarray) and x.dtype == object and x.shape == ():
        x = x.item()  # a pickled object stored inside an npz
    if isinstance(x, _ChumpyValue):
        if x.x is None:
            raise ValueError("a chumpy expression, not a stored array")
        x = x.x
    if hasattr(x, "todense"):
        x = x.todense()
    return np.asarray(x)


def _read_model_file(path: Path) -> dict[str, np.ndarray]:
    """Read an SMPL ``.npz`` or ``.pkl`` into {key: ndarray}; MclipError if unusable."""
    try:
        if path.suffix == ".npz":
            try:
                with np.load(path, allow_pickle=False) as z:
                    raw = {k: z[k] for k in z.files}
            except ValueError:
                # Some converted files keep J_regressor as a pickled scipy.sparse matrix.
                # It is the user's own model file, so unpickling it is acceptable.
                with np.load(path, allow_pickle=True) as z:
                    raw = {k: z[k] for k in z.files}
        else:
            with open(path, "rb") as fh:
                raw = _NoChumpyUnpickler(fh).load()
    except Exception as e:  # corrupt zip / pickle
        raise MclipError(f"{path}: cannot read SMPL model ({type(e).__name__}: {e})") from None
    missing = [k for k in SMPL_KEYS if k not in raw]
    if missing:
        raise MclipError(f"{path}: not an SMPL model file, missing {', '.join(missing)}")
    try:
        data = {k: _plain_array(raw[k]) for k in SMPL_KEYS}
    except ValueError as e:
        raise MclipError(f"{path}: cannot read SMPL arrays ({e}); convert the model to "
                         "SMPL_NEUTRAL.npz with plain arrays") from None
    V = data["v_template"].shape[0]
    expect = {"v_template": (V, 3), "J_regressor": (skeleton.NUM_JOINTS, V),
              "weights": (V, skeleton.NUM_JOINTS)}
    for k, shape in expect.items():
        if data[k].shape != shape:
            raise MclipError(f"{path}: {k} has shape {data[k].shape}, expected {shape} "
                             "(an SMPL body with 24 joints)")
    if data["posedirs"].shape[:2] != (V, 3) or data["shapedirs"].shape[:2] != (V, 3):
        raise MclipError(f"{path}: posedirs/shapedirs must start with ({V}, 3)")
    return data


class SmplBody(torch.nn.Module):
    """The SMPL layer from ``smplx`` (neutral, betas = 0), joints and vertices.

    ``smpl_dir``: a folder with ``smpl/SMPL_NEUTRAL.npz`` (or ``.pkl``), or the model
    file itself. Raises MclipError when it is missing or unreadable (``load_body`` is the
    forgiving entry point).
    """

    name = "smpl"
    has_vertices = True

    def __init__(self, smpl_dir: str | os.PathLike, device: str | torch.device = "cpu"):
        super().__init__()
        import smplx
        from smplx.lbs import lbs
        from smplx.utils import Struct

        p = Path(smpl_dir).expanduser()
        path = p if p.is_file() else find_smpl_file(p)
        if path is None:
            raise MclipError(f"{smpl_dir}: no smpl/SMPL_NEUTRAL.npz or .pkl found")
        self.path = path
        data = _read_model_file(path)
        # We read the file ourselves (smplx 0.1.28 only unpickles, which fails on .npz)
        # and hand smplx the arrays; SMPLLayer keeps no pose parameters of its own.
        # smplx prints a "only 10 shape coefficients" notice to stdout for every real
        # SMPL file; keep stdout clean for `--json` output.
        with contextlib.redirect_stdout(io.StringIO()):
            layer = smplx.SMPLLayer(model_path=str(path), data_struct=Struct(**data),
                                    gender="neutral", num_betas=10)
        self.layer = layer.to(device)
        self.num_vertices = int(layer.v_template.shape[0])
        self.faces = np.asarray(data["f"], dtype=np.int64)
        self._lbs = lbs

    def rest_joints(self) -> torch.Tensor:
        """(24, 3) rest joints of the neutral body, J_regressor @ v_template, body frame."""
        return self.layer.J_regressor @ self.layer.v_template

    def forward(self, rotmats: torch.Tensor, trans: torch.Tensor | None = None) -> BodyOutput:
        """rotmats (..., 24, 3, 3), trans (..., 3) -> joints (..., 24, 3), vertices (..., V, 3).

        We call smplx's skinning function (``lbs``) rather than ``SMPLLayer.forward``: the
        latter appends 21 landmarks picked from fixed vertex ids of the 6890-vertex mesh
        (nose, toes, finger tips) which we do not use. ``lbs`` is the same code path.
        Memory grows with the number of frames: about 0.5 KB x V per frame.
        """
        _check_input(rotmats, trans)
        lead = rotmats.shape[:-3]
        L = self.layer
        R = rotmats.reshape(-1, skeleton.NUM_JOINTS, 3, 3).to(L.v_template.dtype)
        n = R.shape[0]
        betas = torch.zeros(n, L.num_betas, dtype=R.dtype, device=R.device)
        verts, joints = self._lbs(betas, R, L.v_template, L.shapedirs, L.posedirs,
                                  L.J_regressor, L.parents, L.lbs_weights, pose2rot=False)
        if trans is not None:
            t = trans.reshape(n, 1, 3).to(R.dtype)
            verts, joints = verts + t, joints + t
        return BodyOutput(joints.reshape(lead + (skeleton.NUM_JOINTS, 3)),
                          verts.reshape(lead + (self.num_vertices, 3)))


def _missing_smpl_message(smpl_dir: str) -> str:
    d = Path(smpl_dir).expanduser()
    return (f"{smpl_dir}: no SMPL model found (looked for {d / 'smpl' / 'SMPL_NEUTRAL.npz'} "
            f"or .pkl); using mclip's skeleton (joints only, no vertices). To use SMPL, "
            f"register at {SMPL_HELP_URL}, accept the licence, download the model and put "
            f"SMPL_NEUTRAL.npz under {d / 'smpl'}/")


def load_body(smpl_dir: str | os.PathLike | None = None,
              device: str | torch.device = "cpu") -> SkeletonBody | SmplBody:
    """The body to use: SMPL when a model file is found, else the skeleton.

    ``smpl_dir`` falls back to the environment variable ``MCLIP_SMPL_DIR``. With neither,
    the skeleton is used silently. A directory without a model file logs one warning
    line (how to get SMPL) and uses the skeleton. A model file that exists but cannot be
    read raises MclipError: the user asked for it explicitly.
    """
    if smpl_dir is None or str(smpl_dir) == "":
        smpl_dir = os.environ.get("MCLIP_SMPL_DIR") or None
    if smpl_dir is None:
        return SkeletonBody(device)
    p = Path(smpl_dir).expanduser()
    if not (p.is_file() or find_smpl_file(p) is not None):
        log.warning(_missing_smpl_message(str(smpl_dir)))
        return SkeletonBody(device)
    return SmplBody(p, device)
