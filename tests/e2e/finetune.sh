#!/usr/bin/env bash
# Transfer learning end to end (docs/trainer.md, "Fine-tuning"), on a subset:
# examples/finetune_base.net trains on 6,000 images of 8 Fashion-MNIST classes;
# examples/finetune.net loads its body from that checkpoint (a checkpoint of
# another model), freezes it and trains a 2-class head on 1,000 images of the
# 2 held-out classes; examples/finetune_scratch.net trains the same model from
# scratch. Checks: the loaded body is bit-identical to the base's and stays so
# through fine-tuning (frozen: no gradient, no update), the head trains, both
# reach a sane accuracy on the held-out test images of the 2 classes, and
# loading errors name the tensor and the file.
#
# It does not assert fine-tuned > scratch: over 3 seeds the two are within
# each other's spread on these classes (the measurements are in
# docs/trainer.md), so such a threshold could only be tuned to pass.
# usage: finetune.sh NETC SOURCE_DIR OUT_DIR
source "$(dirname "$0")/lib.bash"
# `tensors FILE NAME...`: one line per tensor, its name and the SHA-256 of its bytes.
tensors() { /usr/bin/python3 - "$@" <<'EOF'
import hashlib, json, struct, sys
raw = open(sys.argv[1], "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
h = json.loads(raw[8:8 + n])
for k in sys.argv[2:]:
    b, e = h[k]["data_offsets"]
    print(k, hashlib.sha256(raw[8 + n + b:8 + n + e]).hexdigest())
EOF
}

for m in finetune_base finetune finetune_scratch; do
  "$netc" build "$src/examples/$m.net" -o $m | tail -1
done
./finetune_base train --limit 6000 --epochs 1 --validate-limit 2000 | tee base.log
# The held-out set of 8 classes relabels 0..7: 2000 images checked, 8 classes present.
grep -q "6000 examples, 2000 held out" base.log || fail "classes/limit: expected 6000 examples and 2000 held out"

./finetune train --limit 1000 --epochs 2 --checkpoint finetune.safetensors | tee ft.log
grep -qF "initialised body.conv2d1.w, body.conv2d1.b, body.conv2d2.w, body.conv2d2.b from $out/finetune_base.safetensors" ft.log ||
  fail "finetune did not report loading the body from the base checkpoint"
grep -q "1000 examples, 2000 held out" ft.log || fail "expected 1000 training and 2000 held-out images of 2 classes"
body="body.conv2d1.w body.conv2d1.b body.conv2d2.w body.conv2d2.b"
[ "$(tensors finetune_base.safetensors $body)" = "$(tensors finetune.safetensors $body)" ] ||
  fail "the frozen body changed during fine-tuning (or was not loaded)"
./finetune_scratch train --limit 1000 --epochs 2 --checkpoint scratch.safetensors | tee scratch.log
[ "$(tensors scratch.safetensors $body)" != "$(tensors finetune.safetensors $body)" ] ||
  fail "scratch and fine-tuned bodies are identical"
ft=$(last_accuracy ft.log) scratch=$(last_accuracy scratch.log)
echo "held-out accuracy on T-shirt/top vs shirt: fine-tuned $ft %, scratch $scratch %"
# Measured on this subset (seed 1): fine-tuned 80.25 %, scratch 80.20 % (chance: 50 %).
at_least "$ft" 72 "fine-tuned accuracy $ft % < 72 %"
at_least "$scratch" 70 "scratch accuracy $scratch % < 70 %"

# Loading errors: the tensor, the parameter and the file are named.
# A truncated checkpoint, then a missing one.
head -c 100 finetune_base.safetensors > finetune_base.safetensors.cut && mv finetune_base.safetensors.cut finetune_base.safetensors
expect_error "finetune_base.safetensors: header length" ./finetune train --limit 10 --epochs 1 --no-checkpoint
rm finetune_base.safetensors
expect_error "the pretrained values of \`body.conv2d1.w\`" ./finetune train --limit 10 --epochs 1 --no-checkpoint
echo "PASS"
