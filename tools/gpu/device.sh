#!/bin/bash
# One device call: build the corpus, train 4 runs side by side until BUDGET s after start,
# export each to $OUT (fp16), bring the logs back in one tar.
set -u
G=$(dirname "$0")      # this folder, carried to the GPU machine (with texts.npz beside it)
T0=$(date +%s); BUDGET=${BUDGET:-500}; DEADLINE=$((T0 + BUDGET))
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1
W=/tmp/w; rm -rf $W; mkdir -p $W/logs
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee $W/logs/gpu.txt
python3 -c "import torch, numpy, typer, rich; print('torch', torch.__version__, 'numpy', numpy.__version__, 'cuda', torch.cuda.is_available())" | tee -a $W/logs/gpu.txt
CORPUS=${CORPUS:-$W/corpus}
if [ ! -f $CORPUS/info.json ]; then
  python3 -c "import sys; from mclip.data.synth.writer import write_corpus; print(write_corpus(sys.argv[1], int(sys.argv[2]), seed=0, workers=15)['counts']['splits'])" $CORPUS ${NCLIPS:-60000} > $W/logs/synth.log 2>&1 || { tail -5 $W/logs/synth.log; exit 1; }
fi
python3 $G/drop_uncached.py $CORPUS | tee -a $W/logs/gpu.txt
echo "setup took $(( $(date +%s) - T0 )) s" | tee -a $W/logs/gpu.txt
RUNS=${RUNS:-"A:default B:small C:default_notext D:default_norecon"}   # NAME:KIND ...
PIDS=()
for spec in $RUNS; do
  n=${spec%%:*}; kind=${spec#*:}
  case $kind in
    default) o='{"model": "default-cpu"}' ;;
    small) o="{\"model\": \"$G/small-pre.json\"}" ;;
    default_notext) o='{"model": "default-cpu", "text_loss": false, "lambda_text_recon": 0.0}' ;;
    default_norecon) o='{"model": "default-cpu", "lambda_text_recon": 0.0}' ;;
    init) o="{\"model\": \"default-cpu\", \"init\": \"$INIT\"}" ;;             # INIT=stage-1 weights
    init_norecon) o="{\"model\": \"default-cpu\", \"init\": \"$INIT\", \"lambda_text_recon\": 0.0}" ;;
  esac
  o=$(python3 -c "import json,sys; d=json.loads(sys.argv[1]); d.update(json.loads(sys.argv[2])); print(json.dumps(d))" "$o" "${EXTRA:-{\}}")
  echo "$n: $kind $o" | tee -a $W/logs/gpu.txt
  timeout -s INT $((DEADLINE + 30 - $(date +%s))) python3 $G/run_one.py $n $CORPUS $W/$n $DEADLINE "$o" > $W/logs/$n.out 2>&1 &
  PIDS+=($!)
done
( while sleep 30; do nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv,noheader >> $W/logs/gpu_util.txt 2>&1; done ) &
MON=$!
wait "${PIDS[@]}"; kill $MON
for spec in $RUNS; do
  n=${spec%%:*}
  tail -3 $W/logs/$n.out
  cp $W/$n/log.jsonl $W/logs/$n.log.jsonl 2>/dev/null; cp $W/$n/config.json $W/logs/$n.config.json 2>/dev/null
  [ -f $W/$n/last.pt ] && python3 $G/export_one.py $W/$n/last.pt $OUT/$n.pt
done
tar czf $OUT/logs.tgz -C $W logs
echo "total $(( $(date +%s) - T0 )) s"
