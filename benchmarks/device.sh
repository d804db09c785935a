#!/usr/bin/env bash
# GPU figures in one go, at most 8 minutes (each stage has its own time limit): the tests
# that exercise the device paths, bench_train.py (training step, fixed data and streams),
# bench_integrate.py (rollouts), and one full-budget Kepler training (250,000 steps, the
# reference's data stream), evaluated.
# Writes $OUT/device.json (OUT defaults to runs/device) with each stage's output and time.
#
#   benchmarks/device.sh            # needs a jax with a GPU backend (e.g. jax[cuda12])
#
# On a machine without a GPU it stops at once with exit 2.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-runs/device}
PY=${PY:-.venv/bin/python}
SN=${SN:-.venv/bin/symnoether}
mkdir -p "$OUT/logs"

if ! "$PY" -c "import jax, sys; sys.exit(jax.devices()[0].platform != 'gpu')"; then
    echo "device.sh: jax sees no GPU (jax.devices() is CPU only); install jax[cuda12]" >&2
    exit 2
fi

stage() {  # name, timeout in seconds, command...
    local name=$1 limit=$2; shift 2
    local start=$SECONDS
    timeout "$limit" "$@" > "$OUT/logs/$name.log" 2>&1
    echo "$name $? $((SECONDS - start))" >> "$OUT/logs/stages.txt"
}
rm -f "$OUT/logs/stages.txt"
stage tests 120 "$PY" -m pytest -q -x tests/test_train.py tests/test_stream.py \
    tests/test_batched.py tests/test_integrate.py
stage bench_train 60 "$PY" benchmarks/bench_train.py --epochs 5 --repeats 2
stage bench_train_data 45 "$PY" benchmarks/bench_train.py --data --epochs 5 --repeats 2
stage bench_ensemble 60 "$PY" benchmarks/bench_ensemble.py --seeds 8 --epochs 3 --steps 50
stage bench_integrate 60 "$PY" benchmarks/bench_integrate.py --section speed --repeats 2
rm -rf "$OUT/kepler"
stage kepler_full 150 "$SN" train examples/kepler/spec.py --out "$OUT/kepler" \
    --config examples/configs/reference-kepler.json --models invariant
stage kepler_evaluate 45 "$SN" evaluate "$OUT/kepler" --t-final 64

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
result = {
    "device": str(jax.devices()[0].device_kind), "jax": jax.__version__, "stages": stages,
    "kepler_metrics": json.loads(metrics.read_text()) if metrics.exists() else None,
}
(out / "device.json").write_text(json.dumps(result, indent=2) + "\n")
print(f"wrote {out / 'device.json'}: " + ", ".join(
    f"{k} {'ok' if v['exit'] == 0 else 'exit ' + str(v['exit'])} {v['seconds']} s"
    for k, v in stages.items()))
PY
