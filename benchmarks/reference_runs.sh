#!/usr/bin/env bash
# The reference's experiment at its full budget (docs/RESULTS.md): every comparison it makes,
# trained on its data regime (a stream: fresh samples and noise for every batch) from its
# initial states, then evaluated with RK4 and the variational integrator in float32 and
# float64 to t = 128. Rerunning resumes: each training continues from its last checkpoint.
#
#   benchmarks/reference_runs.sh [kepler|schwarzschild|two_particles|all]   (default all)
#
# OUT (default runs/reference) is where the run folders go. Each model is 250,000 steps;
# on the 2-core development machine about 10-30 minutes per model.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-runs/reference}
SN=${SN:-.venv/bin/symnoether}
PY=${PY:-.venv/bin/python}
STREAM=examples/configs/reference.json

train_and_evaluate() {  # folder, config, models, spec (environment variables before the call)
    local folder=$OUT/$1 code=0
    # A model whose training diverges (exit 1) keeps its last good checkpoint; evaluate that
    # and go on with the next run rather than stopping the queue.
    "$SN" train "$4" --out "$folder" --config "$2" --models "$3" --resume || code=$?
    if [ "$code" -gt 1 ]; then return "$code"; fi
    "$PY" benchmarks/results.py "$folder"
}

kepler() {
    train_and_evaluate kepler examples/configs/reference-kepler.json invariant,unconstrained \
        examples/kepler/spec.py
}

schwarzschild() {
    train_and_evaluate schwarzschild "$STREAM" invariant,unconstrained \
        examples/schwarzschild/spec.py
}

two_particles() {
    # The reference's five variants: none (= our unconstrained network, which sees q and
    # qdot), translations, rotations SO(4), rotations and reflections O(4), both.
    local spec=examples/two_particles/spec.py
    SYMNOETHER_DIM=4 SYMNOETHER_SYMMETRY=both \
        train_and_evaluate two_particles_4d_both "$STREAM" invariant,unconstrained "$spec"
    for symmetry in translations rotations reflections; do
        SYMNOETHER_DIM=4 SYMNOETHER_SYMMETRY=$symmetry \
            train_and_evaluate "two_particles_4d_$symmetry" "$STREAM" invariant "$spec"
    done
}

case "${1:-all}" in
    kepler) kepler ;;
    schwarzschild) schwarzschild ;;
    two_particles) two_particles ;;
    all) kepler; schwarzschild; two_particles ;;
    *) echo "usage: $0 [kepler|schwarzschild|two_particles|all]" >&2; exit 2 ;;
esac
