"""Backbones: MiniLM semantics, the tiny-CLIP open_clip path, and the on-disk text cache."""
import numpy as np
import pytest
import torch

from mclip.backbones import TextEmbeddingCache, load_backbone, register_tiny_clip
from mclip.errors import MclipError

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def minilm():
    return load_backbone("minilm")


@pytest.fixture(scope="module")
def tiny_clip():
    return load_backbone("clip", model_name=register_tiny_clip(), pretrained=None)


def _unit(e):
    return torch.allclose(e.norm(dim=-1), torch.ones(len(e)), atol=1e-5)


def test_minilm_semantics(minilm):
    assert minilm.name == "minilm" and minilm.dim == 384 and not minilm.has_image
    e = minilm.encode_text(["a person walks", "someone strolls", "sit down"])
    assert e.shape == (3, 384) and e.dtype == torch.float32 and _unit(e)
    assert float(e[0] @ e[1]) > float(e[0] @ e[2]) + 0.3
    # batching does not change results; one instance per process
    e2 = minilm.encode_text(["sit down"])
    torch.testing.assert_close(e2[0], e[2], atol=1e-5, rtol=0)
    assert load_backbone("minilm") is minilm
    assert minilm.encode_text([]).shape == (0, 384)
    with pytest.raises(MclipError, match="no image tower"):
        minilm.encode_image(np.zeros((1, 8, 8, 3), np.uint8))


def test_tiny_clip_towers(tiny_clip):
    assert tiny_clip.name == "clip" and tiny_clip.has_image and tiny_clip.dim == 32
    t = tiny_clip.encode_text(["a person walks", "a person walks", "jump"])
    assert t.shape == (3, 32) and _unit(t)
    torch.testing.assert_close(t[0], t[1])
    assert not torch.allclose(t[0], t[2])
    rng = np.random.default_rng(0)
    imgs = rng.integers(0, 256, size=(2, 50, 40, 3), dtype=np.uint8)  # non-square: resize + crop
    v = tiny_clip.encode_image(imgs)
    assert v.shape == (2, 32) and _unit(v)
    # preprocessing really ran: the model sees the normalised 32x32 crop
    from PIL import Image
    x = tiny_clip._preprocess(Image.fromarray(imgs[0]))
    assert x.shape == (3, 32, 32) and float(x.min()) < 0 < float(x.max())
    with torch.no_grad():
        direct = torch.nn.functional.normalize(tiny_clip._model.encode_image(x[None]), dim=-1)
    torch.testing.assert_close(v[0], direct[0], atol=1e-5, rtol=0)
    # the real BPE tokenizer: known CLIP ids for start/end of text
    tok = tiny_clip._tokenizer(["walk"])
    assert tok.shape == (1, 77) and int(tok[0, 0]) == 49406 and 49407 in tok[0].tolist()
    with pytest.raises(ValueError):
        tiny_clip.encode_image(np.zeros((1, 8, 8), np.float32))


def test_clip_from_local_weights_file(tmp_path, tiny_clip):
    path = tmp_path / "tiny.pt"
    torch.save(tiny_clip._model.state_dict(), path)
    again = load_backbone("clip", model_name=register_tiny_clip(), pretrained=str(path))
    assert again.identity.startswith("clip:mclip-tiny-clip:file-tiny.pt-")
    torch.testing.assert_close(again.encode_text(["wave"]), tiny_clip.encode_text(["wave"]))


def test_clip_errors(tmp_path, monkeypatch):
    with pytest.raises(MclipError, match="weights file not found"):
        load_backbone("clip", model_name=register_tiny_clip(), pretrained=str(tmp_path / "missing.pt"))
    monkeypatch.setenv("MCLIP_CLIP_WEIGHTS", str(tmp_path / "env.pt"))
    with pytest.raises(MclipError, match="env.pt: CLIP weights file not found"):
        load_backbone("clip", model_name=register_tiny_clip())
    bad = tmp_path / "garbage.pt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(MclipError, match="could not load"):
        load_backbone("clip", model_name=register_tiny_clip(), pretrained=str(bad))
    with pytest.raises(MclipError, match="unknown"):
        load_backbone("word2vec")


class _Counting:
    """Wraps a backbone, counting texts it is asked to encode."""

    def __init__(self, inner):
        self.inner, self.calls, self.texts = inner, 0, []
        self.name, self.dim, self.identity = inner.name, inner.dim, inner.identity

    def encode_text(self, texts):
        self.calls += 1
        self.texts += list(texts)
        return self.inner.encode_text(texts)


def test_text_cache(tmp_path, minilm):
    b = _Counting(minilm)
    cache = TextEmbeddingCache(tmp_path / "cache", b)
    e = cache.get(["walk", "run", "walk"])
    assert e.shape == (3, 384) and b.calls == 1 and b.texts == ["walk", "run"]
    torch.testing.assert_close(e[0], e[2])
    torch.testing.assert_close(e, minilm.encode_text(["walk", "run", "walk"]))
    e2 = cache.get(["run", "jump"])
    assert b.calls == 2 and b.texts[-1:] == ["jump"]
    torch.testing.assert_close(e2[0], e[1])
    cache.get(["jump", "walk"])
    assert b.calls == 2  # all hits
    # a fresh cache object reads the file: no recomputation
    b2 = _Counting(minilm)
    cache2 = TextEmbeddingCache(tmp_path / "cache", b2)
    assert len(cache2) == 3 and "jump" in cache2
    torch.testing.assert_close(cache2.get(["walk", "jump", "run"]), torch.cat([e[:1], e2[1:], e[1:2]]))
    assert b2.calls == 0
    # another backbone identity uses another file
    b3 = _Counting(minilm)
    b3.identity = "minilm:other-weights"
    cache3 = TextEmbeddingCache(tmp_path / "cache", b3)
    assert len(cache3) == 0
    cache3.get(["walk"])
    assert b3.calls == 1 and len(list((tmp_path / "cache").glob("*.npz"))) == 2
    assert not list((tmp_path / "cache").glob(".text-*"))  # no temp files left


def test_text_cache_autosave_off_and_flush(tmp_path, tiny_clip):
    cache = TextEmbeddingCache(tmp_path, tiny_clip, autosave=False)
    for i in range(0, 100, 10):  # grown in small calls, like a per-batch user
        cache.get([f"text {j}" for j in range(i, i + 10)])
    assert len(cache) == 100 and not cache.path.exists()
    cache.flush()
    again = TextEmbeddingCache(tmp_path, tiny_clip)
    assert len(again) == 100
    torch.testing.assert_close(again.get(["text 99", "text 7"]), tiny_clip.encode_text(["text 99", "text 7"]))


def test_text_cache_ignores_corrupt_file(tmp_path, tiny_clip):
    cache = TextEmbeddingCache(tmp_path, tiny_clip)
    cache.get(["a", "b"])
    cache.path.write_bytes(b"junk")
    fresh = TextEmbeddingCache(tmp_path, tiny_clip)
    assert len(fresh) == 0
    torch.testing.assert_close(fresh.get(["b"]), tiny_clip.encode_text(["b"]))
