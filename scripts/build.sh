#!/usr/bin/env bash
# Configures and builds Arca into ./build (Release with debug info).
# Extra arguments go to cmake, e.g. -DARCA_WERROR=ON.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -G Ninja "$@" >/dev/null
ninja -C build
