#!/usr/bin/env bash
# Text end to end: `netc build examples/charmlp.net` (embedding, causal
# conv1d, cross-entropy per position), the native trainer reads the
# `fortunes` corpus through text(...), trains 200 steps of batch 32, and eval
# must put the held-out cross-entropy clearly below the unigram baseline:
# measured 0.69 of it after 300 steps (2.29 vs 3.30 nats/char), 0.58 after
# the full 2 epochs (1.92 nats/char, 2.77 bits); the threshold is 0.85.
# Then `sample` writes text from the checkpoint and its vocabulary file.
# Needs the Debian package `fortunes` (tools/ setup installs it).
# usage: native_charlm.sh NETC SOURCE_DIR OUT_DIR
source "$(dirname "$0")/lib.bash"

"$netc" build "$src/examples/charmlp.net" -o trainer | tee build.log
./trainer train --max-steps 200 --checkpoint lm.safetensors | tee train.log
[ -f lm.vocab.json ] || fail "no vocabulary next to the checkpoint"
./trainer eval --checkpoint lm.safetensors | tee eval.log
ratio=$(sed -n 's/.*: \([0-9.]*\) of the baseline/\1/p' eval.log)
echo "held-out cross-entropy / unigram baseline: $ratio"
awk -v r="$ratio" 'BEGIN { exit !(r > 0 && r < 0.85) }' || fail "cross-entropy is $ratio of the unigram baseline, not < 0.85"
grep -q "nats/char" eval.log || fail "eval does not state its unit"

./trainer sample --checkpoint lm.safetensors --length 120 --temperature 0.8 --seed 1 --prime "The " > sample.txt
cat sample.txt
head -c 4 sample.txt | grep -q "^The " || fail "the sample does not start with the prime"
[ "$(wc -c < sample.txt)" -ge 100 ] || fail "the sample is too short"
./trainer sample --checkpoint lm.safetensors --length 120 --temperature 0.8 --seed 1 --prime "The " > again.txt
cmp -s sample.txt again.txt || fail "the same seed gave another sample"

cp lm.safetensors other.safetensors
expect_error "other.vocab.json: no vocabulary file; training on text(...) data writes it next to the checkpoint" \
  ./trainer sample --checkpoint other.safetensors
expect_error "temperature" ./trainer sample --checkpoint lm.safetensors --temperature 0
echo "PASS"
