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
  accuracy_at_least "train_$m.log" "$min" "$m"
  "./$m" eval --checkpoint "$m.safetensors" --limit 2000 | tee "eval_$m.log"
  eval_agrees "eval_$m.log" " (2000 examples)" "$m"
}
check gru 76
check rnn 71
echo "PASS"
