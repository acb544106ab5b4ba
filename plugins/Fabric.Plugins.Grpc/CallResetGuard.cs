using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Fabric.Plugins.Grpc;

/// <summary>
/// Holds back the forwarder's reset (HTTP/2 RST_STREAM) or abort of the client's call, so the ingress can end the
/// call the gRPC way instead: trailers with the status that says what happened (UNAVAILABLE when the replica was
/// lost mid-call, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED). <see cref="Release"/> passes a held reset on when the
/// reset itself is the right answer (the backend cancelled the call, the client is gone).
/// </summary>
internal sealed class CallResetGuard : IHttpResetFeature, IHttpRequestLifetimeFeature
{
    private readonly IHttpResetFeature? _reset;
    private readonly IHttpRequestLifetimeFeature _lifetime;
    private int? _heldReset;
    private bool _heldAbort;

    private CallResetGuard(IHttpResetFeature? reset, IHttpRequestLifetimeFeature lifetime)
    {
        _reset = reset;
        _lifetime = lifetime;
    }

    /// <summary>True when the forwarder asked to reset or abort the call.</summary>
    public bool Held => _heldReset is not null || _heldAbort;

    public CancellationToken RequestAborted
    {
        get => _lifetime.RequestAborted;
        set => _lifetime.RequestAborted = value;
    }

    public static CallResetGuard Install(HttpContext context)
    {
        var guard = new CallResetGuard(context.Features.Get<IHttpResetFeature>(), context.Features.GetRequiredFeature<IHttpRequestLifetimeFeature>());
        if (guard._reset is not null)
        {
            context.Features.Set<IHttpResetFeature>(guard);
        }

        context.Features.Set<IHttpRequestLifetimeFeature>(guard);
        return guard;
    }

    void IHttpResetFeature.Reset(int errorCode) => _heldReset = errorCode;

    void IHttpRequestLifetimeFeature.Abort() => _heldAbort = true;

    /// <summary>Forgets a held reset: the call was ended properly instead.</summary>
    public void Discard()
    {
        _heldReset = null;
        _heldAbort = false;
    }

    /// <summary>Passes a held reset or abort on.</summary>
    public void Release()
    {
        if (_heldReset is int code && _reset is not null)
        {
            _reset.Reset(code);
        }
        else if (_heldReset is not null || _heldAbort)
        {
            _lifetime.Abort();
        }

        Discard();
    }

    /// <summary>Resets the call now with an HTTP/2 error code (aborts an HTTP/1.1 exchange).</summary>
    public void ResetNow(int http2ErrorCode)
    {
        Discard();
        if (_reset is not null)
        {
            _reset.Reset(http2ErrorCode);
        }
        else
        {
            _lifetime.Abort();
        }
    }
}
