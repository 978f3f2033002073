#!/usr/bin/env bash
# The lecture's goldfish memory, natively: tools/goldfish.py writes 4,000
# training and 1,000 held-out sequences of 20 steps uniform in [0, 32],
# labelled by whether the FIRST step is above 16 (the rest is noise).
# examples/goldfish_rnn.net (a tanh rnn(32)) and goldfish_lstm.net (an
# lstm(32)) train with the same settings for 10 epochs: the vanilla RNN must
# stay near chance (<= 60 %; measured 48.6 %) while the LSTM remembers
# (>= 95 %; measured 99.8 %; docs/recurrence.md has 6 seeds of each).
# usage: goldfish.sh NETC SOURCE_DIR OUT_DIR
set -euo pipefail
netc=$1 src=$2 out=$3
rm -rf "$out" && mkdir -p "$out" && cd "$out"
export NETC_CACHE_DIR=$out/cache NETC_DATA=$out/data
fail() { echo "FAIL: $*"; exit 1; }

/usr/bin/python3 "$src/tools/goldfish.py" "$out/data/goldfish"
final_accuracy() { sed -n 's/.*accuracy \([0-9.]*\)%.*/\1/p' "$1" | tail -1; }
for m in rnn lstm; do
  "$netc" build "$src/examples/goldfish_$m.net" -o "$m" | tee "build_$m.log"
  "./$m" train --checkpoint "$m.safetensors" | tee "train_$m.log"
done
rnn=$(final_accuracy train_rnn.log) lstm=$(final_accuracy train_lstm.log)
echo "held-out accuracy after 10 epochs: rnn $rnn %, lstm $lstm %"
awk -v a="$rnn" 'BEGIN { exit !(a <= 60) }' || fail "the vanilla RNN learned the task ($rnn %)"
awk -v a="$lstm" 'BEGIN { exit !(a >= 95) }' || fail "the LSTM did not remember ($lstm %)"
echo "PASS"
