#!/usr/bin/env bash
# Installs what is missing, builds with warnings as errors, and runs every
# test (unit and integration; integration tests start real arcad processes).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh -DARCA_WERROR=ON
ctest --test-dir build --output-on-failure -j2
