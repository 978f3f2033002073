#!/usr/bin/env bash
# CNNs end to end: `netc build examples/cnn.net` (conv2d, max pooling and
# their gradients through Halide), then the native trainer trains on 12,000
# Fashion-MNIST images for 2 epochs to >= 82 % held-out accuracy on the full
# test set (83.7 % measured with Adam; the full 60,000 x 2 epochs run reaches 88.4 %).
# Then the pictures of that checkpoint (docs/trainer.md, "Seeing inside the
# net"): saliency over 300 held-out images must put clearly more |gradient|
# on object pixels (input != 0) than their share of the area; the first conv
# layer's filter grid, an activation grid and a top-k grid are PNGs that read
# back with the expected sizes; bad names and indices get precise errors.
# usage: native_cnn.sh NETC SOURCE_DIR OUT_DIR
source "$(dirname "$0")/lib.bash"

"$netc" build "$src/examples/cnn.net" -o trainer | tee build.log
./trainer train --limit 12000 --epochs 2 --checkpoint cnn.safetensors | tee train.log
accuracy_at_least train.log 82
./trainer eval --checkpoint cnn.safetensors | tee eval.log
eval_agrees eval.log

# Saliency mass. Measured on this checkpoint: 55.6 % of |gradient| on
# 49.9 % of the pixels, 270 of 300 images above their area share (55.4 % vs
# 50.0 %, 86 % of images, over all 10,000); thresholds leave ~2 points.
./trainer saliency --checkpoint cnn.safetensors --count 300 --stats -o saliency.png | tee saliency.log
mass=$(sed -n 's/.*object pixels (input != 0): \([0-9.]*\) %.*/\1/p' saliency.log)
area=$(sed -n 's/.*object area: \([0-9.]*\) %.*/\1/p' saliency.log)
above=$(sed -n 's/.* \([0-9]*\) with mass share > area share.*/\1/p' saliency.log)
echo "saliency mass on object pixels: $mass %, object area: $area %, images above: $above / 300"
awk -v m="$mass" -v a="$area" 'BEGIN { exit !(m >= a + 3) }' || fail "saliency mass $mass % is not clearly above the area $area %"
[ "$above" -ge 225 ] || fail "only $above of 300 images put more saliency on the object than its area"

png() { /usr/bin/python3 "$src/tests/e2e/png_info.py" "$1"; }
expect_png() { # FILE "W H C"
  local got; got=$(png "$1") || fail "$1 is not a valid PNG"
  [ "$got" = "$2" ] || fail "$1 is $got (width height channels), expected $2"
}
# 32 rows of input | heat (112 px each, RGB) in one column.
expect_png saliency.png "234 3778 3"
# 32 first-layer filters, 3x3 upscaled x8, 8 per row.
./trainer filters --checkpoint cnn.safetensors --layer h.conv2d -o filters.png | tee filters.log
expect_png filters.png "210 106 1"
# Input (112 px) | 32 feature maps of h, 13x13 upscaled x4, 8 per row.
./trainer activations --checkpoint cnn.safetensors --value h --index 0 -o activations.png | tee act.log
expect_png activations.png "552 222 1"
./trainer topk --checkpoint cnn.safetensors --value h2 --unit 5 --k 16 -o topk.png | tee topk.log
expect_png topk.png "466 118 1"
[ "$(grep -c '^ *[0-9]* *[0-9]* *[0-9.-]* *[0-9]$' topk.log)" = 16 ] || fail "topk did not list 16 examples"

# Errors: the valid names, a did-you-mean, the range.
expect_error 'unknown named value `hh`; the named values are: h, h2, logits, prob; did you mean `h`?' \
  ./trainer activations --checkpoint cnn.safetensors --value hh -o x.png
expect_error 'unknown layer or parameter `h.conv2`; the conv2d kernels are: h.conv2d.w, h2.conv2d.w; did you mean `h.conv2d`?' \
  ./trainer filters --checkpoint cnn.safetensors --layer h.conv2 -o x.png
expect_error '`logits.dense.w` is f32[1600, 10], not a conv2d kernel' \
  ./trainer filters --checkpoint cnn.safetensors --layer logits.dense.w -o x.png
expect_error '--index 10000 is out of range' ./trainer activations --checkpoint cnn.safetensors --value h --index 10000 -o x.png
expect_error '--unit 64 is out of range: `h2` is f32[N, 5, 5, 64], so units (its last axis) are 0..63' \
  ./trainer topk --checkpoint cnn.safetensors --value h2 --unit 64 -o x.png
expect_error '--class 10 is out of range: the score has 10 classes (0..9)' \
  ./trainer saliency --checkpoint cnn.safetensors --class 10 -o x.png
echo "PASS"
