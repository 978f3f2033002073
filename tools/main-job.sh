#!/usr/bin/env bash
# The main job: install dependencies, build netc, compile examples/mlp.net to a
# native trainer, and train it on the full Fashion-MNIST (Debian's
# dataset-fashion-mnist) with the train block's settings: SGD lr 0.1,
# momentum 0.9, batch 64, 5 epochs, evaluated on the 10,000 test images.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
bash tools/build.sh
./build/netc check examples/mlp.net
./build/netc build examples/mlp.net -o build/mlp-trainer
./build/mlp-trainer info
./build/mlp-trainer train --checkpoint build/mlp.safetensors
./build/mlp-trainer eval --checkpoint build/mlp.safetensors
