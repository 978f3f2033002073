#!/usr/bin/env bash
# CNNs end to end: `netc build examples/cnn.net` (conv2d, max pooling and
# their gradients through Halide), then the native trainer trains on 12,000
# Fashion-MNIST images for 2 epochs to >= 82 % held-out accuracy on the full
# test set (83.7 % measured with Adam; the full 60,000 x 2 epochs run reaches 88.4 %).
# usage: native_cnn.sh NETC SOURCE_DIR OUT_DIR
set -euo pipefail
netc=$1 src=$2 out=$3
rm -rf "$out" && mkdir -p "$out" && cd "$out"
export NETC_CACHE_DIR=$out/cache
fail() { echo "FAIL: $*"; exit 1; }

"$netc" build "$src/examples/cnn.net" -o trainer | tee build.log
./trainer train --limit 12000 --epochs 2 --checkpoint cnn.safetensors | tee train.log
acc=$(sed -n 's/.*accuracy \([0-9.]*\)%.*/\1/p' train.log | tail -1)
echo "held-out accuracy: $acc %"
awk -v a="$acc" 'BEGIN { exit !(a >= 82) }' || fail "accuracy $acc % < 82 %"
./trainer eval --checkpoint cnn.safetensors | tee eval.log
grep -q "accuracy $acc%" eval.log || fail "eval of the checkpoint disagrees with training"
echo "PASS"
