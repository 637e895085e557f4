"""Device: clips whose text the carried MiniLM cache lacks go to split 'uncached'."""
import hashlib, json, os, sys
from pathlib import Path
import numpy as np
root = sys.argv[1]
keys = set(str(k) for k in np.load(Path(__file__).parent / "texts.npz")["keys"])
lines, moved = [], 0
for line in open(f"{root}/manifest.jsonl"):
    r = json.loads(line)
    t = r["text"]
    ok = all(hashlib.sha1(s.encode()).hexdigest() in keys for s in ([t] if isinstance(t, str) else t))
    if not ok and r["split"] in ("train", "val"):
        r["split"], moved = "uncached", moved + 1
    lines.append(json.dumps(r))
open(f"{root}/manifest.tmp", "w").write("\n".join(lines) + "\n")
os.replace(f"{root}/manifest.tmp", f"{root}/manifest.jsonl")
print(f"{moved} train/val clips have texts outside the cache: left out")
