#!/usr/bin/env bash
# Kepler at the reference's full budget (docs/RESULTS.md, "Kepler: the spread over seeds"):
# the rotation-invariant network from several seeds, to measure the seed's spread. Each run
# is the reference configuration (examples/configs/reference-kepler.json: the reference's
# initialisation, init "reference", and Keras' Adam epsilon 1e-7) with "seed" and "init"
# changed, and "adam_eps" too when a run names it; then evaluated with RK4 to t = 128.
# Rerunning resumes: a finished run is skipped, an interrupted one continues from its last
# checkpoint.
#
#   benchmarks/kepler_seeds.sh ["init:seed[:adam_eps] ..."]   (default: reference:0 .. reference:9)
#
# e.g. "default:1:1e-8 glorot:0:1e-8" for the earlier study's runs (optax's epsilon); init
# "base" keeps the base configuration's (BASE=examples/configs/reference-kepler-natural.json
# with "base:0 base:1 ..." trains the natural family, whose network takes no init). Then
# `.venv/bin/python benchmarks/kepler_seeds.py "$OUT"` prints the table.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-runs/kepler-seeds}
SN=${SN:-.venv/bin/symnoether}
PY=${PY:-.venv/bin/python}
BASE=${BASE:-examples/configs/reference-kepler.json}  # another base configuration: smoke tests
RUNS=${1:-"reference:0 reference:1 reference:2 reference:3 reference:4 reference:5 reference:6
reference:7 reference:8 reference:9"}
mkdir -p "$OUT"
for run in $RUNS; do
    IFS=: read -r init seed eps <<< "$run"
    name=$init-seed$seed${eps:+-eps$eps}
    folder=$OUT/$name
    config=$OUT/$name.json
    "$PY" - "$BASE" "$config" "$init" "$seed" "$eps" <<'PYEOF'
import json, sys
base, path, init, seed, eps = sys.argv[1:]
config = json.load(open(base))
config.update(seed=int(seed), **({"adam_eps": float(eps)} if eps else {}))
if init != "base":
    config["init"] = init
json.dump(config, open(path, "w"))
PYEOF
    if [ ! -f "$folder/evaluation/metrics.json" ]; then
        "$SN" train examples/kepler/spec.py --out "$folder" --config "$config" \
            --models invariant --resume
        "$SN" evaluate "$folder" --t-final 128 --method rk4
    fi
    echo "finished $name"
done
