#!/usr/bin/python3
"""gRPC interop server (grpc.aio) for the gateway tests: grpc.testing.TestService and grpc.health.v1.Health.

TestService follows the server side of the official interop spec
(https://github.com/grpc/grpc/blob/master/doc/interop-test-descriptions.md): EmptyCall, UnaryCall (response_size,
payload, response_status, echo metadata), StreamingOutputCall, StreamingInputCall, FullDuplexCall and HalfDuplexCall
(response_parameters with interval_us, response_status); UnimplementedCall is deliberately left out, so it answers
UNIMPLEMENTED.

Additions for the gateway tests:
  * every call's initial metadata (and its trailers) carry ``x-served-by: <replica id>``;
  * initial metadata also carry ``x-received-grpc-timeout: <ms>``: the time remaining when the call arrived (what its
    grpc-timeout header said, less transit; gRPC's own encoding rounds it up a little), or ``none`` without a
    deadline. A call with the request header ``x-grpc-test-report-timeout`` gets its initial metadata at once (so the
    value reaches a client whose call then times out), and the value is appended to ``--timeout-log`` when given;
  * initial metadata otherwise go with the first message, so an error status with nothing sent yet goes out as a
    Trailers-Only response (the served-by id in its trailers), as from any gRPC server;
  * health: Check and Watch, per service ("" and grpc.testing.TestService are known, SERVING at start); SIGUSR1 toggles
    SERVING/NOT_SERVING, and ``--control-file`` is polled every 100 ms: its first word (SERVING or NOT_SERVING) sets
    every known service, or lines ``<service> <STATUS>`` set single ones ("-" names the empty service);
  * one line ``READY {"port": P, "replica": ID, "pid": PID}`` on stdout once it listens.
"""

import argparse
import asyncio
import json
import os
import signal
import sys
import time

import grpc

sys.dont_write_bytecode = True  # no __pycache__ in the repository
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import interop_protos  # noqa: E402

MAX_MESSAGE = 64 * 1024 * 1024
CODES = {c.value[0]: c for c in grpc.StatusCode}
ECHO_INITIAL = "x-grpc-test-echo-initial"
ECHO_TRAILING = "x-grpc-test-echo-trailing-bin"
REPORT_TIMEOUT = "x-grpc-test-report-timeout"
TEST_SERVICE = "grpc.testing.TestService"


class CallState:
    """Per-call metadata handling: what to send first, what to send last."""

    def __init__(self, server, context):
        self.server = server
        self.context = context
        self.sent_initial = False
        received = context.invocation_metadata() or ()
        self.echo_initial = [(k, v) for k, v in received if k == ECHO_INITIAL]
        self.echo_trailing = [(k, v) for k, v in received if k == ECHO_TRAILING]
        self.report_timeout = any(k == REPORT_TIMEOUT for k, _ in received)
        remaining = context.time_remaining()
        self.timeout_ms = None if remaining is None else max(0, int(remaining * 1000))

    def initial(self):
        md = [("x-served-by", self.server.replica)]
        md.extend(self.echo_initial)
        md.append(("x-received-grpc-timeout", "none" if self.timeout_ms is None else str(self.timeout_ms)))
        return tuple(md)

    def trailing(self):
        return tuple([("x-served-by", self.server.replica)] + self.echo_trailing)

    async def start(self, method):
        """At call start: when asked to report the timeout or to echo metadata the headers go at once; else with the
        first message (or in a Trailers-Only response)."""
        if self.report_timeout:
            self.server.log_timeout(method, self.timeout_ms)
        if self.report_timeout or self.echo_initial:
            await self.send_initial()

    async def send_initial(self):
        if not self.sent_initial:
            self.sent_initial = True
            await self.context.send_initial_metadata(self.initial())

    async def write(self, message):
        await self.send_initial()
        await self.context.write(message)

    async def finish(self):
        """OK: headers (if not sent yet) then trailers."""
        await self.send_initial()
        self.context.set_trailing_metadata(self.trailing())

    async def fail(self, echo_status):
        """The requested status; Trailers-Only when nothing was sent yet."""
        code = CODES.get(echo_status.code, grpc.StatusCode.UNKNOWN)
        await self.context.abort(code, echo_status.message, self.trailing())


def zeros(size):
    return b"\0" * size


class TestService:
    def __init__(self, server, pb):
        self.server = server
        self.pb = pb
        self.m = pb.messages_pb2

    def _payload(self, size):
        return self.m.Payload(type=self.m.COMPRESSABLE, body=zeros(size))

    async def EmptyCall(self, request, context):
        call = CallState(self.server, context)
        await call.start("EmptyCall")
        await call.finish()
        return self.pb.empty_pb2.Empty()

    async def UnaryCall(self, request, context):
        call = CallState(self.server, context)
        await call.start("UnaryCall")
        if request.HasField("response_status") and request.response_status.code != 0:
            await call.fail(request.response_status)
        if request.response_type != self.m.COMPRESSABLE:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"response_type {request.response_type} not supported", call.trailing())
        response = self.m.SimpleResponse(payload=self._payload(request.response_size))
        if request.fill_server_id:
            response.server_id = self.server.replica
        await call.finish()
        return response

    async def CacheableUnaryCall(self, request, context):
        call = CallState(self.server, context)
        await call.start("CacheableUnaryCall")
        await call.finish()
        return self.m.SimpleResponse(payload=self.m.Payload(body=str(time.time_ns()).encode()))

    async def _respond(self, call, request):
        for parameters in request.response_parameters:
            if parameters.interval_us > 0:
                await asyncio.sleep(parameters.interval_us / 1e6)
            await call.write(self.m.StreamingOutputCallResponse(payload=self._payload(parameters.size)))

    async def StreamingOutputCall(self, request, context):
        call = CallState(self.server, context)
        await call.start("StreamingOutputCall")
        if request.HasField("response_status") and request.response_status.code != 0:
            await call.fail(request.response_status)
        await self._respond(call, request)
        await call.finish()

    async def StreamingInputCall(self, request_iterator, context):
        call = CallState(self.server, context)
        await call.start("StreamingInputCall")
        total = 0
        async for request in request_iterator:
            total += len(request.payload.body)
        await call.finish()
        return self.m.StreamingInputCallResponse(aggregated_payload_size=total)

    async def FullDuplexCall(self, request_iterator, context):
        call = CallState(self.server, context)
        await call.start("FullDuplexCall")
        async for request in request_iterator:
            if request.HasField("response_status") and request.response_status.code != 0:
                await call.fail(request.response_status)
            await self._respond(call, request)
        await call.finish()

    async def HalfDuplexCall(self, request_iterator, context):
        call = CallState(self.server, context)
        await call.start("HalfDuplexCall")
        requests = [r async for r in request_iterator]
        for request in requests:
            if request.HasField("response_status") and request.response_status.code != 0:
                await call.fail(request.response_status)
            await self._respond(call, request)
        await call.finish()


class HealthService:
    def __init__(self, server, pb):
        self.server = server
        self.h = pb.health_pb2

    async def Check(self, request, context):
        status = self.server.health.get(request.service)
        if status is None:
            await context.abort(grpc.StatusCode.NOT_FOUND, f"unknown service {request.service!r}")
        context.set_trailing_metadata((("x-served-by", self.server.replica),))
        return self.h.HealthCheckResponse(status=status)

    async def Watch(self, request, context):
        queue = asyncio.Queue()
        self.server.watchers.add(queue)
        try:
            last = None
            while True:
                status = self.server.health.get(request.service, self.h.HealthCheckResponse.SERVICE_UNKNOWN)
                if status != last:
                    last = status
                    await context.write(self.h.HealthCheckResponse(status=status))
                await queue.get()
        finally:
            self.server.watchers.discard(queue)


class Server:
    def __init__(self, args, pb):
        self.args = args
        self.pb = pb
        self.replica = args.replica_id
        serving = pb.health_pb2.HealthCheckResponse.SERVING
        self.health = {"": serving, TEST_SERVICE: serving}
        self.watchers = set()
        self.control_text = None

    def log_timeout(self, method, ms):
        if self.args.timeout_log:
            with open(self.args.timeout_log, "a", encoding="utf-8") as f:
                f.write(json.dumps({"method": method, "grpc_timeout_ms": ms, "at": time.time()}) + "\n")

    def set_health(self, changes):
        h = self.pb.health_pb2.HealthCheckResponse
        changed = False
        for service, name in changes.items():
            value = h.ServingStatus.Value(name)
            if self.health.get(service) != value:
                self.health[service] = value
                changed = True
        if changed:
            summary = {k or "-": h.ServingStatus.Name(v) for k, v in self.health.items()}
            print(f"HEALTH {json.dumps(summary)}", flush=True)
            for queue in self.watchers:
                queue.put_nowait(None)

    def toggle(self):
        h = self.pb.health_pb2.HealthCheckResponse
        name = "NOT_SERVING" if self.health.get("") == h.SERVING else "SERVING"
        self.set_health({service: name for service in list(self.health)})

    async def poll_control(self):
        path = self.args.control_file
        while True:
            try:
                with open(path, encoding="utf-8") as f:
                    text = f.read()
            except FileNotFoundError:
                text = None
            if text is not None and text != self.control_text:
                self.control_text = text
                self.apply_control(text)
            await asyncio.sleep(0.1)

    def apply_control(self, text):
        lines = [line.split() for line in text.splitlines() if line.strip()]
        if not lines:
            return
        if len(lines) == 1 and len(lines[0]) == 1:
            self.set_health({service: lines[0][0] for service in list(self.health)})
            return
        changes = {}
        for words in lines:
            if len(words) == 2:
                changes["" if words[0] == "-" else words[0]] = words[1]
        self.set_health(changes)

    def test_service_handler(self):
        """TestService's methods except UnimplementedCall, so that one answers UNIMPLEMENTED like an unknown method."""
        service = TestService(self, self.pb)
        m, empty = self.pb.messages_pb2, self.pb.empty_pb2.Empty
        unary, client_stream = grpc.unary_unary_rpc_method_handler, grpc.stream_unary_rpc_method_handler
        server_stream, bidi = grpc.unary_stream_rpc_method_handler, grpc.stream_stream_rpc_method_handler

        def handler(kind, method, request, response):
            return kind(method, request_deserializer=request.FromString, response_serializer=response.SerializeToString)

        return grpc.method_handlers_generic_handler(TEST_SERVICE, {
            "EmptyCall": handler(unary, service.EmptyCall, empty, empty),
            "UnaryCall": handler(unary, service.UnaryCall, m.SimpleRequest, m.SimpleResponse),
            "CacheableUnaryCall": handler(unary, service.CacheableUnaryCall, m.SimpleRequest, m.SimpleResponse),
            "StreamingOutputCall": handler(server_stream, service.StreamingOutputCall, m.StreamingOutputCallRequest, m.StreamingOutputCallResponse),
            "StreamingInputCall": handler(client_stream, service.StreamingInputCall, m.StreamingInputCallRequest, m.StreamingInputCallResponse),
            "FullDuplexCall": handler(bidi, service.FullDuplexCall, m.StreamingOutputCallRequest, m.StreamingOutputCallResponse),
            "HalfDuplexCall": handler(bidi, service.HalfDuplexCall, m.StreamingOutputCallRequest, m.StreamingOutputCallResponse),
        })

    async def run(self):
        server = grpc.aio.server(
            options=[
                ("grpc.max_receive_message_length", MAX_MESSAGE),
                ("grpc.max_send_message_length", MAX_MESSAGE),
                ("grpc.so_reuseport", 0),
                ("grpc.max_concurrent_streams", 100000),
            ],
            maximum_concurrent_rpcs=None,
        )
        server.add_generic_rpc_handlers((self.test_service_handler(),))
        self.pb.health_pb2_grpc.add_HealthServicer_to_server(HealthService(self, self.pb), server)
        address = f"{self.args.host}:{self.args.port}"
        if self.args.cert:
            with open(self.args.cert, "rb") as c, open(self.args.key, "rb") as k:
                credentials = grpc.ssl_server_credentials([(k.read(), c.read())])
            port = server.add_secure_port(address, credentials)
        else:
            port = server.add_insecure_port(address)
        if port == 0:
            raise SystemExit(f"interop_server: could not listen on {self.args.host}:{self.args.port}")
        await server.start()
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGUSR1, self.toggle)
        stop = asyncio.Event()
        loop.add_signal_handler(signal.SIGTERM, stop.set)
        loop.add_signal_handler(signal.SIGINT, stop.set)
        if self.args.control_file:
            loop.create_task(self.poll_control())
        print("READY " + json.dumps({"port": port, "replica": self.replica, "pid": os.getpid()}), flush=True)
        await stop.wait()
        await server.stop(1)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=0, help="port to listen on (0: any; the READY line says which)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--cert", help="PEM certificate: serve over TLS (ALPN h2) instead of h2c; needs --key")
    parser.add_argument("--key", help="PEM private key of --cert")
    parser.add_argument("--replica-id", default="r1", help="sent as x-served-by on every call")
    parser.add_argument("--gen-dir", help="where the generated modules are (generated there when missing)")
    parser.add_argument("--control-file", help="health control file, polled every 100 ms")
    parser.add_argument("--timeout-log", help="file the grpc-timeout of each call with a deadline is appended to")
    args = parser.parse_args()
    pb = interop_protos.load(args.gen_dir)
    asyncio.run(Server(args, pb).run())


if __name__ == "__main__":
    main()
