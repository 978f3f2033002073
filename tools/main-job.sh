#!/usr/bin/env bash
# The main job: install dependencies, build netc, compile examples/mlp.net and
# train it on Fashion-MNIST (Debian's dataset-fashion-mnist).
#
# Until the native trainer lands (`netc build`), training runs in netc's
# reference interpreter, which is exact but slow, so this trains on a subset:
# 10,000 training images for 2 epochs, evaluated on the full 10,000 test images.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
bash tools/build.sh
./build/netc check examples/mlp.net
./build/netc train examples/mlp.net --limit "${NETC_LIMIT:-10000}" --epochs "${NETC_EPOCHS:-2}"
