using Fabric.Abstractions;
using Microsoft.Extensions.Logging;

namespace Fabric.Plugins.Http;

/// <summary>
/// Retries a request on another replica of the same service when its replica fails before answering — what YARP
/// itself does not do. Safe by construction:
/// <list type="bullet">
/// <item>a failure to open the fabric stream (nothing was sent): any method is retried;</item>
/// <item>a failure after the request went out: only idempotent methods without a body (GET, HEAD, OPTIONS,
/// TRACE, and PUT/DELETE without content), since a body already streamed from the client cannot be replayed;</item>
/// <item>nothing is retried once response headers arrived: the handler has returned by then;</item>
/// <item>nothing is moved that session affinity pinned, on a cluster with AffinityFailurePolicy Return503Error
/// (see <see cref="PinnedRequests"/>).</item>
/// </list>
/// </summary>
internal sealed partial class FabricRetryHandler(HttpMessageHandler inner, FabricDestinations names, FabricHolder fabric, int maxRetries, ILogger logger)
    : DelegatingHandler(inner)
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var tried = new HashSet<string>(StringComparer.Ordinal);
        int attempt = 0;
        while (true)
        {
            try
            {
                return await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
            }
            catch (HttpRequestException ex) when (!cancellationToken.IsCancellationRequested && attempt < maxRetries && Retryable(request, ex)
                && NextReplica(request, tried) is { } next)
            {
                attempt++;
                Log.Retrying(logger, request.Method.Method, request.RequestUri?.AbsolutePath ?? "/", next.Replica, ex.Message);
                request.RequestUri = next.Uri;
            }
        }
    }

    private static bool Retryable(HttpRequestMessage request, HttpRequestException ex)
    {
        if (request.Options.TryGetValue(PinnedRequests.NoRetry, out bool pinned) && pinned)
        {
            return false; // pinned by session affinity to this replica, and the cluster does not move pinned clients
        }

        if (ex.HttpRequestError == HttpRequestError.ConnectionError || ex.InnerException is FabricOpenException)
        {
            return true; // the stream never opened: nothing was sent
        }

        bool idempotent = request.Method == HttpMethod.Get || request.Method == HttpMethod.Head || request.Method == HttpMethod.Options
            || request.Method == HttpMethod.Trace || request.Method == HttpMethod.Put || request.Method == HttpMethod.Delete;
        return idempotent && request.Content is null;
    }

    /// <summary>Another replica of the request's service not tried yet, as the URI to send to.</summary>
    private (string Replica, Uri Uri)? NextReplica(HttpRequestMessage request, HashSet<string> tried)
    {
        if (request.RequestUri is not { } uri || !names.TryResolve(uri.Host, out string service, out string failed) || fabric.Current is not { } current)
        {
            return null;
        }

        tried.Add(failed);
        foreach (FabricReplicaInfo replica in current.FindReplicas(service, HttpDriverPlugin.Subprotocol.Id))
        {
            if (!tried.Contains(replica.Key) && replica.Health is FabricServiceHealth.Healthy or FabricServiceHealth.Degraded)
            {
                var builder = new UriBuilder(uri) { Host = names.HostFor(service, replica.Key) };
                return (replica.Key, builder.Uri);
            }
        }

        return null;
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 5100, Level = LogLevel.Information, Message = "{Method} {Path} failed before an answer; retrying on replica {Replica}: {Reason}")]
        public static partial void Retrying(ILogger logger, string method, string path, string replica, string reason);
    }
}
