#!/usr/bin/env bash
# Installs the Debian packages the interop tests run against (../../shared/PEERS.md), only those missing.
# Each entry: "<command or path that proves it is installed> <debian package>".
set -euo pipefail
peers=(
  "curl curl"
  "/usr/lib/python3/dist-packages/cryptography python3-cryptography"
  "/usr/lib/python3/dist-packages/websockets python3-websockets"
  "wrk wrk"
  "h2load nghttp2-client"
  "/usr/sbin/nginx nginx-light"
  "stunnel4 stunnel4"
  "/usr/lib/python3/dist-packages/grpc python3-grpcio"
  "/usr/lib/python3/dist-packages/google/protobuf python3-protobuf"
  "/usr/share/grpc-proto/grpc/testing/test.proto grpc-proto"
  "protoc protobuf-compiler"
  "grpc_python_plugin protobuf-compiler-grpc"
)

missing=()
for entry in "${peers[@]}"; do
  probe=${entry%% *}
  package=${entry##* }
  if ! command -v "$probe" >/dev/null 2>&1 && [ ! -e "$probe" ]; then
    missing+=("$package")
  fi
done

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
updated=""
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing test peers: ${missing[*]}"
  $sudo apt-get update -qq
  updated=1
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Prometheus (the /metrics tests' peer: promtool and the server) is unpacked, not installed: the package would start
# a system service listening on all addresses. Its binaries land in $FABRIC_PEERS_DIR/prometheus/usr/bin.
peers_dir="${FABRIC_PEERS_DIR:-$HOME/.cache/fabric-gateway/peers}"
if [ ! -x "$peers_dir/prometheus/usr/bin/promtool" ] || [ ! -x "$peers_dir/prometheus/usr/bin/prometheus" ]; then
  echo "unpacking test peer: prometheus (into $peers_dir/prometheus)"
  if [ -z "$updated" ]; then
    $sudo apt-get update -qq
  fi
  download=$(mktemp -d)
  chmod 777 "$download" # apt's download sandbox user must be able to write there
  (cd "$download" && apt-get download -qq prometheus)
  rm -rf "$peers_dir/prometheus"
  mkdir -p "$peers_dir/prometheus"
  dpkg-deb -x "$download"/prometheus_*.deb "$peers_dir/prometheus"
  rm -rf "$download"
  "$peers_dir/prometheus/usr/bin/promtool" --version >/dev/null # it runs here
fi
