#!/usr/bin/env bash
# Configures and builds Arca into ./build (RelWithDebInfo).
# Usage: scripts/build.sh [cmake -D options...] [-- ninja targets...]
set -euo pipefail
cd "$(dirname "$0")/.."
cmake_args=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do cmake_args+=("$1"); shift; done
[ "${1:-}" = "--" ] && shift
cmake -S . -B build -G Ninja "${cmake_args[@]}" >/dev/null
ninja -C build "$@"
