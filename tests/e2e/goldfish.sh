#!/usr/bin/env bash
# The lecture's goldfish memory, natively: tools/goldfish.py writes 4,000
# training and 1,000 held-out sequences of 20 steps uniform in [0, 32],
# labelled by whether the FIRST step is above 16 (the rest is noise).
# examples/goldfish_rnn.net (a tanh rnn(32)) and goldfish_lstm.net (an
# lstm(32)) train with the same settings for 10 epochs: the vanilla RNN must
# stay near chance (<= 60 %; measured 48.6 %) while the LSTM remembers
# (>= 95 %; measured 99.8 %; docs/recurrence.md has 6 seeds of each).
# usage: goldfish.sh NETC SOURCE_DIR OUT_DIR
source "$(dirname "$0")/lib.bash"
export NETC_DATA=$out/data

/usr/bin/python3 "$src/tools/goldfish.py" "$out/data/goldfish"
for m in rnn lstm; do
  "$netc" build "$src/examples/goldfish_$m.net" -o "$m" | tee "build_$m.log"
  "./$m" train --checkpoint "$m.safetensors" | tee "train_$m.log"
done
rnn=$(last_accuracy train_rnn.log) lstm=$(last_accuracy train_lstm.log)
echo "held-out accuracy after 10 epochs: rnn $rnn %, lstm $lstm %"
at_most "$rnn" 60 "the vanilla RNN learned the task ($rnn %)"
at_least "$lstm" 95 "the LSTM did not remember ($lstm %)"
echo "PASS"
