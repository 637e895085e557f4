"""A lean all-MiniLM-L6-v2 sentence encoder: the BERT forward pass in plain torch.

It computes what ``sentence_transformers`` computes for this model (BERT encoder, mean
pooling over the attention mask, L2 normalisation) from the same files (``config.json``,
``model.safetensors``, ``tokenizer.json``, ``sentence_bert_config.json``), but needs only
``torch``, ``safetensors`` and ``tokenizers``. It exists for cold start: importing
``sentence_transformers`` pulls in most of ``transformers``, seconds per cold start and
far more than loading and running the model itself. Inference only (no dropout, no training code).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["MiniLM"]

# Checkpoint (Hugging Face BertModel) name fragment -> ours, applied in order: the two
# "attention.output" rules must run before the plain "output" ones. Our embedding tables
# are bare parameters, so "word_embeddings.weight" becomes "word_embeddings".
_RENAMES = (
    ("_embeddings.weight", "_embeddings"),
    ("embeddings.LayerNorm.", "embeddings.norm."),
    ("encoder.layer.", "layers."),
    ("attention.self.", "attn."),
    ("attention.output.dense.", "attn.out."),
    ("attention.output.LayerNorm.", "attn_norm."),
    ("intermediate.dense.", "ffn_in."),
    ("output.dense.", "ffn_out."),
    ("output.LayerNorm.", "ffn_norm."),
)
# In the checkpoint but not used for sentence embeddings.
_UNUSED = ("embeddings.position_ids", "pooler.")


class Embeddings(nn.Module):
    """(B, L) token ids -> (B, L, H): word + position + token-type (all 0), then LayerNorm."""

    def __init__(self, vocab: int, positions: int, types: int, hidden: int, eps: float):
        super().__init__()
        # bare tables, filled by from_pretrained: nn.Embedding's random normal_ init on the
        # meta device goes through torch._refs and imports torch._dynamo (about 1 s)
        self.word_embeddings = nn.Parameter(torch.empty(vocab, hidden))
        self.position_embeddings = nn.Parameter(torch.empty(positions, hidden))
        self.token_type_embeddings = nn.Parameter(torch.empty(types, hidden))
        self.norm = nn.LayerNorm(hidden, eps=eps)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        pos = self.position_embeddings[:ids.shape[1]]                 # (L, H)
        x = F.embedding(ids, self.word_embeddings) + pos + self.token_type_embeddings[0]
        return self.norm(x)


class Attention(nn.Module):
    """(B, L, H) states, (B, 1, 1, L) bool key mask -> (B, L, H) multi-head self-attention."""

    def __init__(self, hidden: int, heads: int):
        super().__init__()
        self.heads = heads
        self.query = nn.Linear(hidden, hidden)
        self.key = nn.Linear(hidden, hidden)
        self.value = nn.Linear(hidden, hidden)
        self.out = nn.Linear(hidden, hidden)

    def forward(self, x: torch.Tensor, key_mask: torch.Tensor) -> torch.Tensor:
        B, L, H = x.shape

        def split(t):  # (B, L, H) -> (B, heads, L, H / heads)
            return t.view(B, L, self.heads, H // self.heads).transpose(1, 2)

        y = F.scaled_dot_product_attention(split(self.query(x)), split(self.key(x)),
                                           split(self.value(x)), attn_mask=key_mask)
        return self.out(y.transpose(1, 2).reshape(B, L, H))


class Layer(nn.Module):
    """One post-LN BERT block: x = LN(x + attn(x)); x = LN(x + ffn(x)). (B, L, H) -> (B, L, H)."""

    def __init__(self, hidden: int, heads: int, ffn: int, eps: float):
        super().__init__()
        self.attn = Attention(hidden, heads)
        self.attn_norm = nn.LayerNorm(hidden, eps=eps)
        self.ffn_in = nn.Linear(hidden, ffn)
        self.ffn_out = nn.Linear(ffn, hidden)
        self.ffn_norm = nn.LayerNorm(hidden, eps=eps)

    def forward(self, x: torch.Tensor, key_mask: torch.Tensor) -> torch.Tensor:
        x = self.attn_norm(x + self.attn(x, key_mask))
        return self.ffn_norm(x + self.ffn_out(F.gelu(self.ffn_in(x))))  # exact (erf) GELU, as BERT


class MiniLM(nn.Module):
    """BERT sentence encoder with mean pooling; ``MiniLM.from_pretrained(folder)`` to load.

    ``forward``: (B, L) token ids, (B, L) attention mask -> (B, D) unit vectors.
    ``encode``:  N strings -> (N, D) float32 unit vectors on CPU (D = 384 for MiniLM-L6).
    """

    def __init__(self, config: dict, tokenizer, max_length: int = 256, lowercase: bool = False):
        super().__init__()
        if config.get("hidden_act", "gelu") != "gelu" or \
                config.get("position_embedding_type", "absolute") != "absolute":
            raise ValueError("MiniLM: only BERT with GELU and absolute positions is implemented")
        hidden, eps = config["hidden_size"], config.get("layer_norm_eps", 1e-12)
        self.dim = hidden
        self.embeddings = Embeddings(config["vocab_size"], config["max_position_embeddings"],
                                     config.get("type_vocab_size", 2), hidden, eps)
        self.layers = nn.ModuleList(
            Layer(hidden, config["num_attention_heads"], config["intermediate_size"], eps)
            for _ in range(config["num_hidden_layers"]))
        self.tokenizer = tokenizer
        self.max_length = min(max_length, config["max_position_embeddings"])
        self.lowercase = lowercase  # sentence_bert_config "do_lower_case": lowercases before tokenising
        # tokenizer.json carries its own settings (for this model: truncate at 128, pad to
        # 128); sentence_transformers overrides them with max_seq_length and batch padding.
        tokenizer.no_padding()
        tokenizer.enable_truncation(self.max_length)
        self.pad_id = tokenizer.token_to_id("[PAD]") or 0

    @classmethod
    def from_pretrained(cls, folder: str | Path, device: str | torch.device = "cpu") -> "MiniLM":
        """A sentence-transformers model folder -> MiniLM in eval mode on ``device``."""
        from safetensors.torch import load_file
        from tokenizers import Tokenizer

        folder = Path(folder)
        config = json.loads((folder / "config.json").read_text())
        st_path = folder / "sentence_bert_config.json"
        st_config = json.loads(st_path.read_text()) if st_path.is_file() else {}
        pool_path = folder / "1_Pooling" / "config.json"
        if pool_path.is_file() and not json.loads(pool_path.read_text()).get("pooling_mode_mean_tokens"):
            raise ValueError(f"{folder}: MiniLM implements mean pooling only")
        tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        # built on the meta device, then the loaded tensors become the parameters (assign=True):
        # nothing is allocated or initialised for real, and there is no second copy of the weights
        with torch.device("meta"):
            model = cls(config, tokenizer, max_length=st_config.get("max_seq_length") or 512,
                        lowercase=bool(st_config.get("do_lower_case")))
        weights = load_file(str(folder / "model.safetensors"), device=str(torch.device(device)))
        state = {}
        for name, t in weights.items():
            if name.startswith("bert."):
                name = name[len("bert."):]
            if name.startswith(_UNUSED):
                continue
            for old, new in _RENAMES:
                name = name.replace(old, new)
            state[name] = t.float()  # a no-op for this float32 checkpoint
        model.load_state_dict(state, strict=True, assign=True)
        return model.eval().requires_grad_(False)

    @property
    def device(self) -> torch.device:
        return self.embeddings.word_embeddings.device

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """(B, L) long token ids, (B, L) attention mask (1 = token, 0 = padding) -> (B, D) unit vectors."""
        mask = mask.bool()
        key_mask = mask[:, None, None, :]                           # (B, 1, 1, L): queries see real keys
        x = self.embeddings(ids)
        for layer in self.layers:
            x = layer(x, key_mask)
        w = mask.unsqueeze(-1).to(x.dtype)                          # (B, L, 1)
        pooled = (x * w).sum(1) / w.sum(1).clamp(min=1e-9)          # mean over real tokens
        return F.normalize(pooled, p=2, dim=-1)

    def tokenize(self, texts: Sequence[str]) -> list[list[int]]:
        """N strings -> N lists of word-piece ids, [CLS] ... [SEP], at most ``max_length`` long."""
        if self.lowercase:
            texts = [t.lower() for t in texts]
        return [e.ids for e in self.tokenizer.encode_batch(list(texts))]

    def _pad(self, seqs: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
        """N id lists -> (N, L) ids padded on the right, (N, L) mask; L = longest in the batch."""
        L = max(len(s) for s in seqs)
        ids = torch.full((len(seqs), L), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(seqs), L), dtype=torch.long)
        for i, s in enumerate(seqs):
            ids[i, :len(s)] = torch.tensor(s, dtype=torch.long)
            mask[i, :len(s)] = 1
        return ids.to(self.device), mask.to(self.device)

    @torch.no_grad()
    def encode(self, texts: Sequence[str], batch_size: int = 64) -> torch.Tensor:
        """N strings -> (N, D) float32 unit vectors on CPU, in input order."""
        texts = list(texts)
        if not texts:
            return torch.zeros((0, self.dim), dtype=torch.float32)
        seqs = self.tokenize(texts)
        # batches of similar length waste little on padding; results go back to input order
        order = sorted(range(len(seqs)), key=lambda i: -len(seqs[i]))
        out = torch.empty((len(seqs), self.dim), dtype=torch.float32)
        for start in range(0, len(order), batch_size):
            idx = order[start:start + batch_size]
            out[idx] = self(*self._pad([seqs[i] for i in idx])).float().cpu()
        return out
