#!/usr/bin/env bash
# A CNN over time end to end: `netc build examples/timeseries_conv1d.net`
# (conv1d, max_pool1d, mean over time), trained natively on the seeded
# synthetic waves (sine / square / sawtooth, noise 0.6; runtime/Waves.h) for
# its 10 epochs of 6,000 series; held-out accuracy on 1,000 other series
# must reach 90 % (measured 93.4 %; chance is 33 %).
# usage: native_timeseries.sh NETC SOURCE_DIR OUT_DIR
source "$(dirname "$0")/lib.bash"

"$netc" build "$src/examples/timeseries_conv1d.net" -o trainer | tee build.log
./trainer train --checkpoint ts.safetensors | tee train.log
accuracy_at_least train.log 90
./trainer eval --checkpoint ts.safetensors | tee eval.log
eval_agrees eval.log " (1000 examples)"
echo "PASS"
