#!/usr/bin/env bash
# A recurrent net end to end: `netc build examples/lstm.net` (an lstm(128)
# layer, a scan that the driver runs as one loop over 28 time steps, and its
# reversed gradient loop), trained natively on the first 12,800 Fashion-MNIST
# training images (rows as time steps) for 2 epochs; held-out accuracy on
# 2,000 test images must reach 78 % (measured 81.0 %; the full 3-epoch run
# on all 60,000 images gives 85.8 %, PyTorch 85.8 %), the checkpoint must
# evaluate to the same figure, a run stopped after 150 steps and resumed
# must end with the same parameters, bit for bit, and so must a short run on
# one thread and on two.
# usage: native_lstm.sh NETC SOURCE_DIR OUT_DIR
source "$(dirname "$0")/lib.bash"

"$netc" build "$src/examples/lstm.net" -o trainer | tee build.log
run=(--limit 12800 --validate-limit 2000)
./trainer train "${run[@]}" --epochs 2 --checkpoint lstm.safetensors | tee train.log
accuracy_at_least train.log 78
./trainer eval --checkpoint lstm.safetensors --limit 2000 | tee eval.log
eval_agrees eval.log " (2000 examples)"

./trainer train "${run[@]}" --epochs 2 --checkpoint part.safetensors --max-steps 150 > part.log
./trainer train "${run[@]}" --epochs 2 --resume part.safetensors --checkpoint resumed.safetensors -q
/usr/bin/python3 "$src/tests/e2e/same_tensors.py" lstm.safetensors resumed.safetensors ||
  fail "resumed parameters differ from the uninterrupted run"

# One thread (the kernels' parallel loops run serially, runtime/trainer/Cli.cpp)
# and two give the same bits: parallel loops split only independent outputs,
# and sums split over chunks add them in a fixed order.
short=(--limit 640 --validate-limit 100 --epochs 1)
./trainer train "${short[@]}" --threads 1 --checkpoint t1.safetensors -q
./trainer train "${short[@]}" --threads 2 --checkpoint t2.safetensors -q
/usr/bin/python3 "$src/tests/e2e/same_tensors.py" t1.safetensors t2.safetensors ||
  fail "parameters after --threads 1 and --threads 2 differ"
echo "PASS"
