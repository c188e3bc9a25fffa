#!/usr/bin/env bash
# Installs the Debian 12 packages Arca builds and tests with. Idempotent:
# installs only what is missing. Uses sudo when not root.
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libsodium-dev libssl-dev librocksdb-dev libabsl-dev libspdlog-dev
  libgtest-dev libgmock-dev libbenchmark-dev libcli11-dev nlohmann-json3-dev
  libre2-dev
  libjemalloc-dev  # arcad's allocator
  postgresql libpq-dev  # database engine (libpq), its tests, arca-bench pg-floor
  etcd-server gnuplot-nox jq  # arca-bench: etcd baseline; bench/plot
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
    || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "installing: ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
