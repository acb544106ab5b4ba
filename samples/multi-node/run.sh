#!/usr/bin/env bash
# Runs the two- or three-node sample as separate gateway processes; Ctrl+C stops them all.
#   ./run.sh two-node      ./run.sh three-node
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
shape="${1:-three-node}"
out="$here/out"
[ -f "$out/$shape-ingress.json" ] || "$here/setup.sh" "$out"
dotnet build -c Release "$repo/gateway/Fabric.Gateway" -nologo -clp:ErrorsOnly
dll=$(find "$repo/gateway/Fabric.Gateway/bin/Release" -name Fabric.Gateway.dll | head -1)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; wait' EXIT INT TERM
for role in egress relay ingress; do
  config="$out/$shape-$role.json"
  [ -f "$config" ] || continue
  dotnet "$dll" --Gateway:ConfigFile="$config" >"$out/$shape-$role.log" 2>&1 &
  pids+=($!)
  echo "started $role (log: $out/$shape-$role.log)"
done
echo "try: curl http://127.0.0.1:8180/     admin: curl http://127.0.0.1:8181/services"
wait
