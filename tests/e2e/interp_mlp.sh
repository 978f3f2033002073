#!/usr/bin/env bash
# The front half end to end: examples/mlp.net trained by the reference
# interpreter on 3,000 Fashion-MNIST images for 2 epochs, evaluated on 2,000
# held-out images. The loss must fall and accuracy must clear 70 % (chance is
# 10 %; this run measures 77-78 %).
# usage: interp_mlp.sh NETC SOURCE_DIR OUT_DIR
set -euo pipefail
netc=$1 src=$2 out=$3
mkdir -p "$out"
log=$out/train.log
"$netc" train "$src/examples/mlp.net" --limit 3000 --epochs 2 --validate-limit 2000 | tee "$log"

acc=$(sed -n 's/.*held-out accuracy \([0-9.]*\)%.*/\1/p' "$log" | tail -1)
first=$(sed -n 's/.*train loss \([0-9.]*\),.*/\1/p' "$log" | head -1)
last=$(sed -n 's/.*train loss \([0-9.]*\),.*/\1/p' "$log" | tail -1)
echo "held-out accuracy $acc %, train loss $first -> $last"
awk -v a="$acc" -v f="$first" -v l="$last" 'BEGIN { exit !(a >= 70 && l < f) }' ||
  { echo "FAIL: expected accuracy >= 70 % and a falling loss"; exit 1; }
