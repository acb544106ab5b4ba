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

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "installing test peers: ${missing[*]}"
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
