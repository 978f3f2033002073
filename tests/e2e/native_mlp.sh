#!/usr/bin/env bash
# The back half end to end: `netc build examples/mlp.net` (cold, then cached),
# the trainer needs no Halide or LLVM library, trains on 12,000 Fashion-MNIST
# images for 2 epochs to >= 78 % held-out accuracy on the full test set, and
# a run stopped mid-epoch and resumed ends with the same parameters, bit for
# bit, as an uninterrupted run. Bad data gets a located error.
# usage: native_mlp.sh NETC SOURCE_DIR OUT_DIR
source "$(dirname "$0")/lib.bash"

"$netc" build "$src/examples/mlp.net" -o trainer | tee build1.log
grep -q ', 0 cached' build1.log || fail "the first build should compile every kernel"
"$netc" build "$src/examples/mlp.net" -o trainer | tee build2.log
grep -q '(0 compiled' build2.log || fail "the second build should come from the cache"

ldd ./trainer | tee ldd.log
if grep -Eiq 'halide|llvm' ldd.log; then fail "the trainer links Halide or LLVM"; fi

./trainer train --limit 12000 --epochs 2 --checkpoint full.safetensors | tee train.log
accuracy_at_least train.log 78

# Stop after 250 steps (inside epoch 2 of 188 steps each), then resume.
./trainer train --limit 12000 --epochs 2 --max-steps 250 --checkpoint part.safetensors -q
./trainer train --limit 12000 --epochs 2 --resume part.safetensors --checkpoint resumed.safetensors -q
/usr/bin/python3 "$src/tests/e2e/same_tensors.py" full.safetensors resumed.safetensors ||
  fail "resumed parameters differ from the uninterrupted run"

# A corrupt data file: a precise error and exit status 1, never a crash.
head -c 1000 /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz > bad.gz
set +e
./trainer train --data bad.gz /usr/share/datasets/fashion-mnist/train-labels-idx1-ubyte.gz 2> bad.err
rc=$?
set -e
cat bad.err
[[ $rc == 1 ]] || fail "corrupt data: exit status $rc, expected 1"
grep -q 'bad.gz' bad.err || fail "the error does not name the file"
echo "PASS"
