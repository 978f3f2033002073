#!/usr/bin/env bash
# The character-level LSTM language model end to end: `netc build
# examples/charlm.net` (embedding, lstm(256) returning all 64 states, a
# kernel-1 conv1d per position), trained natively on the `fortunes` corpus
# for 150 steps of batch 32; eval must put the held-out cross-entropy below
# 0.88 of the unigram baseline (measured 0.80 after 150 steps: 2.63 vs 3.30
# nats/char; the full 2 epochs reach the figure in docs/recurrence.md), and
# `sample` must generate from the checkpoint through the compiled scan.
# Needs the Debian package `fortunes` (tools/setup.sh installs it).
# usage: native_charlm_lstm.sh NETC SOURCE_DIR OUT_DIR
source "$(dirname "$0")/lib.bash"

"$netc" build "$src/examples/charlm.net" -o trainer | tee build.log
./trainer train --max-steps 150 --checkpoint lm.safetensors | tee train.log
./trainer eval --checkpoint lm.safetensors | tee eval.log
ratio=$(sed -n 's/.*: \([0-9.]*\) of the baseline/\1/p' eval.log)
echo "held-out cross-entropy / unigram baseline: $ratio"
awk -v r="$ratio" 'BEGIN { exit !(r > 0 && r < 0.88) }' || fail "cross-entropy is $ratio of the unigram baseline, not < 0.88"

./trainer sample --checkpoint lm.safetensors --length 120 --temperature 0.8 --seed 1 --prime "The " > sample.txt
cat sample.txt
head -c 4 sample.txt | grep -q "^The " || fail "the sample does not start with the prime"
[ "$(wc -c < sample.txt)" -ge 100 ] || fail "the sample is too short"
echo "PASS"
