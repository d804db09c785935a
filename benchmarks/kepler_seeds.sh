#!/usr/bin/env bash
# Kepler at the reference's full budget (docs/RESULTS.md, "Why Kepler"): the rotation-
# invariant network from several seeds and two initialisations, to separate the seed's
# spread from the effect of the initialisation. Each run is the reference configuration
# (examples/configs/reference-kepler.json) with only "seed" and "init" changed, then
# evaluated with RK4 to t = 128. Rerunning resumes.
#
#   benchmarks/kepler_seeds.sh ["init:seed init:seed ..."]   (default: see RUNS below)
#
# Then `.venv/bin/python benchmarks/kepler_seeds.py` prints the table.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-runs/kepler-seeds}
SN=${SN:-.venv/bin/symnoether}
PY=${PY:-.venv/bin/python}
RUNS=${1:-"glorot:0 default:1 glorot:1 default:2 glorot:2"}
mkdir -p "$OUT"
for run in $RUNS; do
    init=${run%%:*} seed=${run##*:}
    folder=$OUT/$init-seed$seed
    config=$OUT/$init-seed$seed.json
    "$PY" - "$init" "$seed" "$config" <<'PYEOF'
import json, sys
config = json.load(open("examples/configs/reference-kepler.json"))
config.update(init=sys.argv[1], seed=int(sys.argv[2]))
json.dump(config, open(sys.argv[3], "w"))
PYEOF
    "$SN" train examples/kepler/spec.py --out "$folder" --config "$config" \
        --models invariant --resume
    "$SN" evaluate "$folder" --t-final 128 --method rk4
done
