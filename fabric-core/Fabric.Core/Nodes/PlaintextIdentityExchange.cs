using System.Buffers;
using System.IO.Pipelines;
using Fabric.Core.Links;
using Fabric.Core.Security;

namespace Fabric.Core.Nodes;

/// <summary>
/// On a plaintext link (tests, benchmarks) each side just sends its 65-byte public key first, so peers still have
/// ids for routing. Nothing is proven: <see cref="PeerConnection.Authenticated"/> is false on such links.
/// </summary>
internal static class PlaintextIdentityExchange
{
    public static async Task<byte[]> ExchangeAsync(IFabricLink link, byte[] ownPublicKey, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout);
        await link.Output.WriteAsync(ownPublicKey, cts.Token).ConfigureAwait(false);
        while (true)
        {
            ReadResult result = await link.Input.ReadAsync(cts.Token).ConfigureAwait(false);
            if (result.Buffer.Length >= PublicKeys.Size)
            {
                byte[] key = result.Buffer.Slice(0, PublicKeys.Size).ToArray();
                link.Input.AdvanceTo(result.Buffer.GetPosition(PublicKeys.Size));
                if (!PublicKeys.IsValid(key))
                {
                    throw new IOException("plaintext peer sent an invalid public key");
                }

                return key;
            }

            if (result.IsCompleted)
            {
                throw new IOException("plaintext peer closed before sending its public key");
            }

            link.Input.AdvanceTo(result.Buffer.Start, result.Buffer.End);
        }
    }
}
