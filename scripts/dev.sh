#!/usr/bin/env bash
# Installs what is missing, builds, starts `arcad --dev` (RocksDB in
# ./arca-data, one unseal share, plaintext on 127.0.0.1:8200, which dev mode
# allows on loopback only; the CLI speaks plaintext to loopback addresses
# when no --ca-cert is given) and runs a short demo with the arca CLI: seal,
# unseal, put and get a secret, encrypt and decrypt with a transit key,
# tokenize a card number. arcad keeps running in the foreground afterwards;
# Ctrl-C stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh -DARCA_WERROR=ON -- arcad arca

export ARCA_ADDR=127.0.0.1:8200
arca=build/cli/arca
# Owner only: it holds the dev unseal key and root token (arcad warns on
# anything wider). An arca-data that earlier runs of this script made with
# mkdir's default 755 (dev-root-token marks it as ours) is tightened too.
if [ ! -e arca-data ]; then
  mkdir -m 700 arca-data
elif [ -f arca-data/dev-root-token ]; then
  chmod 700 arca-data
fi
# arcad --dev prints the unseal key and root token on stdout once, at first
# start; keep that out of any file that outlives this script.
log=$(mktemp)
build/server/arcad --dev --data-dir arca-data --listen "$ARCA_ADDR" >"$log" &
arcad_pid=$!
stop() { kill $arcad_pid 2>/dev/null; wait $arcad_pid 2>/dev/null || true; }
trap 'rm -f "$log"; stop' EXIT
# Ctrl-C is the documented way to stop: a clean exit, not an error.
trap 'echo; echo "stopping arcad"; exit 0' INT TERM

for _ in $(seq 100); do
  "$arca" operator status >/dev/null 2>&1 && break
  kill -0 $arcad_pid 2>/dev/null || { cat "$log"; exit 1; }
  sleep 0.1
done

if grep -q '^Root Token:' "$log"; then
  cat "$log"
  ARCA_TOKEN=$(sed -n 's/^Root Token: //p' "$log")
  (umask 077; echo "$ARCA_TOKEN" >arca-data/dev-root-token)
fi
rm -f "$log"
export ARCA_TOKEN=${ARCA_TOKEN:-$(cat arca-data/dev-root-token)}

step() { printf '\n$ %s\n' "$*"; }
step arca operator status;  "$arca" operator status
step arca operator seal;    "$arca" operator seal
step arca operator status;  "$arca" operator status || true
step "arca operator unseal < arca-data/dev-unseal-key"
"$arca" operator unseal <arca-data/dev-unseal-key
step arca kv put demo/db username=app password=-   "(password from stdin)"
printf 's3cr3t-%s' "$RANDOM" | "$arca" kv put demo/db username=app password=-
step arca kv get demo/db;   "$arca" kv get demo/db
step arca kv get demo/db --field username; "$arca" kv get demo/db --field username
step arca kv metadata get demo/db; "$arca" kv metadata get demo/db
step "printf 'IBAN DE89 3704 0044 0532 0130 00' | arca transit encrypt loans" "(creates the key if missing)"
ct=$(printf 'IBAN DE89 3704 0044 0532 0130 00' | "$arca" transit encrypt loans)
echo "$ct"
step 'arca transit decrypt loans <<< "$ciphertext"'
printf '%s' "$ct" | "$arca" transit decrypt loans; echo
"$arca" tokenize transformation show demo-pan >/dev/null 2>&1 || {
  "$arca" tokenize transformation create demo-pan --type fpe --template pan \
      --luhn invalidate >/dev/null
  "$arca" tokenize role create payments --transformation demo-pan >/dev/null
}
step "echo 4111111111111111 | arca tokenize encode payments --transformation demo-pan"
tok=$(echo 4111111111111111 | "$arca" tokenize encode payments --transformation demo-pan)
echo "$tok"
step "echo $tok | arca tokenize decode payments --transformation demo-pan"
echo "$tok" | "$arca" tokenize decode payments --transformation demo-pan

echo
echo "arcad is running on $ARCA_ADDR (pid $arcad_pid, data in ./arca-data)."
echo "In another shell: export ARCA_ADDR=$ARCA_ADDR ARCA_TOKEN=\$(cat arca-data/dev-root-token)"
echo "Ctrl-C stops it."
wait $arcad_pid || true
