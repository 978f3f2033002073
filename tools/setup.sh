#!/usr/bin/env bash
# Installs what netc needs on Debian bookworm (run as root). Idempotent: it
# only calls apt-get when a package is missing.
set -euo pipefail

packages=(
  build-essential cmake ninja-build git python3 python3-numpy
  libhalide14-0-dev llvm-14-dev llvm-14-tools
  libfmt-dev catch2 libcli11-dev nlohmann-json3-dev zlib1g-dev
  libstb-dev fortunes dataset-fashion-mnist
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
