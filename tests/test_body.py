"""Body models: SkeletonBody and SmplBody (through the real smplx code) on a small
synthetic SMPL-format model file written here, plus load_body's fallbacks.

The synthetic model puts 8 vertices around each of our 24 rest joints, with offsets
that average to zero per joint, and a J_regressor that averages each cluster: so its
rest joints are exactly skeleton.REST_JOINTS and SMPL's joints must match our own FK.
"""
from __future__ import annotations

import logging
import math
import pickle

import numpy as np
import pytest
import torch

from mclip import body as body_mod
from mclip import skeleton
from mclip.body import BodyOutput, SkeletonBody, SmplBody, load_body
from mclip.errors import MclipError
from mclip.rotations import axis_angle_to_matrix, rotation_about

torch.set_num_threads(1)

PER_JOINT = 8
V = 24 * PER_JOINT
LE, LW = skeleton.JOINT_INDEX["left_elbow"], skeleton.JOINT_INDEX["left_wrist"]


def make_model(seed: int = 0) -> dict[str, np.ndarray]:
    """Arrays of an SMPL model file with the shapes smplx reads (V = 192 vertices)."""
    rng = np.random.default_rng(seed)
    off = rng.normal(scale=0.03, size=(24, PER_JOINT, 3))
    off -= off.mean(axis=1, keepdims=True)  # each cluster is centred on its joint
    v_template = (skeleton.REST_JOINTS[:, None, :].astype(np.float64) + off).reshape(V, 3)
    J_regressor = np.zeros((24, V))
    weights = np.zeros((V, 24))
    for j in range(24):
        J_regressor[j, j * PER_JOINT:(j + 1) * PER_JOINT] = 1.0 / PER_JOINT
        weights[j * PER_JOINT:(j + 1) * PER_JOINT, j] = 1.0
    # The last vertex of each non-root cluster is shared 60/40 with the parent joint.
    for j in range(1, 24):
        k = (j + 1) * PER_JOINT - 1
        weights[k] = 0.0
        weights[k, j], weights[k, skeleton.PARENTS[j]] = 0.6, 0.4
    kintree = np.stack([np.array(skeleton.PARENTS, dtype=np.int64), np.arange(24)])
    kintree[0, 0] = 4294967295  # what the official file stores for "no parent"
    return {
        "v_template": v_template,
        "shapedirs": rng.normal(scale=0.01, size=(V, 3, 10)),
        "posedirs": rng.normal(scale=0.01, size=(V, 3, 207)),
        "J_regressor": J_regressor,
        "weights": weights,
        "kintree_table": kintree,
        "f": rng.integers(0, V, size=(300, 3)).astype(np.uint32),
    }


@pytest.fixture(scope="module")
def model_arrays():
    return make_model()


@pytest.fixture(scope="module")
def smpl_dir(tmp_path_factory, model_arrays):
    d = tmp_path_factory.mktemp("smpl_models")
    (d / "smpl").mkdir()
    np.savez(d / "smpl" / "SMPL_NEUTRAL.npz", **model_arrays)
    return d


@pytest.fixture(scope="module")
def smpl(smpl_dir):
    return SmplBody(smpl_dir)


def random_rotmats(shape, seed=1, scale=0.8):
    g = torch.Generator().manual_seed(seed)
    return axis_angle_to_matrix(torch.randn(shape + (24, 3), generator=g) * scale)


# ------------------------------------------------------------------ SMPL body

def test_smpl_shapes_and_metadata(smpl, model_arrays):
    R = random_rotmats((2, 5))
    out = smpl(R, torch.zeros(2, 5, 3))
    assert isinstance(out, BodyOutput)
    assert out.joints.shape == (2, 5, 24, 3)
    assert out.vertices.shape == (2, 5, V, 3)
    assert out.joints.dtype == torch.float32
    assert smpl.num_vertices == V and smpl.has_vertices
    np.testing.assert_array_equal(smpl.faces, model_arrays["f"])
    # smplx parsed kintree_table row 0 into our parents (root -> -1).
    assert smpl.layer.parents.tolist() == list(skeleton.PARENTS)


def test_zero_pose_is_regressed_template_plus_trans(smpl, model_arrays):
    trans = torch.tensor([[[0.3, -1.2, 0.9]]])
    out = smpl(torch.eye(3).expand(1, 1, 24, 3, 3), trans)
    expect_j = model_arrays["J_regressor"] @ model_arrays["v_template"] + trans.numpy()[0, 0]
    np.testing.assert_allclose(out.joints[0, 0].numpy(), expect_j, atol=1e-5)
    # No rotation: no pose blend shapes either, vertices are the template moved by trans.
    np.testing.assert_allclose(out.vertices[0, 0].numpy(),
                               model_arrays["v_template"] + trans.numpy()[0, 0], atol=1e-5)
    np.testing.assert_allclose(smpl.rest_joints().numpy(), skeleton.REST_JOINTS, atol=1e-5)


def test_elbow_90_degrees_moves_wrist_as_by_hand(smpl):
    R = torch.eye(3).repeat(1, 1, 24, 1, 1)
    R[0, 0, LE] = rotation_about("y", math.pi / 2)
    trans = torch.tensor([[[0.1, 0.2, 0.3]]])
    joints = smpl(R, trans).joints[0, 0].numpy()
    e, w = skeleton.REST_JOINTS[LE], skeleton.REST_JOINTS[LW]
    d = w - e
    # +90 deg about y maps (x, y, z) -> (z, y, -x).
    expect = e + np.array([d[2], d[1], -d[0]]) + [0.1, 0.2, 0.3]
    np.testing.assert_allclose(joints[LW], expect, atol=1e-5)
    np.testing.assert_allclose(joints[LE], e + [0.1, 0.2, 0.3], atol=1e-5)
    # The hand, a child of the wrist, turns with it.
    h = skeleton.REST_JOINTS[skeleton.JOINT_INDEX["left_hand"]] - e
    np.testing.assert_allclose(joints[skeleton.JOINT_INDEX["left_hand"]],
                               e + np.array([h[2], h[1], -h[0]]) + [0.1, 0.2, 0.3], atol=1e-5)


def test_vertices_follow_lbs_by_hand(smpl, model_arrays):
    """One rigid and one blended vertex of the left wrist, with pose blend shapes."""
    R = torch.eye(3).repeat(1, 1, 24, 1, 1)
    R[0, 0, LE] = rotation_about("y", math.pi / 2)
    verts = smpl(R).vertices[0, 0].numpy().astype(np.float64)
    # Pose blend shapes: offset = posedirs (V*3, 207) @ (R_j - I for j = 1..23).flatten().
    feat = (R[0, 0, 1:].double().numpy() - np.eye(3)).reshape(-1)
    v_posed = model_arrays["v_template"] + (model_arrays["posedirs"] @ feat)
    J = skeleton.REST_JOINTS.astype(np.float64)
    Ry = rotation_about("y", math.pi / 2).double().numpy()
    # Joints downstream of the elbow turn by Ry about the elbow; the elbow's parent does not.
    def moved(j, v):
        return J[LE] + Ry @ (v - J[LE]) if j in (LE, LW) else v
    k_rigid = LW * PER_JOINT
    np.testing.assert_allclose(verts[k_rigid], moved(LW, v_posed[k_rigid]), atol=1e-5)
    k_blend = (LW + 1) * PER_JOINT - 1  # 60% wrist, 40% elbow: both turned
    np.testing.assert_allclose(verts[k_blend], moved(LW, v_posed[k_blend]), atol=1e-5)
    k_elbow_blend = (LE + 1) * PER_JOINT - 1  # 60% elbow (turned), 40% shoulder (still)
    expect = 0.6 * moved(LE, v_posed[k_elbow_blend]) + 0.4 * v_posed[k_elbow_blend]
    np.testing.assert_allclose(verts[k_elbow_blend], expect, atol=1e-5)


def test_smpl_joints_match_our_fk(smpl):
    """Same rest joints -> SMPL and the skeleton agree for any pose: same world semantics."""
    R = random_rotmats((3, 4), seed=5)
    R[..., 0, :, :] = torch.as_tensor(skeleton.STAND) @ R[..., 0, :, :]
    trans = torch.randn(3, 4, 3, generator=torch.Generator().manual_seed(2))
    smpl_j = smpl(R, trans).joints
    fk_j = SkeletonBody()(R, trans).joints
    torch.testing.assert_close(smpl_j, fk_j, atol=2e-5, rtol=0)


def test_smpl_gradients_flow(smpl):
    aa = (torch.randn(1, 3, 24, 3, generator=torch.Generator().manual_seed(3)) * 0.5)
    aa.requires_grad_(True)
    trans = torch.zeros(1, 3, 3, requires_grad=True)
    out = smpl(axis_angle_to_matrix(aa), trans)
    (out.vertices.square().sum() + out.joints[..., LW, :].sum()).backward()
    assert torch.isfinite(aa.grad).all() and aa.grad.abs().sum() > 0
    assert torch.isfinite(trans.grad).all() and trans.grad.abs().sum() > 0
    # The wrist position depends on the elbow rotation but not on the other wrist's.
    assert aa.grad[0, 0, skeleton.JOINT_INDEX["right_wrist"]].abs().sum() > 0  # via vertices
    joints_only = smpl(axis_angle_to_matrix(aa), trans).joints[..., LW, :].sum()
    g, = torch.autograd.grad(joints_only, aa)
    assert g[0, :, LE].abs().sum() > 0
    assert g[0, :, skeleton.JOINT_INDEX["right_elbow"]].abs().sum() == 0


def test_smpl_gradcheck_double(smpl_dir):
    body = SmplBody(smpl_dir).double()
    aa = torch.randn(1, 1, 24, 3, dtype=torch.float64,
                     generator=torch.Generator().manual_seed(4)) * 0.4
    aa.requires_grad_(True)

    def f(a):
        out = body(axis_angle_to_matrix(a), None)
        return out.vertices[..., :40, :], out.joints
    assert torch.autograd.gradcheck(f, (aa,), eps=1e-6, atol=1e-5)


def test_pkl_and_sparse_regressor_read_the_same(tmp_path, model_arrays, smpl):
    import scipy.sparse

    (tmp_path / "a" / "smpl").mkdir(parents=True)
    with open(tmp_path / "a" / "smpl" / "SMPL_NEUTRAL.pkl", "wb") as fh:
        pickle.dump(dict(model_arrays), fh)
    (tmp_path / "b").mkdir()
    sparse = dict(model_arrays, J_regressor=scipy.sparse.csc_matrix(model_arrays["J_regressor"]))
    np.savez(tmp_path / "b" / "SMPL_NEUTRAL.npz", **sparse)  # stored as a pickled object
    R = random_rotmats((1, 2), seed=9)
    ref = smpl(R)
    for path in (tmp_path / "a", tmp_path / "b" / "SMPL_NEUTRAL.npz"):
        out = SmplBody(path)(R)
        torch.testing.assert_close(out.vertices, ref.vertices)
        torch.testing.assert_close(out.joints, ref.joints)


FAKE_CHUMPY = '''
import copy
class Ch(object):
    """Pickles like chumpy.ch.Ch: default reduce, state = __dict__ minus weakref caches."""
    def __init__(self, x):
        self.x = x
        self.dterms = ["x"]
        self._parents = {}
        self._cache = {}
    def __getstate__(self):
        d = copy.copy(self.__dict__)
        del d["_parents"], d["_cache"]
        return d
'''


def test_pkl_with_chumpy_objects_loads_without_chumpy(tmp_path, model_arrays, smpl):
    """Official .pkl files hold chumpy.ch.Ch objects; we read them with chumpy absent."""
    import subprocess
    import sys

    fake = tmp_path / "fake"
    (fake / "chumpy").mkdir(parents=True)
    (fake / "chumpy" / "__init__.py").write_text("")
    (fake / "chumpy" / "ch.py").write_text(FAKE_CHUMPY)
    arrays = tmp_path / "arrays.npz"
    np.savez(arrays, **model_arrays)
    out = tmp_path / "smpl" / "SMPL_NEUTRAL.pkl"
    out.parent.mkdir()
    code = (f"import sys, pickle, numpy as np; sys.path.insert(0, {str(fake)!r})\n"
            "from chumpy.ch import Ch\n"
            f"d = dict(np.load({str(arrays)!r}))\n"
            "d['shapedirs'] = Ch(d['shapedirs']); d['v_template'] = Ch(d['v_template'])\n"
            f"pickle.dump(d, open({str(out)!r}, 'wb'), protocol=2)\n")
    subprocess.run([sys.executable, "-c", code], check=True)
    with pytest.raises(ModuleNotFoundError):
        with open(out, "rb") as fh:
            pickle.load(fh)  # plain pickle needs chumpy: the trap we avoid
    b = SmplBody(tmp_path)
    R = random_rotmats((1, 2), seed=12)
    torch.testing.assert_close(b(R).vertices, smpl(R).vertices)


def test_npz_preferred_over_pkl(tmp_path, model_arrays):
    (tmp_path / "smpl").mkdir()
    np.savez(tmp_path / "smpl" / "SMPL_NEUTRAL.npz", **model_arrays)
    (tmp_path / "smpl" / "SMPL_NEUTRAL.pkl").write_bytes(b"not a pickle")
    assert body_mod.find_smpl_file(tmp_path).name == "SMPL_NEUTRAL.npz"


def test_no_stdout_noise(smpl_dir, capsys):
    SmplBody(smpl_dir)  # smplx prints a notice for 10-beta models; we swallow it
    assert capsys.readouterr().out == ""


# ------------------------------------------------------------------ skeleton body

def test_skeleton_body_matches_fk():
    R = random_rotmats((2, 3), seed=11)
    trans = torch.randn(2, 3, 3)
    out = SkeletonBody()(R, trans)
    assert out.vertices is None and out.joints.shape == (2, 3, 24, 3)
    torch.testing.assert_close(out.joints, skeleton.forward_kinematics(R, trans))


def test_bad_shapes_rejected():
    with pytest.raises(ValueError):
        SkeletonBody()(torch.eye(3).expand(2, 23, 3, 3))
    with pytest.raises(ValueError):
        SkeletonBody()(torch.eye(3).expand(2, 24, 3, 3), torch.zeros(3, 3))


# ------------------------------------------------------------------ load_body

def test_load_body_without_anything_is_silent_skeleton(monkeypatch, caplog):
    monkeypatch.delenv("MCLIP_SMPL_DIR", raising=False)
    with caplog.at_level(logging.WARNING):
        b = load_body()
    assert isinstance(b, SkeletonBody)
    assert caplog.records == []


def test_load_body_missing_files_warns_one_line_and_falls_back(tmp_path, monkeypatch, caplog):
    monkeypatch.delenv("MCLIP_SMPL_DIR", raising=False)
    with caplog.at_level(logging.WARNING):
        b = load_body(tmp_path)
    assert isinstance(b, SkeletonBody)
    assert len(caplog.records) == 1
    msg = caplog.records[0].getMessage()
    assert "\n" not in msg
    assert str(tmp_path) in msg and "https://smpl.is.tue.mpg.de" in msg
    assert "SMPL_NEUTRAL.npz" in msg and "licence" in msg


def test_load_body_env_and_argument(smpl_dir, tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("MCLIP_SMPL_DIR", str(smpl_dir))
    assert isinstance(load_body(), SmplBody)
    # An explicit argument wins over the environment.
    with caplog.at_level(logging.WARNING):
        assert isinstance(load_body(tmp_path), SkeletonBody)
    assert len(caplog.records) == 1


def test_unreadable_model_file_is_a_user_error(tmp_path, model_arrays):
    (tmp_path / "smpl").mkdir()
    (tmp_path / "smpl" / "SMPL_NEUTRAL.npz").write_bytes(b"garbage")
    with pytest.raises(MclipError, match="SMPL_NEUTRAL.npz"):
        load_body(tmp_path)
    bad = {k: v for k, v in model_arrays.items() if k != "weights"}
    np.savez(tmp_path / "smpl" / "SMPL_NEUTRAL.npz", **bad)
    with pytest.raises(MclipError, match="missing weights"):
        load_body(tmp_path)
