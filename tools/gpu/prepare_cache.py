"""Here (where MiniLM is installed): the MiniLM embeddings of every train/val text of a
corpus, in float16, plus a digest of the corpus, for the GPU machine.

python tools/gpu/prepare_cache.py CORPUS OUT.npz [CACHE_DIR]
Texts already in CACHE_DIR's TextEmbeddingCache are not encoded again (default
CORPUS/../cache/text; a run folder's OUT/cache/text works too).
"""
import sys
from pathlib import Path

import numpy as np

from corpus import digest, texts_of
from mclip.data.dataset import read_manifest
from mclip.backbones import TextEmbeddingCache, text_key, load_backbone

corpus, out = sys.argv[1:3]
cache_dir = sys.argv[3] if len(sys.argv) > 3 else str(Path(corpus).parent / "cache" / "text")
recs = read_manifest(corpus)
texts = {text_key(s): s for r in recs if r["split"] in ("train", "val") for s in texts_of(r)}
backbone = load_backbone("minilm")
emb = TextEmbeddingCache(cache_dir, backbone).get(list(texts.values())).numpy().astype(np.float16)
np.savez_compressed(out, keys=np.array(list(texts), dtype="U40"), emb=emb,
                    identity=np.array(backbone.identity), digest=np.array(digest(recs)))
print(len(texts), "texts", emb.nbytes / 1e6, "MB; corpus digest", digest(recs))
