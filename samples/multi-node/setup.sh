#!/usr/bin/env bash
# Generates keys and configuration files for the multi-node samples into ./out (or $1):
#   two-node:   ingress ── egress                (HTTP on 127.0.0.1:8180 reaches the egress's backend)
#   three-node: ingress ── relay ── egress        (the relay forwards without being able to read)
# Every node pins the keys of the nodes it talks to. Run from anywhere; needs a built gateway.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
out="${1:-$here/out}"
gateway=(dotnet run -c Release --project "$repo/gateway/Fabric.Gateway" --no-launch-profile --)
mkdir -p "$out"

key() { # key <name> -> prints the public key, creating <out>/<name>.key once
  local file="$out/$1.key"
  if [ ! -f "$file" ]; then
    "${gateway[@]}" keygen --out "$file" >"$out/$1.keygen.txt"
  fi
  sed -n 's/^public key: //p' "$out/$1.keygen.txt"
}

ingress=$(key ingress); relay=$(key relay); egress=$(key egress)
# The data directory of each node is the output folder, so nothing lands in the user's home.
export XDG_DATA_HOME="$out"

node() { # node <file> <name> <fabric port> <admin port> <peers json> <pins json> <extra json>
  cat >"$out/$1" <<JSON
{
  "Logging": { "LogLevel": { "Default": "Information", "Microsoft.AspNetCore": "Warning", "Yarp": "Warning" } },
  "Gateway": { "AdminListen": "127.0.0.1:$4", "SampleBackendListen": "${SAMPLE_BACKEND:-}" },
  "Fabric": {
    "NodeName": "$2",
    "Listen": "127.0.0.1:$3",
    "Identity": { "KeyFile": "$out/$2.key" },
    "Peers": $5,
    "Trust": { "PinnedKeys": $6 },
    "Routing": { "ServeLocalInProcess": true }
  },
  $7
}
JSON
}

proxy='"Plugins": { "Settings": { "http": { "Listen": [ "127.0.0.1:8180" ], "Services": [] } } },
  "ReverseProxy": { "Routes": { "demo": { "ClusterId": "demo", "Match": { "Path": "{**catch-all}" } } },
                    "Clusters": { "demo": { "Destinations": { "fabric": { "Address": "fabric://demo" } } } } }'
backend='"Plugins": { "Settings": { "http": { "Listen": [], "Services": [ { "Name": "demo", "Backend": "http://127.0.0.1:8190" } ] } } },
  "ReverseProxy": {}'

# two-node: ingress dials egress
node two-node-ingress.json ingress 7501 8181 "[ { \"Address\": \"127.0.0.1:7503\", \"PublicKey\": \"$egress\" } ]" "[ \"$egress\" ]" "$proxy"
SAMPLE_BACKEND=127.0.0.1:8190 node two-node-egress.json egress 7503 8183 "[]" "[ \"$ingress\" ]" "$backend"

# three-node: ingress dials relay, egress dials relay
node three-node-ingress.json ingress 7501 8181 "[ { \"Address\": \"127.0.0.1:7502\", \"PublicKey\": \"$relay\" } ]" "[ \"$relay\", \"$egress\" ]" "$proxy"
node three-node-relay.json relay 7502 8182 "[]" "[ \"$ingress\", \"$egress\" ]" '"Plugins": { "Disabled": [ "http", "sample.vendor" ] }, "ReverseProxy": {}'
SAMPLE_BACKEND=127.0.0.1:8190 node three-node-egress.json egress 7503 8183 "[ { \"Address\": \"127.0.0.1:7502\", \"PublicKey\": \"$relay\" } ]" "[ \"$relay\", \"$ingress\" ]" "$backend"

echo "configurations written to $out"
