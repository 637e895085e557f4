#!/usr/bin/env bash
# A batch job as a CI pipeline would run it: the model loads once for all prompts,
# each prompt gets a file set (mp4 + SMPL npz + joints npy), index.json lists them,
# and every result is classified for a machine-readable report.
# Any bad input stops the job with exit code 2 and a one-line error.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${1:-motions}"

mclip text2motion --prompts "$here/prompts.txt" -o "$out/"
# one classify call for all results: the model loads once; a JSON list in file order
mclip classify "$out"/*.npz --labels "walk,jump,sit down,wave,punch,kick,dance,march" \
    --top-k 1 --json > "$out/classify.json"
echo "done: $(ls "$out"/*.npz | wc -l) motions in $out/ (index: $out/index.json)"
