"""The latent sampler (mclip.prior): what it learns, its training stage, checkpoints, and
text2motion's takes through the engine and the CLI."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from mclip.checkpoint import export_for_release, load_prior, read_checkpoint
from mclip.cli import main as cli_main
from mclip.errors import MclipError
from mclip.prior import LatentPrior, PriorConfig
from mclip.train import TrainConfig, train
from test_train import HashBackbone, cfg_for, data_dir, tiny_model  # noqa: F401  (fixtures)
from tiny_model import TEXTS

torch.set_num_threads(1)


@pytest.mark.parametrize("time_power", [1.0, 3.0])
def test_sampler_learns_a_two_mode_conditional_that_a_mean_cannot(time_power):
    # Text A's motions lie at u1 or u2 (half each), text B's at u3. A model of the mean
    # would return normalize(u1 + u2) for A (cosine 0.71 with each); the sampler must
    # land on one mode or the other, both often, and B on u3.
    torch.manual_seed(0)
    D = 8
    u = torch.linalg.qr(torch.randn(D, D))[0].T           # orthonormal rows
    cA, cB = u[5], u[6]
    prior = LatentPrior(PriorConfig(latent_dim=D, width=64, depth=2, cond_dropout=0.1, time_power=time_power))
    opt = torch.optim.AdamW(prior.parameters(), lr=2e-3)
    for _ in range(700):
        a = torch.rand(128) < 0.5                            # text A or B
        mode = torch.where(torch.rand(128) < 0.5, 0, 1)
        z = torch.where(a[:, None], u[mode], u[2].expand(128, D)) + 0.03 * torch.randn(128, D)
        c = torch.where(a[:, None], cA.expand(128, D), cB.expand(128, D))
        loss = prior.loss(z, c)
        opt.zero_grad()
        loss.backward()
        opt.step()
    g = torch.Generator().manual_seed(1)
    za = prior.sample(cA.expand(200, D), torch.randn(200, D, generator=g), steps=32, guidance=1.0)
    zb = prior.sample(cB.expand(200, D), torch.randn(200, D, generator=g), steps=32, guidance=1.0)
    cos_a = za @ u[:2].T                                     # (200, 2)
    assert (cos_a.max(dim=1).values > 0.9).float().mean() > 0.9
    share = (cos_a[:, 0] > cos_a[:, 1]).float().mean()
    assert 0.25 < share < 0.75
    assert ((zb @ u[2]) > 0.9).float().mean() > 0.9


def _fit(prior, z, c, steps=500):
    opt = torch.optim.AdamW(prior.parameters(), lr=2e-3)
    for _ in range(steps):
        i = torch.randint(0, z.shape[0], (128,))
        loss = prior.loss(z[i] + 0.02 * torch.randn(128, z.shape[1]), c[i])
        opt.zero_grad()
        loss.backward()
        opt.step()
    return prior.eval()


def test_condition_noise_pools_the_motions_of_nearby_texts():
    # Two nearby texts (cosine 0.9), one motion latent each, as in a corpus whose texts
    # are all distinct. Without condition noise text A's takes are all A's latent; with
    # it they spread over both texts' motions. A far text C stays its own.
    torch.manual_seed(0)
    D = 8
    u = torch.linalg.qr(torch.randn(D, D))[0].T
    cA, cB, cC = u[5], 0.9 * u[5] + (1 - 0.81) ** 0.5 * u[6], u[7]
    z = torch.stack([u[0], u[1], u[2]])
    c = torch.stack([cA, cB, cC])
    g = torch.Generator().manual_seed(1)
    share = {}
    for noise in (0.0, 0.4):
        torch.manual_seed(0)
        prior = _fit(LatentPrior(PriorConfig(latent_dim=D, width=64, depth=2, cond_noise=noise)), z, c)
        za = prior.sample(cA.expand(200, D), torch.randn(200, D, generator=g), steps=32, guidance=1.0)
        zc = prior.sample(cC.expand(200, D), torch.randn(200, D, generator=g), steps=32, guidance=1.0)
        share[noise] = float(((za @ u[1]) > (za @ u[0])).float().mean())     # A's takes on B's motion
        assert ((zc @ u[2]) > 0.9).float().mean() > 0.9
    assert share[0.0] < 0.1 and 0.2 < share[0.4] < 0.8


def test_sampling_is_a_function_of_its_noise():
    prior = LatentPrior(PriorConfig(latent_dim=16, width=32, depth=1)).eval()
    c = torch.nn.functional.normalize(torch.randn(4, 16), dim=-1)
    n1, n2 = torch.randn(4, 16), torch.randn(4, 16)
    a, b = prior.sample(c, n1), prior.sample(c, n1)
    torch.testing.assert_close(a, b)
    assert (prior.sample(c, n2) - a).abs().max() > 1e-3
    torch.testing.assert_close(a.norm(dim=-1), torch.ones(4))
    # one row alone gives what it gives inside the batch
    torch.testing.assert_close(prior.sample(c[2:3], n1[2:3]), a[2:3], atol=1e-5, rtol=0)


def test_whitening_makes_the_latents_unit_covariance_and_inverts():
    torch.manual_seed(0)
    prior = LatentPrior(PriorConfig(latent_dim=6, width=16, depth=1, whiten=True))
    z = torch.randn(2000, 6) * torch.tensor([3.0, 1.0, 0.5, 0.2, 0.1, 0.05]) + torch.tensor([4.0, 0, 0, 0, 0, 0])
    prior.set_latent_stats(z)
    x = prior.to_model_space(z).double().numpy()
    np.testing.assert_allclose(np.cov(x.T), np.eye(6), atol=1e-4)      # numpy's covariance
    np.testing.assert_allclose(x.mean(0), np.zeros(6), atol=1e-5)
    unit = torch.nn.functional.normalize(z, dim=-1)
    torch.testing.assert_close(prior.from_model_space(prior.to_model_space(z)), unit, atol=1e-5, rtol=0)


def test_prior_config_is_checked():
    with pytest.raises(MclipError, match="cond_dropout"):
        PriorConfig(cond_dropout=1.0)
    with pytest.raises(MclipError, match="width must be int"):
        PriorConfig.from_dict({"width": "big"})
    with pytest.raises(MclipError, match="unknown keys"):
        PriorConfig.from_dict({"widht": 3})


# ---------------------------------------------------------------- the training stage


@pytest.fixture(scope="module")
def autoencoder(data_dir, tiny_model, tmp_path_factory):  # noqa: F811
    out = tmp_path_factory.mktemp("ae")
    train(cfg_for(data_dir, tiny_model, out, steps=6), backbone=HashBackbone())
    return out / "last.pt"


@pytest.fixture(scope="module")
def tiny_prior(tmp_path_factory):
    p = tmp_path_factory.mktemp("pcfg") / "prior.json"
    p.write_text(json.dumps({"width": 32, "depth": 1, "sample_steps": 4}))
    return str(p)


def prior_cfg(data_dir, tiny_model, autoencoder, tiny_prior, out, **kw):  # noqa: F811
    return cfg_for(data_dir, tiny_model, out, stage="prior", init=str(autoencoder), prior=tiny_prior,
                   lr=3e-3, **kw)


def test_prior_stage_trains_the_sampler_and_keeps_the_autoencoder(data_dir, tiny_model, autoencoder,  # noqa: F811
                                                                  tiny_prior, tmp_path):
    res = train(prior_cfg(data_dir, tiny_model, autoencoder, tiny_prior, tmp_path / "p", steps=40),
                backbone=HashBackbone())
    assert res.step == 40 and not res.interrupted
    state = read_checkpoint(res.checkpoint)
    assert state["train_config"]["stage"] == "prior"
    assert state["prior_config"]["latent_dim"] == 16 and state["prior_config"]["width"] == 32
    ae = read_checkpoint(autoencoder)
    for k, v in ae["model"].items():                       # frozen: the same weights
        torch.testing.assert_close(state["model"][k], v)
    log = [json.loads(line) for line in (tmp_path / "p" / "log.jsonl").read_text().splitlines()]
    losses = [r["prior"] for r in log if "prior" in r]
    assert np.mean(losses[-5:]) < np.mean(losses[:5])       # it learns
    assert any("val_prior" in r for r in log)
    prior = load_prior(state, res.checkpoint)
    assert isinstance(prior, LatentPrior) and not prior.training


def test_prior_stage_resumes_to_the_same_weights(data_dir, tiny_model, autoencoder, tiny_prior, tmp_path):  # noqa: F811
    straight = train(prior_cfg(data_dir, tiny_model, autoencoder, tiny_prior, tmp_path / "a", steps=8),
                     backbone=HashBackbone())
    cfg = prior_cfg(data_dir, tiny_model, autoencoder, tiny_prior, tmp_path / "b", steps=8)
    first = train(cfg, backbone=HashBackbone(), max_steps_this_call=4)
    assert first.step == 4
    # --resume finds the stage in the run itself
    second = train(TrainConfig(out=str(tmp_path / "b"), steps=8), resume=True, backbone=HashBackbone())
    assert second.step == 8
    a, b = read_checkpoint(straight.checkpoint)["prior"], read_checkpoint(second.checkpoint)["prior"]
    for k in a:
        torch.testing.assert_close(a[k], b[k])


def test_prior_stage_errors(data_dir, tiny_model, autoencoder, tiny_prior, tmp_path):  # noqa: F811
    with pytest.raises(MclipError, match="give --init"):
        train(cfg_for(data_dir, tiny_model, tmp_path / "x", stage="prior"), backbone=HashBackbone())
    motion_only = tmp_path / "m"
    train(cfg_for(data_dir, tiny_model, motion_only, steps=2, text_loss=False), backbone=HashBackbone())
    with pytest.raises(MclipError, match="no text alignment"):
        train(prior_cfg(data_dir, tiny_model, motion_only / "last.pt", tiny_prior, tmp_path / "y", steps=2),
              backbone=HashBackbone())
    with pytest.raises(MclipError, match="--stage sideways"):
        train(cfg_for(data_dir, tiny_model, tmp_path / "z", stage="sideways"), backbone=HashBackbone())


def test_release_export_keeps_the_sampler(data_dir, tiny_model, autoencoder, tiny_prior, tmp_path):  # noqa: F811
    res = train(prior_cfg(data_dir, tiny_model, autoencoder, tiny_prior, tmp_path / "p", steps=4),
                backbone=HashBackbone())
    out = export_for_release(res.checkpoint, tmp_path / "release.pt")
    rel = read_checkpoint(out)
    assert all(v.dtype == torch.float16 for v in rel["prior"].values() if v.is_floating_point())
    full, half = load_prior(read_checkpoint(res.checkpoint), "full"), load_prior(rel, "half")
    c = torch.nn.functional.normalize(torch.randn(3, 16), dim=-1)
    noise = torch.randn(3, 16)
    assert (full.sample(c, noise) * half.sample(c, noise)).sum(-1).min() > 0.99


def test_a_malformed_sampler_is_a_one_line_error(data_dir, tiny_model, autoencoder, tiny_prior, tmp_path):  # noqa: F811
    res = train(prior_cfg(data_dir, tiny_model, autoencoder, tiny_prior, tmp_path / "p", steps=2),
                backbone=HashBackbone())
    state = read_checkpoint(res.checkpoint)
    state["prior"].pop("out.weight")
    with pytest.raises(MclipError, match=r"sampler weights do not match its config \(missing \['out.weight'\]"):
        load_prior(state, "broken.pt")
    state["prior_config"] = {"width": -3}
    with pytest.raises(MclipError, match="broken.pt: prior config: width must be at least 1"):
        load_prior(state, "broken.pt")


# ---------------------------------------------------------------- takes, engine and CLI


def test_a_seed_is_a_take_and_takes_keep_the_prompts_action(tiny_prior_engine):
    # The tiny model's takes differ little (its variants share a latent): here the
    # plumbing; that takes differ as motions is tested on the shipped model.
    eng = tiny_prior_engine
    labels = list(TEXTS.values())
    for text in (TEXTS["sit"], TEXTS["wave"], TEXTS["jump"]):
        z = eng.text_latents([text], seed=1, takes=3)
        assert (z[0] - z[1]).abs().max() > 1e-5 and (z[1] - z[2]).abs().max() > 1e-5
        takes = eng.text2motion([text], seed=1, takes=3)
        again = eng.text2motion([text], seed=1)[0]
        np.testing.assert_allclose(again.poses, takes[0].poses, atol=1e-5)   # a seed is a take
        for m in takes:
            assert eng.classify(m, labels, top_k=1).top[0].label == text
    # several prompts' takes are each prompt's own, alone or in a batch
    both = eng.text_latents([TEXTS["walk"], TEXTS["jump"]], seed=5, takes=3)
    assert both.shape == (6, 384)
    torch.testing.assert_close(both[3:], eng.text_latents([TEXTS["jump"]], seed=5, takes=3),
                               atol=1e-5, rtol=0)
    # no seed: a fresh draw each call
    assert (eng.text_latents([TEXTS["walk"]]) - eng.text_latents([TEXTS["walk"]])).abs().max() > 1e-5


def test_direct_sampler_is_the_papers_path(tiny_prior_engine, tiny_engine):
    assert tiny_prior_engine.resolve_sampler("auto") == "prior"
    assert tiny_engine.resolve_sampler("auto") == "direct"
    d1 = tiny_prior_engine.text2motion([TEXTS["sit"]], sampler="direct", seed=1)[0]
    d2 = tiny_prior_engine.text2motion([TEXTS["sit"]], sampler="direct", seed=2)[0]
    same = tiny_engine.text2motion([TEXTS["sit"]])[0]        # the same auto-encoder, no sampler
    np.testing.assert_allclose(d1.poses, d2.poses)
    np.testing.assert_allclose(d1.poses, same.poses, atol=1e-5)
    with pytest.raises(MclipError, match="has no latent sampler"):
        tiny_engine.text2motion([TEXTS["sit"]], sampler="prior")
    with pytest.raises(MclipError, match="--variation"):
        tiny_prior_engine.text2motion([TEXTS["sit"]], variation=0.3)
    with pytest.raises(MclipError, match="--sampler sideways"):
        tiny_prior_engine.text2motion([TEXTS["sit"]], sampler="sideways")


def test_guidance_and_temperature_change_the_takes(tiny_prior_engine):
    eng = tiny_prior_engine
    base = eng.text_latents([TEXTS["wave"]], seed=3, takes=4)
    cold = eng.text_latents([TEXTS["wave"]], seed=3, takes=4, temperature=0.0)
    # temperature 0: every take starts from the same point, so all takes are one
    assert (cold - cold[:1]).abs().max() < 1e-6
    assert (base - base[:1]).abs().max() > 1e-5
    assert (eng.text_latents([TEXTS["wave"]], seed=3, takes=4, guidance=4.0) - base).abs().max() > 1e-5


def test_cli_takes_grid_and_seed(tiny_prior_checkpoint, tmp_path, capsys):
    out = tmp_path / "takes.npz"
    cli_main(["text2motion", TEXTS["walk"], "-n", "3", "--seed", "7", "-o", str(out),
              "-w", str(tiny_prior_checkpoint), "--json"])
    rep = json.loads(capsys.readouterr().out)
    assert rep["sampler"] == "prior" and rep["seed"] == 7 and rep["num_samples"] == 3
    import hashlib

    import mclip

    assert rep["mclip_version"] == mclip.__version__
    assert rep["checkpoint"]["sha256"] == hashlib.sha256(tiny_prior_checkpoint.read_bytes()).hexdigest()
    files = sorted(tmp_path.glob("takes-*.npz"))
    assert len(files) == 3
    # without --seed the seed used is reported, and gives the same take again
    cli_main(["text2motion", TEXTS["jump"], "-o", str(tmp_path / "a.npz"), "-w", str(tiny_prior_checkpoint)])
    said = capsys.readouterr().out
    seed = int(said.split("seed ")[1].split()[0])
    cli_main(["text2motion", TEXTS["jump"], "-o", str(tmp_path / "b.npz"), "--seed", str(seed),
              "-w", str(tiny_prior_checkpoint)])
    np.testing.assert_allclose(np.load(tmp_path / "a.npz")["poses"], np.load(tmp_path / "b.npz")["poses"])
    # a folder gets one file set per take, named by take
    cli_main(["text2motion", TEXTS["sit"], TEXTS["wave"], "-n", "2", "--seed", "1", "-o", str(tmp_path / "d/"),
              "--format", "npz", "-w", str(tiny_prior_checkpoint), "--json"])
    index = json.loads((tmp_path / "d" / "index.json").read_text())
    assert [i["take"] for i in index["items"]] == [1, 2, 1, 2]
    assert (tmp_path / "d" / "002-wave-the-right-hand-take2.npz").exists()


@pytest.mark.parametrize("args, message", [
    (["-n", "0"], "'--num-samples'"),
    (["-n", "101"], "'--num-samples'"),
    (["--guidance", "nan"], "'--guidance'"),
    (["--temperature", "-1"], "'--temperature'"),
    (["--sample-steps", "0"], "'--sample-steps'"),
    (["--variation", "inf"], "'--variation'"),
    (["--variation", "-1"], "'--variation'"),
])
def test_cli_sampler_options_are_checked_before_the_model_loads(tmp_path, capsys, args, message):
    with pytest.raises(SystemExit) as e:
        cli_main(["text2motion", "walk", *args, "-o", str(tmp_path / "x.npz"), "-w", str(tmp_path / "none.pt")])
    assert e.value.code == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1      # not the missing weights: checked first
    assert list(tmp_path.iterdir()) == []


def test_cli_sampler_errors_are_one_line(tiny_checkpoint, tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        cli_main(["text2motion", "walk", "--sampler", "prior", "-o", str(tmp_path / "x.npz"),
                  "-w", str(tiny_checkpoint)])
    assert e.value.code == 2
    err = capsys.readouterr().err.strip()
    assert "has no latent sampler" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "x.npz").exists()
