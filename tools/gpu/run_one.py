"""GPU machine: one training run whose texts come from the carried MiniLM cache.

python3 tools/gpu/run_one.py NAME CORPUS RUNDIR DEADLINE_EPOCH_S JSON_OVERRIDES
Phase 1: 60 steps to measure the speed (with the other runs beside it); phase 2:
resume with --steps set so the cosine schedule ends by the deadline.
"""
import json, sys, time
from pathlib import Path

import numpy as np

from mclip.backbones import Backbone, TextEmbeddingCache
from mclip.errors import MclipError
from mclip.train import TrainConfig, train

name, corpus, rundir, deadline, overrides = sys.argv[1:6]
deadline = float(deadline)
carried = np.load(Path(__file__).parent / "texts.npz")


class CachedMiniLM(Backbone):
    """MiniLM's embeddings, precomputed off the device (its weights don't travel)."""
    name, dim, has_image = "minilm", 384, False
    identity = str(carried["identity"])

    def _encode_text(self, texts):
        raise MclipError(f"text not in the carried cache: {texts[0]!r}")


bb = CachedMiniLM()
run = Path(rundir)
cache_file = TextEmbeddingCache(run / "cache" / "text", bb).path   # where train() looks
cache_file.parent.mkdir(parents=True, exist_ok=True)
np.savez(cache_file, keys=carried["keys"], emb=carried["emb"].astype(np.float32),
         identity=carried["identity"])

cfg = dict(data=corpus, out=rundir, batch_size=256, lr=5e-4, lr_schedule="cosine",
           warmup_steps=200, steps=100000, lambda_text=100.0, lambda_text_recon=1.0,
           ckpt_every=1000, val_every=1000, sample_every=0, threads=3, progress=False,
           device="cuda", seed=0)
cfg.update(json.loads(overrides))
cfg = TrainConfig.from_dict(cfg)
t = time.time()
train(cfg, backbone=bb, max_steps_this_call=60)
log = [json.loads(l) for l in open(run / "log.jsonl") if '"clips_per_s"' in l]
a, b = log[1], log[-1]                     # steps 20 and 60: past CUDA's first-step costs
ta, tb = a["step"] * cfg.batch_size / a["clips_per_s"], b["step"] * cfg.batch_size / b["clips_per_s"]
steps_per_s = (b["step"] - a["step"]) / (tb - ta)
left = deadline - time.time() - 25         # reload + final validation + export
total = max(60, int(60 + steps_per_s * 0.95 * left))
print(f"{name}: {steps_per_s:.1f} steps/s measured, phase 1 took {time.time() - t:.0f} s; "
      f"total steps {total}", flush=True)
res = train(cfg, resume=True, backbone=bb, changes={"steps": total})
print(f"{name}: stopped at step {res.step} of {total} ({res.clips_per_s:.0f} clips/s), "
      f"val {res.val_loss}, last {res.last_losses}", flush=True)
