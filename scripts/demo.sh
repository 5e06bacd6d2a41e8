#!/usr/bin/env bash
# The main job of clusteraccess, end to end, on a fresh machine:
#   1. install everything and build the Python package;
#   2. from the command line: register an attached cluster, grant a token,
#      download its agent manifest once, then ask again and get ["Downloaded"];
#   3. set up a demo registry in ./demo (if there is none), print curl commands
#      and serve GET /v1/clusters/{clusterid}/accessinfo on localhost.
# PORT (default 8080) picks the port; DEMO_RESET=1 starts ./demo afresh.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/bootstrap.sh
scripts/build.sh python
export PATH="$PWD/.venv/bin:$PATH"
port="${PORT:-8080}"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "1. The main job from the command line"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
db="$work/registry.db"
# Commands are shown before they run (not with set -x, which would print the
# token as it is assigned); the token goes through a 0600 file, never an argument.
run() { printf '$ %s\n' "$*"; "$@"; }
run clusteraccess --db "$db" init --public-endpoint proxy.example.com:30123
cid="$(clusteraccess --db "$db" cluster register onboarding-demo --provider eks --network public)"
printf '$ clusteraccess --db %s cluster register onboarding-demo ...   -> %s\n' "$db" "$cid"
(umask 077; clusteraccess --db "$db" token create alice --ttl 3600 > "$work/token")
printf '$ clusteraccess --db %s token create alice --ttl 3600 > %s   (0600, not shown)\n' "$db" "$work/token"
run clusteraccess --db "$db" grant alice "$cid"
run clusteraccess --db "$db" accessinfo "$cid" --token-file "$work/token" -o "$work/proxy-agent.yaml"
ls -l "$work/proxy-agent.yaml"
grep -E '^(kind|  name):' "$work/proxy-agent.yaml"
step "   ... and again: the key is handed out once only"
run clusteraccess --db "$db" accessinfo "$cid" --token-file "$work/token"
clusteraccess --db "$db" downloads

step "2. The HTTP service"
if [ "${DEMO_RESET:-0}" = 1 ]; then rm -rf demo; fi
mkdir -p demo
demo_db="demo/registry.db"
if [ ! -f demo/token ]; then
  rm -f "$demo_db" "$demo_db-wal" "$demo_db-shm"
  clusteraccess --db "$demo_db" init --public-endpoint proxy.example.com:30123 \
    --region eu-de=proxy.eu-de.example.com:30124
  public_id="$(clusteraccess --db "$demo_db" cluster register web-public --provider eks --network public)"
  private_id="$(clusteraccess --db "$demo_db" cluster register web-private --provider aks --network private)"
  cce_id="$(clusteraccess --db "$demo_db" cluster register core-cce --provider cce --category self)"
  demo_token="$(clusteraccess --db "$demo_db" token create demo-user --ttl 604800)"
  for id in "$public_id" "$private_id" "$cce_id"; do clusteraccess --db "$demo_db" grant demo-user "$id"; done
  (umask 077; printf '%s\n' "$demo_token" > demo/token)
  printf 'public=%s\nprivate=%s\ncce=%s\n' "$public_id" "$private_id" "$cce_id" > demo/clusters
fi
. demo/clusters
base="http://127.0.0.1:$port/v1/clusters"
cat <<CURL
Demo registry: $demo_db (DEMO_RESET=1 starts afresh). Paste these into another terminal:

  # 200: the manifest of the public cluster (first call only), then 200 ["Downloaded"]
  curl -s -H "X-Auth-Token: \$(cat demo/token)" $base/$public/accessinfo
  curl -s -H "X-Auth-Token: \$(cat demo/token)" $base/$public/accessinfo

  # 200: the private cluster's manifest, through a VPC endpoint in region eu-de
  curl -s -H "X-Auth-Token: \$(cat demo/token)" '$base/$private/accessinfo?vpcendpoint=192.168.0.10&region=eu-de'

  # 400: not a Kubernetes UUID; a CCE cluster; a private cluster without vpcendpoint
  curl -s -H "X-Auth-Token: \$(cat demo/token)" $base/NOT-A-UUID/accessinfo
  curl -s -H "X-Auth-Token: \$(cat demo/token)" $base/$cce/accessinfo
  curl -s -H "X-Auth-Token: \$(cat demo/token)" '$base/$private/accessinfo?region=eu-de'

  # 403: no token; a cluster that does not exist (same body as "not allowed")
  curl -s $base/$public/accessinfo
  curl -s -H "X-Auth-Token: \$(cat demo/token)" $base/00000000-0000-0000-0000-000000000000/accessinfo

  # the OpenAPI description
  curl -s http://127.0.0.1:$port/openapi.json

CURL
rm -rf "$work"
trap - EXIT
step "Serving on http://127.0.0.1:$port (Ctrl-C stops)"
exec clusteraccess --db "$demo_db" serve --host 127.0.0.1 --port "$port"
