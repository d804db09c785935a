#!/usr/bin/env bash
# Accelerator figures in one go, at most 8 minutes (each stage has its own time limit):
# first the training throughput on one device, on all local devices and of a seed ensemble
# (bench_devices.py, so that even a cut-short run records them), then the tests that
# exercise the device paths, bench_train.py (training step, fixed data and streams),
# bench_ensemble.py, bench_integrate.py (rollouts), and one full-budget Kepler training
# (250,000 steps, the reference's data stream), evaluated.
# Writes $OUT/device.json (OUT defaults to runs/device) with each stage's output and time,
# and the throughput figures ("throughput", from $OUT/throughput.json).
#
#   benchmarks/device.sh                 # a jax with a GPU backend (e.g. jax[cuda12])
#   BUDGET=tiny benchmarks/device.sh     # seconds per stage: checks the script itself
#   SCALE=5 BUDGET=tiny benchmarks/device.sh   # each stage's time limit x5 (a busy CPU)
#
# Without a GPU it runs on the CPU (with two simulated devices, so that the multi-device
# path runs too; those figures are no speed-up) and says so; use BUDGET=tiny there.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-runs/device}
PY=${PY:-.venv/bin/python}
SN=${SN:-.venv/bin/symnoether}
BUDGET=${BUDGET:-full}
SCALE=${SCALE:-1}
mkdir -p "$OUT/logs"

if ! "$PY" -c "import jax, sys; sys.exit(jax.devices()[0].platform != 'gpu')"; then
    echo "device.sh: jax sees no GPU (install jax[cuda12] for one); running on the CPU" >&2
    export XLA_FLAGS="${XLA_FLAGS:-} --xla_force_host_platform_device_count=2"
fi
case "$BUDGET" in
    full) EPOCHS=4 STEPS=100 SEEDS=8 TRAIN_EPOCHS=5 KEPLER=() T_FINAL=64 ROLLOUT=100000
          TESTS=(tests/test_train.py tests/test_stream.py tests/test_batched.py
                 tests/test_integrate.py) ;;
    tiny) EPOCHS=2 STEPS=5 SEEDS=2 TRAIN_EPOCHS=2 KEPLER=(--epochs 1) T_FINAL=1 ROLLOUT=1000
          TESTS=(tests/test_ensemble.py) ;;
    *) echo "device.sh: BUDGET must be full or tiny, got $BUDGET" >&2; exit 2 ;;
esac

stage() {  # name, timeout in seconds, command...
    local name=$1 limit=$2; shift 2
    local start=$SECONDS
    timeout "$((limit * SCALE))" "$@" > "$OUT/logs/$name.log" 2>&1
    echo "$name $? $((SECONDS - start))" >> "$OUT/logs/stages.txt"
}
rm -f "$OUT/logs/stages.txt" "$OUT/throughput.json"
stage bench_devices 120 "$PY" benchmarks/bench_devices.py --epochs "$EPOCHS" --steps "$STEPS" \
    --seeds "$SEEDS" --json "$OUT/throughput.json"
stage tests 120 "$PY" -m pytest -q -x "${TESTS[@]}"
stage bench_train 60 "$PY" benchmarks/bench_train.py --epochs "$TRAIN_EPOCHS" --repeats 2 \
    --steps-per-epoch "$STEPS"
stage bench_train_data 45 "$PY" benchmarks/bench_train.py --data --epochs "$TRAIN_EPOCHS" \
    --repeats 2 --steps-per-epoch "$STEPS"
stage bench_ensemble 60 "$PY" benchmarks/bench_ensemble.py --seeds "$SEEDS" --epochs 3 \
    --steps $((STEPS < 50 ? STEPS : 50))
stage bench_integrate 60 "$PY" benchmarks/bench_integrate.py --section speed --repeats 2 \
    --steps "$ROLLOUT"
rm -rf "$OUT/kepler"
stage kepler_full 150 "$SN" train examples/kepler/spec.py --out "$OUT/kepler" \
    --config examples/configs/reference-kepler.json --models invariant "${KEPLER[@]}"
stage kepler_evaluate 45 "$SN" evaluate "$OUT/kepler" --t-final "$T_FINAL"

"$PY" - "$OUT" <<'PY'
import json, sys
from pathlib import Path
import jax
out = Path(sys.argv[1])
stages = {}
for line in (out / "logs" / "stages.txt").read_text().splitlines():
    name, code, seconds = line.split()
    log = (out / "logs" / f"{name}.log").read_text()
    stages[name] = {"exit": int(code), "seconds": int(seconds), "output_tail": log[-6000:]}
metrics = out / "kepler" / "evaluation" / "metrics.json"
throughput = out / "throughput.json"
result = {
    "device": str(jax.devices()[0].device_kind), "platform": jax.devices()[0].platform,
    "jax": jax.__version__, "stages": stages,
    "throughput": json.loads(throughput.read_text()) if throughput.exists() else None,
    "kepler_metrics": json.loads(metrics.read_text()) if metrics.exists() else None,
}
(out / "device.json").write_text(json.dumps(result, indent=2) + "\n")
print(f"wrote {out / 'device.json'}: " + ", ".join(
    f"{k} {'ok' if v['exit'] == 0 else 'exit ' + str(v['exit'])} {v['seconds']} s"
    for k, v in stages.items()))
PY
