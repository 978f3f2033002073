#!/usr/bin/env bash
# The other recurrent examples end to end, as tests/e2e/native_lstm.sh does
# for the LSTM: `netc build examples/gru.net` (a gru(128) layer) and
# `examples/rnn.net` (the vanilla RNN written out with `scan`), each trained
# natively on the first 12,800 Fashion-MNIST training images for 2 epochs;
# held-out accuracy on 2,000 test images must reach 76 % for the GRU
# (measured 79.25 %) and 71 % for the RNN (measured 74.80 %), and eval of
# each checkpoint must agree. The full 3-epoch runs on all 60,000 images are
# in docs/recurrence.md.
# usage: native_gru_rnn.sh NETC SOURCE_DIR OUT_DIR
source "$(dirname "$0")/lib.bash"

check() { # MODEL THRESHOLD
  local m=$1 min=$2
  "$netc" build "$src/examples/$m.net" -o "$m" | tee "build_$m.log"
  "./$m" train --limit 12800 --validate-limit 2000 --epochs 2 --checkpoint "$m.safetensors" | tee "train_$m.log"
  local acc
  acc=$(last_accuracy "train_$m.log")
  echo "$m held-out accuracy: $acc %"
  at_least "$acc" "$min" "$m accuracy $acc % < $min %"
  "./$m" eval --checkpoint "$m.safetensors" --limit 2000 | tee "eval_$m.log"
  grep -q "accuracy $acc% (2000 examples)" "eval_$m.log" || fail "eval of the $m checkpoint disagrees with training"
}
check gru 76
check rnn 71
echo "PASS"
