"""mclip.rotations against scipy.spatial.transform.Rotation (independent truth).

scipy conventions used here: ``as_matrix`` acts on column vectors (as ours),
``as_quat(scalar_first=True)`` is wxyz (ours), ``as_rotvec`` is axis * angle in radians.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation, Slerp

from mclip import rotations as rot

torch.set_num_threads(1)

N = 1000
AXES = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 1], [-1, 2, 0.5],
                 [0.3, -0.2, -0.9]], dtype=np.float64)
AXES /= np.linalg.norm(AXES, axis=1, keepdims=True)


@pytest.fixture(scope="module")
def R_sp():
    return Rotation.random(N, random_state=1234)


def t64(x):
    return torch.as_tensor(np.asarray(x), dtype=torch.float64)


def close(actual, desired, atol=0.0, rtol=0.0):
    """assert_allclose with rtol = 0 by default, so atol means what it says."""
    np.testing.assert_allclose(actual, desired, atol=atol, rtol=rtol)


def same_quat(a, b, atol):
    """Quaternions equal up to the q ~ -q sign."""
    a, b = np.asarray(a), np.asarray(b)
    d = np.minimum(np.abs(a - b).max(-1), np.abs(a + b).max(-1))
    assert d.max() < atol, d.max()


# ------------------------------------------------------------------ conversions

@pytest.mark.parametrize("dtype,atol", [(torch.float64, 1e-10), (torch.float32, 2e-6)])
def test_axis_angle_to_matrix(R_sp, dtype, atol):
    out = rot.axis_angle_to_matrix(torch.as_tensor(R_sp.as_rotvec(), dtype=dtype))
    close(out.double().numpy(), R_sp.as_matrix(), atol=atol)


def test_matrix_to_axis_angle(R_sp):
    aa = rot.matrix_to_axis_angle(t64(R_sp.as_matrix())).numpy()
    close(aa, R_sp.as_rotvec(), atol=1e-9)
    assert np.linalg.norm(aa, axis=-1).max() <= math.pi + 1e-12


def test_matrix_to_axis_angle_float32(R_sp):
    aa = rot.matrix_to_axis_angle(torch.as_tensor(R_sp.as_matrix(), dtype=torch.float32))
    # Compare as rotations: for angles close to pi the axis-angle itself can flip sign.
    back = Rotation.from_rotvec(aa.double().numpy()).as_matrix()
    close(back, R_sp.as_matrix(), atol=2e-6)


def test_quaternion_conversions(R_sp):
    q_sp = R_sp.as_quat(scalar_first=True)
    q = rot.axis_angle_to_quaternion(t64(R_sp.as_rotvec())).numpy()
    same_quat(q, q_sp, 1e-12)
    q2 = rot.matrix_to_quaternion(t64(R_sp.as_matrix())).numpy()
    same_quat(q2, q_sp, 1e-12)
    assert (q2[:, 0] >= 0).all()
    close(np.linalg.norm(q2, axis=-1), 1.0, atol=1e-12)
    close(rot.quaternion_to_matrix(t64(q_sp)).numpy(), R_sp.as_matrix(),
                               atol=1e-12)
    close(rot.quaternion_to_axis_angle(t64(q_sp)).numpy(),
                               R_sp.as_rotvec(), atol=1e-10)
    # A quaternion with w < 0 is the same rotation: the angle comes back in [0, pi].
    close(rot.quaternion_to_axis_angle(t64(-q_sp)).numpy(),
                               R_sp.as_rotvec(), atol=1e-10)


def test_quaternion_to_matrix_normalises(R_sp):
    q = R_sp.as_quat(scalar_first=True)[:10] * 3.7
    close(rot.quaternion_to_matrix(t64(q)).numpy(), R_sp.as_matrix()[:10],
                               atol=1e-12)


def test_quaternion_multiply_composes_like_scipy(R_sp):
    a, b = R_sp[:500], R_sp[500:]
    q = rot.quaternion_multiply(t64(a.as_quat(scalar_first=True)),
                                t64(b.as_quat(scalar_first=True))).numpy()
    same_quat(q, (a * b).as_quat(scalar_first=True), 1e-12)  # b first, then a


def test_rot6d_round_trip(R_sp):
    M = t64(R_sp.as_matrix())
    d6 = rot.matrix_to_rot6d(M)
    assert d6.shape == (N, 6)
    close(d6[:, :3].numpy(), R_sp.as_matrix()[:, :, 0])
    close(d6[:, 3:].numpy(), R_sp.as_matrix()[:, :, 1])
    close(rot.rot6d_to_matrix(d6).numpy(), R_sp.as_matrix(), atol=1e-12)
    close(rot.rot6d_to_axis_angle(rot.axis_angle_to_rot6d(
        t64(R_sp.as_rotvec()))).numpy(), R_sp.as_rotvec(), atol=1e-9)


def test_rot6d_of_any_vectors_is_a_rotation():
    g = torch.Generator().manual_seed(0)
    d6 = torch.randn(N, 6, dtype=torch.float64, generator=g) * 3
    M = rot.rot6d_to_matrix(d6)
    close((M.transpose(-1, -2) @ M).numpy(),
                               np.broadcast_to(np.eye(3), (N, 3, 3)), atol=1e-12)
    close(torch.linalg.det(M).numpy(), 1.0, atol=1e-12)
    # Gram-Schmidt: column 0 is the first half normalised, column 1 lies in span(a1, a2).
    a1 = d6[:, :3] / d6[:, :3].norm(dim=-1, keepdim=True)
    close(M[..., 0].numpy(), a1.numpy(), atol=1e-12)
    n = torch.cross(d6[:, :3], d6[:, 3:], dim=-1)
    close((M[..., 1] * n).sum(-1).numpy(), 0.0, atol=1e-9)
    assert ((M[..., 1] * d6[:, 3:]).sum(-1) > 0).all()


def test_rotation_about_and_geodesic_angle(R_sp):
    angles = np.linspace(-3.0, 3.0, 7)
    for axis in "xyz":
        M = rot.rotation_about(axis, t64(angles)).numpy()
        close(M, Rotation.from_euler(axis, angles[:, None]).as_matrix(), atol=1e-12)
    a, b = R_sp[:500], R_sp[500:]
    ang = rot.geodesic_angle(t64(a.as_matrix()), t64(b.as_matrix())).numpy()
    close(ang, (a.inv() * b).magnitude(), atol=1e-9)


# ------------------------------------------------------------------ near 0 and pi

@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_near_zero(dtype):
    rv = AXES * 1e-8
    M_sp = Rotation.from_rotvec(rv).as_matrix()
    M = rot.axis_angle_to_matrix(torch.as_tensor(rv, dtype=dtype))
    close(M.double().numpy(), M_sp, atol=1e-12 if dtype == torch.float64 else 1e-7)
    # Back to axis-angle: the tiny rotation is recovered, not rounded to zero or NaN.
    aa = rot.matrix_to_axis_angle(torch.as_tensor(M_sp, dtype=dtype)).double().numpy()
    close(aa, rv, rtol=1e-3 if dtype == torch.float32 else 1e-7, atol=1e-15)
    q = rot.axis_angle_to_quaternion(torch.as_tensor(rv, dtype=dtype)).double().numpy()
    same_quat(q, Rotation.from_rotvec(rv).as_quat(scalar_first=True), 1e-7)
    zero = torch.zeros(3, dtype=dtype)
    assert torch.equal(rot.axis_angle_to_matrix(zero), torch.eye(3, dtype=dtype))
    assert torch.equal(rot.matrix_to_axis_angle(torch.eye(3, dtype=dtype)), zero)


def test_small_angle_series_branches_are_accurate():
    """Angles just below and above the series/closed-form switch (|xyz| = 1e-4) in float64."""
    ang = np.linspace(1e-6, 4e-4, 101)
    rv = ang[:, None] * AXES[4]
    q_sp = Rotation.from_rotvec(rv).as_quat(scalar_first=True)
    close(rot.quaternion_to_axis_angle(t64(q_sp)).numpy(), rv, atol=1e-19, rtol=1e-13)
    same_quat(rot.axis_angle_to_quaternion(t64(rv)).numpy(), q_sp, 1e-16)


@pytest.mark.parametrize("eps", [1e-7, 0.0])
def test_near_and_at_pi(eps):
    rv = AXES * (math.pi - eps)
    M_sp = Rotation.from_rotvec(rv).as_matrix()
    M = rot.axis_angle_to_matrix(t64(rv)).numpy()
    close(M, M_sp, atol=1e-12)
    aa = rot.matrix_to_axis_angle(t64(M_sp)).numpy()
    assert np.isfinite(aa).all()
    close(np.linalg.norm(aa, axis=-1), math.pi - eps, atol=1e-7)
    # At pi, +axis and -axis are the same rotation: compare matrices and |axis . a|.
    close(Rotation.from_rotvec(aa).as_matrix(), M_sp, atol=1e-9)
    cos = np.abs((aa / np.linalg.norm(aa, axis=-1, keepdims=True) * AXES).sum(-1))
    close(cos, 1.0, atol=1e-9)
    q = rot.matrix_to_quaternion(t64(M_sp)).numpy()
    same_quat(q, Rotation.from_matrix(M_sp).as_quat(scalar_first=True), 1e-7)
    # float32 too (how the model runs): a valid rotation, no NaN.
    aa32 = rot.matrix_to_axis_angle(torch.as_tensor(M_sp, dtype=torch.float32)).double().numpy()
    close(Rotation.from_rotvec(aa32).as_matrix(), M_sp, atol=1e-5)


# ------------------------------------------------------------------ slerp

def test_slerp_matches_scipy(R_sp):
    a, b = R_sp[:200], R_sp[200:400]
    ts = np.array([0.0, 0.1, 0.5, 0.77, 1.0])
    qa, qb = t64(a.as_quat(scalar_first=True)), t64(b.as_quat(scalar_first=True))
    for t in ts:
        q = rot.quaternion_slerp(qa, qb, float(t)).numpy()
        expect = np.stack([Slerp([0, 1], Rotation.concatenate([a[i], b[i]]))(t).as_quat(
            scalar_first=True) for i in range(len(a))])
        same_quat(q, expect, 1e-9)
    # Per-element t broadcasting, and the short arc when the inputs have opposite signs.
    tt = torch.linspace(0, 1, 200, dtype=torch.float64)
    q = rot.quaternion_slerp(qa, -qb, tt).numpy()
    expect = np.stack([Slerp([0, 1], Rotation.concatenate([a[i], b[i]]))(tt[i].item()).as_quat(
        scalar_first=True) for i in range(len(a))])
    same_quat(q, expect, 1e-9)


def test_slerp_of_nearly_equal_rotations():
    q0 = t64(Rotation.from_rotvec([0.3, 0.2, 0.1]).as_quat(scalar_first=True))
    q1 = t64(Rotation.from_rotvec([0.3, 0.2, 0.1 + 1e-9]).as_quat(scalar_first=True))
    q = rot.quaternion_slerp(q0, q1, 0.5)
    assert torch.isfinite(q).all()
    close(q.numpy(), q0.numpy(), atol=1e-9)


# ------------------------------------------------------------------ gradients

def _grad(f, x):
    x = x.clone().requires_grad_(True)
    g, = torch.autograd.grad(f(x).sum(), x)
    return g


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_gradients_finite_at_zero(dtype):
    zero = torch.zeros(3, dtype=dtype)
    # dR/d(aa) at 0 is the cross-product generator: R ~ I + [aa]_x, so dR[2,1]/da_x = 1.
    g = _grad(lambda a: rot.axis_angle_to_matrix(a)[2, 1], zero)
    close(g.double().numpy(), [1, 0, 0], atol=1e-6)
    g = _grad(lambda a: rot.axis_angle_to_matrix(a)[0, 2], zero)
    close(g.double().numpy(), [0, 1, 0], atol=1e-6)
    for f, x in [
        (rot.axis_angle_to_quaternion, zero),
        (rot.matrix_to_axis_angle, torch.eye(3, dtype=dtype)),
        (rot.matrix_to_quaternion, torch.eye(3, dtype=dtype)),
        (rot.quaternion_to_axis_angle, torch.tensor([1.0, 0, 0, 0], dtype=dtype)),
        (rot.rot6d_to_axis_angle, rot.matrix_to_rot6d(torch.eye(3, dtype=dtype))),
        (lambda R: rot.geodesic_angle(R, torch.eye(3, dtype=dtype)), torch.eye(3, dtype=dtype)),
        # slerp between equal rotations: acos'(1) is infinite, the branch must hide it.
        (lambda q: rot.quaternion_slerp(q, q.detach(), 0.3),
         torch.tensor([0.9, 0.1, 0.3, 0.2], dtype=dtype)),
    ]:
        assert torch.isfinite(_grad(f, x)).all(), f


@pytest.mark.parametrize("eps", [1e-7, 1e-3])
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_gradients_finite_near_pi(eps, dtype):
    for axis in AXES:
        aa = torch.as_tensor(axis * (math.pi - eps), dtype=dtype)
        R = rot.axis_angle_to_matrix(aa).detach()
        q = rot.axis_angle_to_quaternion(aa).detach()
        for f, x in [
            (rot.axis_angle_to_matrix, aa),
            (rot.axis_angle_to_quaternion, aa),
            (rot.matrix_to_axis_angle, R),
            (rot.matrix_to_quaternion, R),
            (rot.quaternion_to_axis_angle, q),
            (rot.rot6d_to_axis_angle, rot.matrix_to_rot6d(R)),
        ]:
            assert torch.isfinite(_grad(f, x)).all(), (f, axis)


def test_gradcheck_generic_points():
    g = torch.Generator().manual_seed(3)
    aa = (torch.randn(5, 3, dtype=torch.float64, generator=g)).requires_grad_(True)
    assert torch.autograd.gradcheck(rot.axis_angle_to_matrix, (aa,))
    assert torch.autograd.gradcheck(lambda a: rot.matrix_to_axis_angle(
        rot.axis_angle_to_matrix(a)), (aa * 0.5,))
    d6 = torch.randn(5, 6, dtype=torch.float64, generator=g).requires_grad_(True)
    assert torch.autograd.gradcheck(rot.rot6d_to_matrix, (d6,))
    q0 = torch.randn(5, 4, dtype=torch.float64, generator=g).requires_grad_(True)
    q1 = torch.randn(5, 4, dtype=torch.float64, generator=g)
    assert torch.autograd.gradcheck(lambda a: rot.quaternion_slerp(a, q1, 0.3), (q0,))


# ------------------------------------------------------------------ batch shapes

def test_batch_shapes():
    B, T = 2, 5
    g = torch.Generator().manual_seed(0)
    aa = torch.randn(B, T, 24, 3, generator=g)
    R = rot.axis_angle_to_matrix(aa)
    assert R.shape == (B, T, 24, 3, 3)
    assert rot.matrix_to_axis_angle(R).shape == (B, T, 24, 3)
    assert rot.matrix_to_rot6d(R).shape == (B, T, 24, 6)
    assert rot.rot6d_to_matrix(rot.matrix_to_rot6d(R)).shape == (B, T, 24, 3, 3)
    assert rot.axis_angle_to_rot6d(aa).shape == (B, T, 24, 6)
    assert rot.rot6d_to_axis_angle(rot.axis_angle_to_rot6d(aa)).shape == (B, T, 24, 3)
    q = rot.matrix_to_quaternion(R)
    assert q.shape == (B, T, 24, 4)
    assert rot.quaternion_to_matrix(q).shape == (B, T, 24, 3, 3)
    assert rot.quaternion_to_axis_angle(q).shape == (B, T, 24, 3)
    assert rot.axis_angle_to_quaternion(aa).shape == (B, T, 24, 4)
    assert rot.quaternion_multiply(q, q).shape == (B, T, 24, 4)
    assert rot.quaternion_slerp(q, q.flip(1), 0.5).shape == (B, T, 24, 4)
    assert rot.quaternion_slerp(q, q.flip(1), torch.rand(B, T, 24)).shape == (B, T, 24, 4)
    assert rot.geodesic_angle(R, R.flip(1)).shape == (B, T, 24)
    assert rot.rotation_about("z", torch.zeros(B, T)).shape == (B, T, 3, 3)
    # Batched results equal element-wise results against scipy.
    flat = aa.reshape(-1, 3).double().numpy()
    close(R.reshape(-1, 3, 3).double().numpy(),
                               Rotation.from_rotvec(flat).as_matrix(), atol=3e-6)


def test_numpy_rotations_match_scipy_and_the_torch_ones():
    """mclip.rotations_np (corpus, BVH) and mclip.rotations (model, engine) are one maths."""
    from scipy.spatial.transform import Rotation

    from mclip import rotations, rotations_np

    rng = np.random.default_rng(5)
    aa = rng.normal(size=(200, 3)) * rng.uniform(0, 3.0, (200, 1))
    aa[:3] = [[0, 0, 0], [np.pi, 0, 0], [0, 1e-9, 0]]          # zero, half turn, tiny
    R = rotations_np.axis_angle_to_matrix(aa)
    np.testing.assert_allclose(R, Rotation.from_rotvec(aa).as_matrix(), atol=1e-9)
    np.testing.assert_allclose(R, rotations.axis_angle_to_matrix(torch.from_numpy(aa)).numpy(), atol=1e-6)
    back = rotations_np.axis_angle_to_matrix(rotations_np.matrix_to_axis_angle(R))
    np.testing.assert_allclose(back, R, atol=1e-9)
    for axis, v in (("X", [0, 1, 0]), ("Y", [0, 0, 1]), ("Z", [1, 0, 0])):   # a quarter turn
        turned = rotations_np.rotate(rotations_np.axis_rotation(axis, np.pi / 2), np.array(v, float))
        np.testing.assert_allclose(turned, Rotation.from_euler(axis.lower(), 90, degrees=True).apply(v),
                                   atol=1e-12)
