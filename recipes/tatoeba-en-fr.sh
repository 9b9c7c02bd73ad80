#!/usr/bin/env bash
# Reproduce the shipped English→French model (models/en-fr) from ../shared/data/tatoeba-eng-fra:
# train with the recipe, export half-precision weights, record the test scores in the model card.
#   bash recipes/tatoeba-en-fr.sh [OUT]      (OUT defaults to runs/tatoeba-en-fr; add --force
#                                            by setting FORCE=1 to replace an existing OUT)
# About 3 h 30 min on one CPU core (OMP_NUM_THREADS=1), much less on a GPU.
set -euo pipefail
cd "$(dirname "$0")/.."

out=${1:-runs/tatoeba-en-fr}
run=$out-train
data=../shared/data/tatoeba-eng-fra
force=()
[[ -n ${FORCE:-} ]] && force=(--force)

nmtcli train --config recipes/tatoeba-en-fr-transformer.yaml -o "$run" "${force[@]}"
nmtcli export "$run" "$out" --half "${force[@]}"
cp recipes/tatoeba-en-fr-card.md "$out/CARD_NOTES.md"
for beam in 1 5; do
    nmtcli evaluate -m "$out" --src-file "$data/test.en" --ref-file "$data/test.fr" \
        --beam-size "$beam" --record tatoeba-test
done
# everyday input: the robustness set, per category (the card shows the overall row)
nmtcli evaluate -m "$out" bench/robustness/dev.tsv --by-category --beam-size 5 --record robustness-dev
nmtcli info "$out"
