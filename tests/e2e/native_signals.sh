#!/usr/bin/env bash
# A real trainer under a real signal: SIGINT while `train` runs finishes the
# step, saves a checkpoint, says where it stopped and exits 130; resuming
# from it ends bit-identical to an uninterrupted run. --metrics writes JSON
# lines (per epoch and per --log-every steps) that parse; eval prints a
# confusion matrix.
# usage: native_signals.sh NETC SOURCE_DIR OUT_DIR
source "$(dirname "$0")/lib.bash"

"$netc" build "$src/examples/mlp.net" -o trainer > build.log
args=(--limit 12000 --epochs 3 --validate-limit 1000)
./trainer train "${args[@]}" --checkpoint full.safetensors -q

# Wait for a logged step, then interrupt.
./trainer train "${args[@]}" --checkpoint part.safetensors --metrics m.jsonl --log-every 10 \
  > part.out 2> part.err &
pid=$!
for _ in $(seq 600); do
  grep -q '"step":' m.jsonl 2> /dev/null && break
  sleep 0.05
done
kill -INT "$pid"
set +e
wait "$pid"
rc=$?
set -e
cat part.err
[[ $rc == 130 ]] || fail "SIGINT: exit status $rc, expected 130"
grep -q 'interrupted by SIGINT at epoch .*; saved part.safetensors; continue with --resume part.safetensors' part.err ||
  fail "no 'interrupted by SIGINT ...' line"

./trainer train "${args[@]}" --resume part.safetensors --checkpoint part.safetensors -q
/usr/bin/python3 "$src/tests/e2e/same_tensors.py" full.safetensors part.safetensors ||
  fail "resumed parameters differ from the uninterrupted run"
/usr/bin/python3 - <<'PY' || fail "bad metrics lines"
import json
lines = [json.loads(l) for l in open("m.jsonl")]
steps = [l for l in lines if "loss" in l]
assert steps and all(l["step"] % 10 == 0 for l in steps), lines
PY

./trainer eval --checkpoint full.safetensors --limit 500 | tee eval.log
grep -q 'confusion matrix (rows: true class, columns: predicted):' eval.log || fail "eval printed no confusion matrix"
[[ $(grep -cE '^ +[0-9]+ .*%$' eval.log) == 10 ]] || fail "the confusion matrix should have 10 rows"
echo "PASS"
