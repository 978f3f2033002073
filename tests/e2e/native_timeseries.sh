#!/usr/bin/env bash
# A CNN over time end to end: `netc build examples/timeseries_conv1d.net`
# (conv1d, max_pool1d, mean over time), trained natively on the seeded
# synthetic waves (sine / square / sawtooth, noise 0.6; runtime/Waves.h) for
# its 10 epochs of 6,000 series; held-out accuracy on 1,000 other series
# must reach 90 % (measured 93.4 %; chance is 33 %).
# usage: native_timeseries.sh NETC SOURCE_DIR OUT_DIR
set -euo pipefail
netc=$1 src=$2 out=$3
rm -rf "$out" && mkdir -p "$out" && cd "$out"
export NETC_CACHE_DIR=$out/cache
fail() { echo "FAIL: $*"; exit 1; }

"$netc" build "$src/examples/timeseries_conv1d.net" -o trainer | tee build.log
./trainer train --checkpoint ts.safetensors | tee train.log
acc=$(sed -n 's/.*accuracy \([0-9.]*\)%.*/\1/p' train.log | tail -1)
echo "held-out accuracy: $acc %"
awk -v a="$acc" 'BEGIN { exit !(a >= 90) }' || fail "accuracy $acc % < 90 %"
./trainer eval --checkpoint ts.safetensors | tee eval.log
grep -q "accuracy $acc% (1000 examples)" eval.log || fail "eval of the checkpoint disagrees with training"
echo "PASS"
