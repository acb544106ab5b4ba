#!/usr/bin/python3
"""Generates the Python modules of the gRPC interop protos from Debian's grpc-proto, and imports them.

The .proto files in /usr/share/grpc-proto live under grpc/ (grpc/testing/test.proto, grpc/health/v1/health.proto), so
protoc would make a Python package named ``grpc`` that shadows grpcio's own. They are therefore copied to a tree
under another directory name (``fabric_interop_pb/``) with their ``import "grpc/..."`` lines rewritten; the proto
``package`` declarations are kept, so the wire names stay ``/grpc.testing.TestService/...`` and
``/grpc.health.v1.Health/...``. protoc (with /usr/bin/grpc_python_plugin) then writes
``fabric_interop_pb/testing/test_pb2.py``, ``..._pb2_grpc.py`` and so on into the output directory. Nothing generated
is committed: the tests generate once per run into their temporary directory (``--out``), and a script started
without ``--gen-dir`` generates into a temporary directory of its own that it removes at exit.

    /usr/bin/python3 interop_protos.py --out DIR      # generate into DIR (prints the directory)
"""

import argparse
import atexit
import importlib
import os
import re
import shutil
import subprocess
import sys
import tempfile

PROTO_ROOT = os.environ.get("GRPC_PROTO_ROOT", "/usr/share/grpc-proto")
PACKAGE = "fabric_interop_pb"
PROTOS = [
    "grpc/testing/empty.proto",
    "grpc/testing/messages.proto",
    "grpc/testing/test.proto",
    "grpc/health/v1/health.proto",
]
PROTOC = os.environ.get("PROTOC", shutil.which("protoc") or "/usr/bin/protoc")
GRPC_PLUGIN = os.environ.get("GRPC_PYTHON_PLUGIN", shutil.which("grpc_python_plugin") or "/usr/bin/grpc_python_plugin")
_COMPLETE = ".complete"


def generate(out_dir):
    """Generates the modules into out_dir (idempotent: a finished directory is left as it is)."""
    out_dir = os.path.abspath(out_dir)
    if os.path.exists(os.path.join(out_dir, _COMPLETE)):
        return out_dir
    os.makedirs(out_dir, exist_ok=True)
    src = os.path.join(out_dir, "proto-src")
    for rel in PROTOS:
        source = os.path.join(PROTO_ROOT, rel)
        if not os.path.isfile(source):
            raise SystemExit(f"interop_protos: {source} is missing (install the grpc-proto package: scripts/install-peers.sh)")
        with open(source, encoding="utf-8") as f:
            text = f.read()
        # import "grpc/testing/empty.proto";  ->  import "fabric_interop_pb/testing/empty.proto";
        text = re.sub(r'^(\s*import\s+(?:public\s+|weak\s+)?")grpc/', r"\1" + PACKAGE + "/", text, flags=re.M)
        target = os.path.join(src, PACKAGE, os.path.relpath(rel, "grpc"))
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "w", encoding="utf-8") as f:
            f.write(text)
    py = os.path.join(out_dir, "py")
    os.makedirs(py, exist_ok=True)
    files = [os.path.join(PACKAGE, os.path.relpath(rel, "grpc")) for rel in PROTOS]
    command = [
        PROTOC,
        f"--plugin=protoc-gen-grpc_python={GRPC_PLUGIN}",
        f"-I{src}",
        f"--python_out={py}",
        f"--grpc_python_out={py}",
        *files,
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit(f"interop_protos: protoc failed ({result.returncode}): {' '.join(command)}\n{result.stderr}")
    # Regular packages (not namespace packages): nothing else on sys.path can contribute modules to them.
    for dirpath, _, _ in os.walk(os.path.join(py, PACKAGE)):
        open(os.path.join(dirpath, "__init__.py"), "a", encoding="utf-8").close()
    with open(os.path.join(out_dir, _COMPLETE), "w", encoding="utf-8") as f:
        f.write("ok\n")
    return out_dir


class Protos:
    """The generated modules."""

    def __init__(self, gen_dir):
        py = os.path.join(gen_dir, "py")
        if py not in sys.path:
            sys.path.insert(0, py)
        self.empty_pb2 = importlib.import_module(f"{PACKAGE}.testing.empty_pb2")
        self.messages_pb2 = importlib.import_module(f"{PACKAGE}.testing.messages_pb2")
        self.test_pb2 = importlib.import_module(f"{PACKAGE}.testing.test_pb2")
        self.test_pb2_grpc = importlib.import_module(f"{PACKAGE}.testing.test_pb2_grpc")
        self.health_pb2 = importlib.import_module(f"{PACKAGE}.health.v1.health_pb2")
        self.health_pb2_grpc = importlib.import_module(f"{PACKAGE}.health.v1.health_pb2_grpc")
        service = self.test_pb2.DESCRIPTOR.services_by_name["TestService"].full_name
        if service != "grpc.testing.TestService":
            raise SystemExit(f"interop_protos: unexpected service name {service}")


def load(gen_dir=None):
    """Imports the modules from gen_dir, generating them first if needed (into a private temp dir when None)."""
    if gen_dir is None:
        gen_dir = tempfile.mkdtemp(prefix="grpc-interop-gen-")
        atexit.register(shutil.rmtree, gen_dir, True)
    generate(gen_dir)
    return Protos(gen_dir)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, help="directory to generate into")
    args = parser.parse_args()
    out = generate(args.out)
    Protos(out)  # proves the modules import
    print(out, flush=True)


if __name__ == "__main__":
    main()
