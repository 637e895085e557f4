import os

# Tests never reach a model hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
# What mclip caches (text embeddings, search latents) goes to a folder of this run, not ~.
if "MCLIP_CACHE" not in os.environ:
    import tempfile

    os.environ["MCLIP_CACHE"] = tempfile.mkdtemp(prefix="mclip-test-cache-")


# ------------------------------------------------------------ engine / applications
import pytest  # noqa: E402


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory):
    """Path of a tiny MotionCLIP (1+1 layers, d_model 32, MiniLM backbone) trained for a
    few seconds on four procedural actions: see tests/tiny_model.py."""
    import torch

    from tiny_model import train_tiny_checkpoint

    torch.set_num_threads(1)
    return train_tiny_checkpoint(tmp_path_factory.mktemp("tiny-model") / "tiny.pt")


@pytest.fixture(scope="session")
def tiny_engine(tiny_checkpoint):
    """An Engine on the tiny checkpoint (CPU), shared by the engine tests."""
    from mclip import Engine

    return Engine(tiny_checkpoint, device="cpu")


@pytest.fixture(scope="session")
def tiny_prior_checkpoint(tiny_checkpoint, tmp_path_factory):
    """The tiny checkpoint with a latent sampler fitted to its training pairs."""
    from tiny_model import add_tiny_prior

    return add_tiny_prior(tiny_checkpoint, tmp_path_factory.mktemp("tiny-prior") / "tiny-prior.pt")


@pytest.fixture(scope="session")
def tiny_prior_engine(tiny_prior_checkpoint):
    from mclip import Engine

    return Engine(tiny_prior_checkpoint, device="cpu")


@pytest.fixture()
def run(capsys, tiny_checkpoint):
    """run(*args, weights=True) -> (exit code, stdout, stderr) of mclip.cli.main in-process;
    ``weights`` adds the tiny checkpoint and --device cpu."""
    from mclip.cli import main

    def _run(*args, weights=True):
        argv = [str(a) for a in args]
        if weights:
            argv += ["--weights", str(tiny_checkpoint), "--device", "cpu"]
        try:
            main(argv)
            code = 0
        except SystemExit as e:
            code = e.code
        out, err = capsys.readouterr()
        return code, out, err

    return _run
