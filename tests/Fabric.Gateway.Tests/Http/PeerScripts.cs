namespace Fabric.Gateway.Tests.Http;

/// <summary>The real peers the HTTP tests run: python3 scripts (Debian's, which has python3-websockets), nginx, curl, wrk.</summary>
internal static class PeerScripts
{
    /// <summary>Debian's python3 (python3-websockets is installed for it), not whatever python3 is first on PATH.</summary>
    public const string Python = "/usr/bin/python3";

    public const string Nginx = "/usr/sbin/nginx";

    public const string Curl = "/usr/bin/curl";

    public const string Wrk = "/usr/bin/wrk";

    /// <summary>
    /// A small HTTP/1.1 backend (<c>backend.py PORT NAME LOGFILE</c>) that records what reaches it, one line per
    /// request, in LOGFILE:
    /// <list type="bullet">
    /// <item><c>GET /</c>: <c>replica=NAME</c> (not recorded: it is the load path);</item>
    /// <item><c>POST /post?id=ID&amp;ms=M</c>: reads the whole body, records <c>POST ID LENGTH</c>, waits M ms, answers <c>replica=NAME id=ID</c>;</item>
    /// <item><c>GET /stream?id=ID&amp;chunks=N&amp;ms=M</c>: records <c>STREAM ID</c>, then a chunked body: <c>replica=NAME</c> and N lines <c>tick i</c>, one every M ms;</item>
    /// <item><c>GET /hop</c>: answers with hop-by-hop response headers (Connection naming X-Backend-Hop, Keep-Alive, Proxy-Connection) and X-End-To-End;</item>
    /// <item>anything else: records <c>REQ METHOD PATH</c>, answers <c>replica=NAME path=PATH</c>.</item>
    /// </list>
    /// </summary>
    public const string Backend = """
        import json, sys, threading, time, urllib.parse
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        port, name, log_path = int(sys.argv[1]), sys.argv[2], sys.argv[3]
        lock = threading.Lock()

        def record(line):
            with lock:
                with open(log_path, "a") as f:
                    f.write(line + "\n")

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, *args):
                pass

            def body(self):
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    data = b""
                    while True:
                        size = int(self.rfile.readline().strip().split(b";")[0], 16)
                        if size == 0:
                            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                                pass
                            return data
                        data += self.rfile.read(size)
                        self.rfile.readline()
                n = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(n) if n else b""

            def reply(self, status, text, headers=()):
                data = text.encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(data)))
                for k, v in headers:
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def handle_any(self):
                url = urllib.parse.urlsplit(self.path)
                query = dict(urllib.parse.parse_qsl(url.query))
                body = self.body()
                if url.path == "/":
                    self.reply(200, "replica=%s\n" % name)
                elif url.path == "/post":
                    record("POST %s %d" % (query.get("id", "?"), len(body)))
                    time.sleep(int(query.get("ms", "0")) / 1000)
                    self.reply(200, "replica=%s id=%s\n" % (name, query.get("id", "?")))
                elif url.path == "/stream":
                    record("STREAM %s" % query.get("id", "?"))
                    self.send_response(200)
                    self.send_header("Content-Type", "text/plain")
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    def chunk(text):
                        data = text.encode()
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                        self.wfile.flush()
                    chunk("replica=%s\n" % name)
                    for i in range(int(query.get("chunks", "50"))):
                        time.sleep(int(query.get("ms", "100")) / 1000)
                        chunk("tick %d\n" % i)
                    self.wfile.write(b"0\r\n\r\n")
                elif url.path == "/hop":
                    self.reply(200, json.dumps(dict(self.headers.items())), [
                        ("Connection", "keep-alive, X-Backend-Hop"), ("X-Backend-Hop", "secret"),
                        ("Keep-Alive", "timeout=30"), ("Proxy-Connection", "keep-alive"), ("X-End-To-End", "kept")])
                else:
                    record("REQ %s %s" % (self.command, self.path))
                    self.reply(200, "replica=%s path=%s\n" % (name, self.path))

            do_GET = do_POST = do_PUT = do_DELETE = handle_any

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            request_queue_size = 256

            def handle_error(self, request, client_address):
                pass  # a client (or a killed gateway) dropping a connection is expected here

        server = Server(("127.0.0.1", port), Handler)
        print("listening", port, flush=True)
        server.serve_forever()
        """;

    /// <summary>
    /// <c>ws_client.py URI COUNT</c>: sends COUNT WebSocket messages (text and binary alternately, 8 B to 3 KB) while
    /// reading the echoes, checks each echo equals the message sent at that position, prints
    /// <c>ECHOED COUNT IN ORDER</c> and exits 0; prints the first mismatch and exits 1 otherwise.
    /// </summary>
    public const string WebSocketClient = """
        import asyncio, sys, websockets

        async def main(uri, count):
            async with websockets.connect(uri, max_size=None, ping_interval=None, open_timeout=30) as ws:
                sent = []
                async def send():
                    for i in range(count):
                        payload = ("msg-%d-" % i) + "x" * ((i * 37) % 3000)
                        message = payload if i % 2 == 0 else payload.encode()
                        sent.append(message)
                        await ws.send(message)
                sender = asyncio.create_task(send())
                for i in range(count):
                    got = await asyncio.wait_for(ws.recv(), 30)
                    while len(sent) <= i:
                        await asyncio.sleep(0)
                    if got != sent[i]:
                        print("MISMATCH at %d: %r" % (i, got[:40]), flush=True)
                        return 1
                await sender
                await ws.close()
                print("ECHOED %d IN ORDER" % count, flush=True)
                return 0

        sys.exit(asyncio.run(main(sys.argv[1], int(sys.argv[2]))))
        """;

    /// <summary>
    /// <c>ws_hold.py URI</c>: opens a WebSocket, exchanges one message, prints <c>OPEN</c>, then holds the connection
    /// until the other side ends it and prints <c>CLOSED SECONDS</c> (seconds since OPEN).
    /// </summary>
    public const string WebSocketHold = """
        import asyncio, sys, time, websockets

        async def main(uri):
            ws = await websockets.connect(uri, ping_interval=None, open_timeout=30)
            await ws.send("hold")
            await ws.recv()
            opened = time.monotonic()
            print("OPEN", flush=True)
            try:
                while True:
                    await ws.recv()
            except websockets.ConnectionClosed:
                pass
            print("CLOSED %.2f" % (time.monotonic() - opened), flush=True)
            return 0

        sys.exit(asyncio.run(main(sys.argv[1])))
        """;

    /// <summary>
    /// <c>sse_client.py CURL-ARGS…</c>: runs <c>curl -N</c> (no buffering) and, for each event as curl hands it over,
    /// prints <c>id N</c> and <c>latency MS</c>: the time now minus the time the sample backend wrote into the event's
    /// data line. Timed here, next to curl, so that the test process's own scheduling is not measured.
    /// </summary>
    public const string SseClient = """
        import subprocess, sys, time

        curl = subprocess.Popen(["/usr/bin/curl", "-sS", "-N", "--noproxy", "*", "--max-time", "60"] + sys.argv[1:], stdout=subprocess.PIPE)
        for line in curl.stdout:
            now = time.time_ns() // 1_000_000
            text = line.decode().rstrip("\r\n")
            if text.startswith("data: "):
                print("latency %d" % (now - int(text[6:])), flush=True)
            elif text.startswith("id: "):
                print("id %s" % text[4:], flush=True)
        sys.exit(curl.wait())
        """;

    /// <summary>
    /// An nginx configuration answering every request 200 and logging each request line (unbuffered). With a
    /// certificate and key it listens with TLS (HTTP/1.1 and h2 by ALPN) and says the protocol in its answer.
    /// </summary>
    public static (string Conf, string AccessLog) NginxRecorder(string directory, string name, int port, (string Cert, string Key)? tls = null)
    {
        string temp = Path.Combine(directory, name + "-temp");
        Directory.CreateDirectory(temp);
        string accessLog = Path.Combine(directory, name + ".access.log");
        File.WriteAllText(accessLog, "");

        string listen = tls is { } t
            ? $"listen 127.0.0.1:{port} ssl http2; ssl_protocols TLSv1.2 TLSv1.3; ssl_certificate {t.Cert}; ssl_certificate_key {t.Key};"
            : $"listen 127.0.0.1:{port};";
        string answer = tls is null ? "recorded $request_uri\\n" : "recorded $request_uri over $server_protocol and $ssl_protocol\\n";

        // Run as root, nginx would switch its worker to nobody, who cannot write the log in the test's directory.
        string user = Environment.IsPrivilegedProcess ? "user root root;" : "";
        string conf = $$"""
            daemon off;
            master_process on;
            worker_processes 1;
            {{user}}
            pid {{Path.Combine(directory, name + ".pid")}};
            error_log {{Path.Combine(directory, name + ".error.log")}} warn;
            events {
                worker_connections 256;
            }
            http {
                log_format recorder '$request';
                access_log {{accessLog}} recorder;
                client_body_temp_path {{temp}}/body;
                proxy_temp_path {{temp}}/proxy;
                fastcgi_temp_path {{temp}}/fastcgi;
                uwsgi_temp_path {{temp}}/uwsgi;
                scgi_temp_path {{temp}}/scgi;
                server {
                    {{listen}}
                    location / {
                        default_type text/plain;
                        return 200 "{{answer}}";
                    }
                }
            }
            """;
        string path = Path.Combine(directory, name + ".conf");
        File.WriteAllText(path, conf);
        return (path, accessLog);
    }
}
