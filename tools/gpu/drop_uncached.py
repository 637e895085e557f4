"""GPU machine: check the corpus against the carried cache's digest, and move clips whose
text the cache lacks to split 'uncached' (out of train/val)."""
import json, os, sys
from pathlib import Path

import numpy as np

from corpus import digest, texts_of
from mclip.data.dataset import read_manifest
from mclip.backbones import text_key

root = Path(sys.argv[1])
carried = np.load(Path(__file__).parent / "texts.npz")
recs = read_manifest(root)
d = digest(recs)
print("corpus digest", "matches" if d == str(carried["digest"]) else "DIFFERS", d)
keys = set(str(k) for k in carried["keys"])
moved = 0
for r in recs:
    if r["split"] in ("train", "val") and not all(text_key(s) in keys for s in texts_of(r)):
        r["split"], moved = "uncached", moved + 1
tmp = root / "manifest.tmp"
tmp.write_text("".join(json.dumps({k: v for k, v in r.items() if k != "_line"}) + "\n" for r in recs))
os.replace(tmp, root / "manifest.jsonl")
print(f"{moved} train/val clips have texts outside the cache: left out")
