#!/usr/bin/python3
"""gRPC interop client (grpc.aio, plaintext h2c) for the gateway tests.

    interop_client.py --target HOST:PORT CASE [CASE ...]     # interop cases; "all" runs every one of them
    interop_client.py --target HOST:PORT split N [--concurrency C]
    interop_client.py --target HOST:PORT concurrent N
    interop_client.py --target HOST:PORT oversize BYTES
    interop_client.py --target HOST:PORT health SERVICE        # "" for the server as a whole
    interop_client.py --target HOST:PORT load SECONDS [--workers W] [--call-ms MS]
    interop_client.py --target HOST:PORT slow N INTERVAL_MS

Interop cases follow the client side of https://github.com/grpc/grpc/blob/master/doc/interop-test-descriptions.md
and their assertions exactly; each prints "PASS <case>", and the first failure prints "FAIL <case>: <why>" on stderr
and exits 1. timeout_on_sleeping_server adds a second call with a longer timeout (--sleeping-timeout-ms) that the
server reports back (x-received-grpc-timeout, and its --timeout-log); headers_before_messages (not in the spec) checks
that initial metadata the server sends before any message reach the client while the call is still open. The other modes print one JSON object on stdout and exit 0 (the test judges the numbers):

  split N        N UnaryCalls on one channel, C at a time: {"calls", "ok", "served_by": {id: n}, "errors": {code: n}}
  concurrent N   N FullDuplexCall streams on one channel, all held open at once: each sends one request and waits for
                 its response; only when every stream has its response do they all half-close and finish:
                 {"streams", "ok", "held_open", "errors", "seconds"}
  oversize B     one UnaryCall whose request payload is B bytes: {"code", "details", "bytes"}
  health S       grpc.health.v1.Health/Check for S: {"code", "status"} (status when the call succeeded)
  load S         W workers on one channel loop over StreamingOutputCalls (5 responses spread over --call-ms) for S
                 seconds: {"counts": {code: n}, "served_by": {id: n}, "calls": [[start, end, code, served_by], ...]}
                 (start and end in Unix seconds, so a test can tell calls before and after an event apart); a line
                 "STARTED" comes first, as soon as one call has succeeded
  slow N MS      one StreamingOutputCall of N responses MS apart; prints "FIRST" when the first response arrives, then
                 {"code", "details", "responses", "seconds"}

The channel has transparent retries off, so what the target answers is what is counted.
"""

import argparse
import asyncio
import json
import os
import sys
import time

import grpc

sys.dont_write_bytecode = True  # no __pycache__ in the repository
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import interop_protos  # noqa: E402

CASES = [
    "empty_unary",
    "large_unary",
    "client_streaming",
    "server_streaming",
    "ping_pong",
    "empty_stream",
    "custom_metadata",
    "status_code_and_message",
    "special_status_message",
    "unimplemented_method",
    "unimplemented_service",
    "timeout_on_sleeping_server",
    "cancel_after_begin",
    "cancel_after_first_response",
    "headers_before_messages",
]
ECHO_INITIAL = ("x-grpc-test-echo-initial", "test_initial_metadata_value")
ECHO_TRAILING = ("x-grpc-test-echo-trailing-bin", b"\xab\xab\xab")
SPECIAL_MESSAGE = "\t\ntest with whitespace\r\nand Unicode BMP \u263a and non-BMP \U0001F608\t\n"


class CaseFailed(Exception):
    pass


def check(condition, message):
    if not condition:
        raise CaseFailed(message)


def md_get(metadata, key):
    if metadata is None:
        return None
    for k, v in metadata:
        if k == key:
            return v
    return None


class Client:
    def __init__(self, args, pb):
        self.args = args
        self.pb = pb
        self.m = pb.messages_pb2
        self.empty = pb.empty_pb2.Empty
        options = [
            ("grpc.max_receive_message_length", -1),
            ("grpc.max_send_message_length", -1),
            ("grpc.enable_retries", 0),
            ("grpc.max_concurrent_streams", 100000),
        ]
        if args.ca:
            with open(args.ca, "rb") as ca:
                credentials = grpc.ssl_channel_credentials(root_certificates=ca.read())
            self.channel = grpc.aio.secure_channel(args.target, credentials, options=options)
        else:
            self.channel = grpc.aio.insecure_channel(args.target, options=options)
        self.stub = pb.test_pb2_grpc.TestServiceStub(self.channel)
        self.health = pb.health_pb2_grpc.HealthStub(self.channel)
        self.timeout = args.timeout

    def payload(self, size):
        return self.m.Payload(type=self.m.COMPRESSABLE, body=b"\0" * size)

    def streaming_request(self, sizes, payload=None, status=None, interval_us=0):
        request = self.m.StreamingOutputCallRequest(
            response_parameters=[self.m.ResponseParameters(size=s, interval_us=interval_us) for s in sizes])
        if payload is not None:
            request.payload.CopyFrom(self.payload(payload))
        if status is not None:
            request.response_status.CopyFrom(self.m.EchoStatus(code=status[0], message=status[1]))
        return request

    @staticmethod
    def check_body(payload, size, what):
        check(len(payload.body) == size, f"{what}: payload body is {len(payload.body)} bytes, expected {size}")
        check(payload.body == b"\0" * size, f"{what}: payload body is not all zeros")

    # --- interop cases -------------------------------------------------------------------------------------------

    async def empty_unary(self):
        response = await self.stub.EmptyCall(self.empty(), timeout=self.timeout)
        check(response is not None, "EmptyCall returned no response")
        check(isinstance(response, self.empty), f"EmptyCall returned {type(response).__name__}")

    async def large_unary(self):
        response = await self.stub.UnaryCall(
            self.m.SimpleRequest(response_size=314159, payload=self.payload(271828)), timeout=self.timeout)
        self.check_body(response.payload, 314159, "UnaryCall response")

    async def client_streaming(self):
        async def requests():
            for size in (27182, 8, 1828, 45904):
                yield self.m.StreamingInputCallRequest(payload=self.payload(size))
        response = await self.stub.StreamingInputCall(requests(), timeout=self.timeout)
        check(response.aggregated_payload_size == 74922,
              f"aggregated_payload_size is {response.aggregated_payload_size}, expected 74922")

    async def server_streaming(self):
        sizes = [31415, 9, 2653, 58979]
        call = self.stub.StreamingOutputCall(self.streaming_request(sizes), timeout=self.timeout)
        got = []
        async for response in call:
            got.append(len(response.payload.body))
            self.check_body(response.payload, len(response.payload.body), f"response {len(got)}")
        check(got == sizes, f"response sizes {got}, expected {sizes}")
        code = await call.code()
        check(code == grpc.StatusCode.OK, f"status {code.name}, expected OK")

    async def ping_pong(self):
        sizes = [(31415, 27182), (9, 8), (2653, 1828), (58979, 45904)]
        call = self.stub.FullDuplexCall(timeout=self.timeout)
        for index, (response_size, payload_size) in enumerate(sizes):
            await call.write(self.streaming_request([response_size], payload=payload_size))
            response = await call.read()
            check(response is not grpc.aio.EOF, f"stream ended after {index} responses, expected 4")
            self.check_body(response.payload, response_size, f"response {index + 1}")
        await call.done_writing()
        extra = await call.read()
        check(extra is grpc.aio.EOF, "more than four responses")
        code = await call.code()
        check(code == grpc.StatusCode.OK, f"status {code.name} ({await call.details()!r}), expected OK")

    async def empty_stream(self):
        call = self.stub.FullDuplexCall(timeout=self.timeout)
        await call.done_writing()
        response = await call.read()
        check(response is grpc.aio.EOF, "a response on an empty stream, expected none")
        code = await call.code()
        check(code == grpc.StatusCode.OK, f"status {code.name} ({await call.details()!r}), expected OK")

    async def custom_metadata(self):
        metadata = (ECHO_INITIAL, ECHO_TRAILING)

        def check_metadata(initial, trailing, what):
            value = md_get(initial, ECHO_INITIAL[0])
            check(value == ECHO_INITIAL[1], f"{what}: initial metadata {ECHO_INITIAL[0]} is {value!r}, expected {ECHO_INITIAL[1]!r}")
            value = md_get(trailing, ECHO_TRAILING[0])
            check(value == ECHO_TRAILING[1], f"{what}: trailing metadata {ECHO_TRAILING[0]} is {value!r}, expected {ECHO_TRAILING[1]!r}")

        call = self.stub.UnaryCall(
            self.m.SimpleRequest(response_size=314159, payload=self.payload(271828)), metadata=metadata, timeout=self.timeout)
        response = await call
        self.check_body(response.payload, 314159, "UnaryCall response")
        check_metadata(await call.initial_metadata(), await call.trailing_metadata(), "UnaryCall")

        call = self.stub.FullDuplexCall(metadata=metadata, timeout=self.timeout)
        await call.write(self.streaming_request([314159], payload=271828))
        await call.done_writing()
        responses = [r async for r in call]
        check(len(responses) == 1, f"FullDuplexCall: {len(responses)} responses, expected 1")
        self.check_body(responses[0].payload, 314159, "FullDuplexCall response")
        code = await call.code()
        check(code == grpc.StatusCode.OK, f"FullDuplexCall: status {code.name}, expected OK")
        check_metadata(await call.initial_metadata(), await call.trailing_metadata(), "FullDuplexCall")

    async def _status_case(self, message):
        status = (2, message)
        try:
            await self.stub.UnaryCall(
                self.m.SimpleRequest(response_status=self.m.EchoStatus(code=status[0], message=status[1])), timeout=self.timeout)
            raise CaseFailed("UnaryCall succeeded, expected status 2")
        except grpc.aio.AioRpcError as e:
            check(e.code().value[0] == status[0], f"UnaryCall: status {e.code().name}, expected 2 (UNKNOWN)")
            check(e.details() == status[1], f"UnaryCall: message {e.details()!r}, expected {status[1]!r}")
        return status

    async def status_code_and_message(self):
        status = await self._status_case("test status message")
        call = self.stub.FullDuplexCall(timeout=self.timeout)
        await call.write(self.streaming_request([], status=status))
        await call.done_writing()
        responses = [r async for r in _iterate(call)]
        code = await call.code()
        check(code.value[0] == status[0], f"FullDuplexCall: status {code.name} after {len(responses)} responses, expected 2 (UNKNOWN)")
        details = await call.details()
        check(details == status[1], f"FullDuplexCall: message {details!r}, expected {status[1]!r}")

    async def special_status_message(self):
        await self._status_case(SPECIAL_MESSAGE)

    async def _expect_unimplemented(self, method):
        call = self.channel.unary_unary(method, request_serializer=self.empty.SerializeToString,
                                        response_deserializer=self.empty.FromString)
        try:
            await call(self.empty(), timeout=self.timeout)
            raise CaseFailed(f"{method} succeeded, expected UNIMPLEMENTED")
        except grpc.aio.AioRpcError as e:
            check(e.code() == grpc.StatusCode.UNIMPLEMENTED, f"{method}: status {e.code().name} ({e.details()!r}), expected UNIMPLEMENTED")

    async def unimplemented_method(self):
        await self._expect_unimplemented("/grpc.testing.TestService/UnimplementedCall")

    async def unimplemented_service(self):
        await self._expect_unimplemented("/grpc.testing.UnimplementedService/UnimplementedCall")

    async def timeout_on_sleeping_server(self):
        # The spec's procedure: a 1 ms timeout on a FullDuplexCall the server never answers.
        call = self.stub.FullDuplexCall(timeout=0.001)
        try:
            await call.write(self.streaming_request([], payload=27182))
        except (grpc.aio.AioRpcError, asyncio.InvalidStateError):
            pass  # the deadline may pass before the write
        code = await call.code()
        check(code == grpc.StatusCode.DEADLINE_EXCEEDED, f"1 ms: status {code.name}, expected DEADLINE_EXCEEDED")

        # The same with a timeout long enough to reach the server, which reports the deadline it saw
        # (x-received-grpc-timeout, in ms) in initial metadata sent at once: it must have one, and it must not exceed
        # the client's (plus the little that gRPC's timeout encoding rounds up: ~1% directly client to server).
        timeout_ms = self.args.sleeping_timeout_ms
        call = self.stub.FullDuplexCall(timeout=timeout_ms / 1000, metadata=(("x-grpc-test-report-timeout", "1"),))
        try:
            await call.write(self.streaming_request([], payload=27182))
        except (grpc.aio.AioRpcError, asyncio.InvalidStateError):
            pass
        initial = await call.initial_metadata()
        code = await call.code()
        check(code == grpc.StatusCode.DEADLINE_EXCEEDED, f"{timeout_ms} ms: status {code.name} ({await call.details()!r}), expected DEADLINE_EXCEEDED")
        seen = md_get(initial, "x-received-grpc-timeout")
        if seen is None:
            # Headers held back until a first message never come (see headers_before_messages): the server's
            # --timeout-log still has the value.
            print(f"INFO timeout_on_sleeping_server client_timeout_ms={timeout_ms} server_saw_ms=unknown (no initial metadata before the deadline)", flush=True)
            return
        check(seen != "none", f"{timeout_ms} ms: the server saw no deadline (no grpc-timeout reached it)")
        bound = int(timeout_ms * 1.01) + 10
        check(0 < int(seen) <= bound, f"{timeout_ms} ms: the server saw a timeout of {seen} ms, expected 0 < t <= {bound}")
        print(f"INFO timeout_on_sleeping_server client_timeout_ms={timeout_ms} server_saw_ms={seen}", flush=True)

    async def cancel_after_begin(self):
        call = self.stub.StreamingInputCall(timeout=self.timeout)
        await call.wait_for_connection()
        check(call.cancel(), "cancel() had no effect: the call had already finished")
        code = await call.code()
        check(code == grpc.StatusCode.CANCELLED, f"status {code.name}, expected CANCELLED")

    async def cancel_after_first_response(self):
        call = self.stub.FullDuplexCall(timeout=self.timeout)
        await call.write(self.streaming_request([31415], payload=27182))
        response = await call.read()
        check(response is not grpc.aio.EOF, "no response before the stream ended")
        self.check_body(response.payload, 31415, "first response")
        check(call.cancel(), "cancel() had no effect: the call had already finished")
        code = await call.code()
        check(code == grpc.StatusCode.CANCELLED, f"status {code.name}, expected CANCELLED")

    async def headers_before_messages(self):
        # The server sends its initial metadata at once when asked to report the timeout, then waits for requests.
        call = self.stub.FullDuplexCall(timeout=self.timeout, metadata=(("x-grpc-test-report-timeout", "1"),))
        try:
            initial = await asyncio.wait_for(call.initial_metadata(), 3)
        except asyncio.TimeoutError:
            call.cancel()
            raise CaseFailed("initial metadata the server sent before any message did not reach the client within 3 s "
                             "(the call was open, nothing else to send)")
        check(md_get(initial, "x-served-by") is not None, f"initial metadata without x-served-by: {initial!r}")
        await call.done_writing()
        responses = [r async for r in call]
        check(not responses, f"{len(responses)} responses, expected none")
        code = await call.code()
        check(code == grpc.StatusCode.OK, f"status {code.name}, expected OK")

    # --- gateway modes -------------------------------------------------------------------------------------------

    async def split(self, calls, concurrency):
        served, errors = {}, {}
        ok = 0
        next_index = 0

        async def worker():
            nonlocal ok, next_index
            while next_index < calls:
                next_index += 1
                call = self.stub.UnaryCall(self.m.SimpleRequest(response_size=8, fill_server_id=True), timeout=self.timeout)
                try:
                    response = await call
                    by = md_get(await call.initial_metadata(), "x-served-by") or "?"
                    served[by] = served.get(by, 0) + 1
                    if response.server_id != by:
                        errors["server_id_mismatch"] = errors.get("server_id_mismatch", 0) + 1
                    else:
                        ok += 1
                except grpc.aio.AioRpcError as e:
                    errors[e.code().name] = errors.get(e.code().name, 0) + 1

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return {"calls": calls, "ok": ok, "served_by": served, "errors": errors}

    async def concurrent(self, streams):
        started = time.monotonic()
        all_in = asyncio.Event()
        received = 0
        open_now = 0
        held_open = 0
        errors = {}
        ok = 0

        async def stream(index):
            nonlocal received, open_now, held_open, ok
            call = self.stub.FullDuplexCall(timeout=self.timeout)
            try:
                await call.write(self.streaming_request([16], payload=16))
                response = await call.read()
                if response is grpc.aio.EOF or len(response.payload.body) != 16:
                    errors["bad_response"] = errors.get("bad_response", 0) + 1
                    call.cancel()
                    return
                received += 1
                open_now += 1
                held_open = max(held_open, open_now)
                if received == streams:
                    all_in.set()
                await all_in.wait()
                await call.done_writing()
                rest = await call.read()
                open_now -= 1
                code = await call.code()
                if rest is grpc.aio.EOF and code == grpc.StatusCode.OK:
                    ok += 1
                else:
                    errors[code.name] = errors.get(code.name, 0) + 1
            except grpc.aio.AioRpcError as e:
                errors[e.code().name] = errors.get(e.code().name, 0) + 1

        tasks = [asyncio.ensure_future(stream(i)) for i in range(streams)]
        _, pending = await asyncio.wait(tasks, timeout=self.timeout)
        if pending:
            errors["still_waiting_at_timeout"] = len(pending)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        return {"streams": streams, "ok": ok, "held_open": held_open, "responses": received, "errors": errors,
                "seconds": round(time.monotonic() - started, 3)}

    async def oversize(self, size):
        try:
            await self.stub.UnaryCall(self.m.SimpleRequest(response_size=1, payload=self.payload(size)), timeout=self.timeout)
            return {"code": "OK", "details": "", "bytes": size}
        except grpc.aio.AioRpcError as e:
            return {"code": e.code().name, "details": e.details(), "bytes": size}

    async def health_check(self, service):
        h = self.pb.health_pb2
        try:
            response = await self.health.Check(h.HealthCheckRequest(service=service), timeout=self.timeout)
            return {"code": "OK", "status": h.HealthCheckResponse.ServingStatus.Name(response.status)}
        except grpc.aio.AioRpcError as e:
            return {"code": e.code().name, "details": e.details()}

    async def health_watch(self, service):
        """Health.Watch: one JSON line per status the server streams, until the stream ends or the deadline."""
        h = self.pb.health_pb2
        call = self.health.Watch(h.HealthCheckRequest(service=service), timeout=self.timeout)
        try:
            async for response in call:
                print(json.dumps({"status": h.HealthCheckResponse.ServingStatus.Name(response.status)}), flush=True)
            return {"end": (await call.code()).name}
        except grpc.aio.AioRpcError as e:
            return {"end": e.code().name, "details": e.details()}

    async def load(self, seconds, workers, call_ms):
        end = time.monotonic() + seconds
        records = []
        counts, served = {}, {}
        started = []
        interval_us = int(call_ms * 1000 / 5)

        async def worker():
            while time.monotonic() < end:
                start = time.time()
                call = self.stub.StreamingOutputCall(self.streaming_request([8] * 5, interval_us=interval_us), timeout=self.timeout)
                by = None
                try:
                    n = 0
                    async for _ in call:
                        n += 1
                    code = (await call.code()).name
                    if code == "OK" and n != 5:
                        code = f"OK_WITH_{n}_RESPONSES"
                except grpc.aio.AioRpcError as e:
                    code = e.code().name
                try:
                    by = md_get(await call.initial_metadata(), "x-served-by") or md_get(await call.trailing_metadata(), "x-served-by")
                except grpc.aio.AioRpcError:
                    pass
                if code == "OK" and not started:
                    started.append(True)
                    print("STARTED", flush=True)
                counts[code] = counts.get(code, 0) + 1
                served[by or "?"] = served.get(by or "?", 0) + 1
                records.append([round(start, 4), round(time.time(), 4), code, by])

        await asyncio.gather(*(worker() for _ in range(workers)))
        return {"counts": counts, "served_by": served, "calls": records}

    async def slow(self, responses, interval_ms):
        begin = time.monotonic()
        call = self.stub.StreamingOutputCall(
            self.streaming_request([8] * responses, interval_us=int(interval_ms * 1000)), timeout=self.timeout)
        got = 0
        try:
            async for _ in call:
                got += 1
                if got == 1:
                    print("FIRST", flush=True)
            code, details = (await call.code()).name, await call.details()
        except grpc.aio.AioRpcError as e:
            code, details = e.code().name, e.details()
        return {"code": code, "details": details, "responses": got, "seconds": round(time.monotonic() - begin, 3)}


def _iterate(call):
    """Responses of a streaming call, ending quietly when the call ends with an error status."""
    async def gen():
        try:
            async for response in call:
                yield response
        except grpc.aio.AioRpcError:
            return
    return gen()


async def run(args):
    pb = interop_protos.load(args.gen_dir)
    client = Client(args, pb)
    try:
        mode = args.what[0]
        rest = args.what[1:]
        if mode == "split":
            print(json.dumps(await client.split(int(rest[0]), args.concurrency)), flush=True)
        elif mode == "concurrent":
            print(json.dumps(await client.concurrent(int(rest[0]))), flush=True)
        elif mode == "oversize":
            print(json.dumps(await client.oversize(int(rest[0]))), flush=True)
        elif mode == "health":
            print(json.dumps(await client.health_check(rest[0] if rest else "")), flush=True)
        elif mode == "watch":
            print(json.dumps(await client.health_watch(rest[0] if rest else "")), flush=True)
        elif mode == "slow":
            print(json.dumps(await client.slow(int(rest[0]), float(rest[1]))), flush=True)
        elif mode == "load":
            print(json.dumps(await client.load(float(rest[0]), args.workers, args.call_ms)), flush=True)
        else:
            cases = CASES if args.what == ["all"] else args.what
            for case in cases:
                if case not in CASES:
                    print(f"FAIL {case}: no such case (cases: {', '.join(CASES)})", file=sys.stderr, flush=True)
                    return 2
                try:
                    await getattr(client, case)()
                except CaseFailed as e:
                    print(f"FAIL {case}: {e}", file=sys.stderr, flush=True)
                    return 1
                except grpc.aio.AioRpcError as e:
                    print(f"FAIL {case}: unexpected status {e.code().name} ({e.details()!r})", file=sys.stderr, flush=True)
                    return 1
                print(f"PASS {case}", flush=True)
        return 0
    finally:
        await client.channel.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--target", required=True, help="host:port (plaintext HTTP/2, or TLS with --ca)")
    parser.add_argument("--ca", help="PEM root certificate: speak TLS (ALPN h2) and verify the server against it")
    parser.add_argument("--gen-dir", help="where the generated modules are (generated there when missing)")
    parser.add_argument("--timeout", type=float, default=30, help="deadline of each call, seconds")
    parser.add_argument("--concurrency", type=int, default=8, help="split: calls in flight at once")
    parser.add_argument("--workers", type=int, default=16, help="load: calls in flight at once")
    parser.add_argument("--call-ms", type=float, default=100, help="load: how long each call takes at the server")
    parser.add_argument("--sleeping-timeout-ms", type=int, default=1000,
                        help="timeout_on_sleeping_server: the second call's timeout (the server reports the one it saw)")
    parser.add_argument("what", nargs="+", help="cases, or a mode and its argument")
    args = parser.parse_args()
    code = asyncio.new_event_loop().run_until_complete(run(args))
    # Not asyncio.run: its shutdown joins grpcio's aio poller thread, which can block forever after many calls
    # (a race in grpcio's shutdown, grpc/grpc#40989; a run of 1,000 concurrent streams printed its result and then
    # hung). Everything is printed and the channel is closed by now, so the process ends here.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    main()
