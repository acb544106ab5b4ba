using Fabric.Core.Sessions;

namespace Fabric.Core.Tests.Sessions;

/// <summary>What one stream of <see cref="StreamChurnTests"/> does: bytes each way, how each side ends, its class, its random seed.</summary>
internal sealed record StreamChurnPlan(int ForwardBytes, int BackwardBytes, StreamEnding OpenerEnding, StreamEnding AcceptorEnding, TrafficClass Class, int Seed);
