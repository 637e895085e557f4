"""On this machine (where MiniLM is installed): the MiniLM embeddings of every train/val text of corpus60k, fp16, to carry."""
import hashlib, json, sys
import numpy as np
from mclip.data.dataset import read_manifest

corpus, cache, out = sys.argv[1:4]
recs = read_manifest(corpus)
texts = {}
for r in recs:
    if r["split"] in ("train", "val"):
        t = r["text"]
        for s in ([t] if isinstance(t, str) else t):
            texts[hashlib.sha1(s.encode()).hexdigest()] = s
z = np.load(cache)
row = {str(k): i for i, k in enumerate(z["keys"])}
missing = [k for k in texts if k not in row]
assert not missing, f"{len(missing)} texts not cached"
keys = np.array(list(texts), dtype="U40")
emb = z["emb"][[row[k] for k in keys]].astype(np.float16)
digest = hashlib.sha256("\n".join(json.dumps([r["id"], r["text"], r["split"]]) for r in recs).encode()).hexdigest()
np.savez_compressed(out, keys=keys, emb=emb, identity=z["identity"], digest=np.array(digest))
print(len(keys), "texts", emb.nbytes / 1e6, "MB; corpus digest", digest)
