import sys
from pathlib import Path
from mclip.checkpoint import export_for_release, checksum_path
ckpt, out = sys.argv[1:3]
export_for_release(ckpt, out)
checksum_path(out).unlink(missing_ok=True)   # 8 files come back at most: recomputed there
print(out, Path(out).stat().st_size)
