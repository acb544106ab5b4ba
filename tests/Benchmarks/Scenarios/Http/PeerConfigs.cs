using System.Text;

namespace Benchmarks.Scenarios.Http;

/// <summary>
/// nginx and stunnel configurations for the comparison chains, written into the lab directory. Every nginx runs in
/// the foreground with one worker, pid, error log and temp paths in the lab directory, no access log, and listens
/// on 127.0.0.1 only. Keep-alive limits are raised everywhere (clients and upstreams) so no hop closes connections
/// every 1000 requests: the proxies measured here (YARP, the fabric) hold their connections indefinitely.
/// </summary>
internal static class PeerConfigs
{
    public const string Nginx = "/usr/sbin/nginx";
    public const string Stunnel = "stunnel4";

    /// <summary>The backend: a fixed body from <c>return 200</c>.</summary>
    public static string Backend(Lab lab, string name, int port, string body) => NginxConf(lab, name, upstream: "", $$"""
            server {
                listen 127.0.0.1:{{port}} backlog=4096;
                location / {
                    default_type text/plain;
                    return 200 "{{body}}";
                }
            }
        """);

    /// <summary>A plain HTTP front proxying to <paramref name="upstreamScheme"/>://upstream with keep-alive connections.</summary>
    public static string Front(Lab lab, string name, int port, string upstreamScheme, int upstreamPort) => NginxConf(lab, name, Upstream("next", upstreamPort), $$"""
            server {
                listen 127.0.0.1:{{port}} backlog=4096;
                location / {
                    proxy_pass {{upstreamScheme}}://next;
                    proxy_http_version 1.1;
                    proxy_set_header Connection "";
                    proxy_ssl_session_reuse on;
                }
            }
        """);

    /// <summary>A TLS server proxying to the backend with keep-alive connections.</summary>
    public static string TlsMiddle(Lab lab, string name, int port, int backendPort, string certificate, string key) => NginxConf(lab, name, Upstream("backend", backendPort), $$"""
            server {
                listen 127.0.0.1:{{port}} ssl backlog=4096;
                ssl_certificate {{certificate}};
                ssl_certificate_key {{key}};
                ssl_session_cache shared:SSL:1m;
                location / {
                    proxy_pass http://backend;
                    proxy_http_version 1.1;
                    proxy_set_header Connection "";
                }
            }
        """);

    /// <summary>
    /// A gRPC front: HTTP/2 without TLS (h2c, prior knowledge) from clients, <c>grpc_pass</c> to <c>grpcs://</c> (TLS,
    /// ALPN h2) with <paramref name="keepalive"/> idle upstream connections kept. nginx sends one call at a time on
    /// each upstream connection, so keep-alive must cover the calls in flight or connections (and TLS handshakes)
    /// churn.
    /// </summary>
    public static string GrpcFront(Lab lab, string name, int port, int upstreamPort, int keepalive) => NginxConf(lab, name, Upstream("next", upstreamPort, keepalive), $$"""
            server {
                listen 127.0.0.1:{{port}} http2 backlog=4096;
                http2_max_concurrent_streams 1000;
                location / {
                    grpc_pass grpcs://next;
                    grpc_ssl_session_reuse on;
                }
            }
        """);

    /// <summary>A gRPC TLS server (HTTP/2 by ALPN) passing calls to the h2c backend with keep-alive connections.</summary>
    public static string GrpcTlsMiddle(Lab lab, string name, int port, int backendPort, string certificate, string key, int keepalive) => NginxConf(lab, name, Upstream("backend", backendPort, keepalive), $$"""
            server {
                listen 127.0.0.1:{{port}} ssl http2 backlog=4096;
                http2_max_concurrent_streams 1000;
                ssl_certificate {{certificate}};
                ssl_certificate_key {{key}};
                ssl_session_cache shared:SSL:1m;
                location / {
                    grpc_pass grpc://backend;
                }
            }
        """);

    /// <summary>stunnel in the foreground: client mode accepts plain and connects TLS, server mode the reverse.</summary>
    public static string StunnelConf(Lab lab, string name, bool client, int acceptPort, int connectPort, string certificate, string key)
    {
        var conf = new StringBuilder();
        conf.AppendLine("foreground = yes");
        conf.AppendLine("syslog = no");
        conf.AppendLine("debug = warning");
        conf.AppendLine($"pid = {lab.PathOf(name + ".pid")}");
        conf.AppendLine($"[{name}]");
        conf.AppendLine($"client = {(client ? "yes" : "no")}");
        conf.AppendLine($"accept = 127.0.0.1:{acceptPort}");
        conf.AppendLine($"connect = 127.0.0.1:{connectPort}");
        if (!client)
        {
            conf.AppendLine($"cert = {certificate}");
            conf.AppendLine($"key = {key}");
        }

        string path = lab.PathOf(name + ".conf");
        File.WriteAllText(path, conf.ToString());
        return path;
    }

    private static string Upstream(string name, int port, int keepalive = 64) => $$"""
            upstream {{name}} {
                server 127.0.0.1:{{port}};
                keepalive {{keepalive}};
                keepalive_requests 1000000;
                keepalive_timeout 300s;
            }
        """;

    /// <summary>Writes <c>&lt;name&gt;.conf</c>; returns its path.</summary>
    private static string NginxConf(Lab lab, string name, string upstream, string server)
    {
        string temp = lab.PathOf(name + "-temp");
        Directory.CreateDirectory(temp);

        // Run as root, nginx would switch its worker to nobody, who cannot enter the lab directory (mode 0700).
        string user = Environment.IsPrivilegedProcess ? "user root root;" : "";
        string conf = $$"""
            daemon off;
            master_process on;
            worker_processes 1;
            {{user}}
            pid {{lab.PathOf(name + ".pid")}};
            error_log {{lab.PathOf(name + ".error.log")}} warn;
            events {
                worker_connections 4096;
            }
            http {
                access_log off;
                keepalive_requests 1000000;
                keepalive_timeout 300s;
                client_body_temp_path {{temp}}/body;
                proxy_temp_path {{temp}}/proxy;
                fastcgi_temp_path {{temp}}/fastcgi;
                uwsgi_temp_path {{temp}}/uwsgi;
                scgi_temp_path {{temp}}/scgi;
            {{upstream}}
            {{server}}
            }
            """;
        string path = lab.PathOf(name + ".conf");
        File.WriteAllText(path, conf);
        return path;
    }
}
