#!/usr/bin/env bash
# The LSTM side of lecture 002's time-series comparison end to end:
# `netc build examples/timeseries_lstm.net` (an lstm(64) over 128 samples,
# clip_norm 1, a cosine schedule), trained natively for its 10 epochs on the
# seeded synthetic waves that tests/e2e/native_timeseries.sh gives the 1-D
# CNN; held-out accuracy on the 1,000 other series must reach 88 % (measured
# 90.9 %; the CNN reaches 93.4 %).
# usage: native_timeseries_lstm.sh NETC SOURCE_DIR OUT_DIR
source "$(dirname "$0")/lib.bash"

"$netc" build "$src/examples/timeseries_lstm.net" -o trainer | tee build.log
./trainer train --checkpoint ts.safetensors | tee train.log
accuracy_at_least train.log 88
echo "PASS"
