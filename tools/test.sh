#!/usr/bin/env bash
# The whole test suite: install dependencies, build, run every test through ctest
# (Catch2 unit tests, lit+FileCheck goldens, end-to-end runs).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
bash tools/build.sh
ctest --test-dir build --output-on-failure -j2
