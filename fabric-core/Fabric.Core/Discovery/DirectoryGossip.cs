using System.Buffers;
using Fabric.Core.Security;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Fabric.Core.Discovery;

/// <summary>
/// Keeps a node's <see cref="ServiceDirectory"/> in step with its neighbors: a neighbor that connects gets the
/// whole table; every change is passed on to the other neighbors with this node's path (hops, RTT). A neighbor that
/// is this node's next hop towards an origin is told WITHDRAW instead (split horizon with poisoned reverse), so two
/// nodes never route to an origin through each other. Lost and expired origins are withdrawn everywhere. Thread-safe.
/// </summary>
public sealed partial class DirectoryGossip
{
    private readonly ServiceDirectory _directory;
    private readonly ILogger _logger;
    private readonly Lock _lock = new();
    private readonly Dictionary<NodeId, List<IControlChannel>> _neighbors = [];

    /// <summary>Creates the gossip engine for <paramref name="directory"/>.</summary>
    public DirectoryGossip(ServiceDirectory directory, ILogger? logger = null)
    {
        _directory = directory;
        _logger = logger ?? NullLogger.Instance;
    }

    /// <summary>The directory kept in step.</summary>
    public ServiceDirectory Directory => _directory;

    /// <summary>Neighbors with at least one control channel.</summary>
    public IReadOnlyList<NodeId> Neighbors
    {
        get
        {
            lock (_lock)
            {
                return [.. _neighbors.Keys];
            }
        }
    }

    /// <summary>A control channel came up: the neighbor gets the whole table (unless another channel to it already did).</summary>
    public void AddChannel(IControlChannel channel)
    {
        ArgumentNullException.ThrowIfNull(channel);
        bool first;
        lock (_lock)
        {
            if (!_neighbors.TryGetValue(channel.Neighbor, out List<IControlChannel>? list))
            {
                _neighbors[channel.Neighbor] = list = [];
            }

            first = list.Count == 0;
            list.Add(channel);
        }

        foreach ((NodeAnnouncement announcement, int hops, TimeSpan rtt) in _directory.AdvertisementsFor(channel.Neighbor))
        {
            channel.TrySend(ControlMessage.Announce(announcement, hops, rtt));
        }

        if (first)
        {
            Log.NeighborUp(_logger, channel.Neighbor.ShortForm);
        }
    }

    /// <summary>A control channel went down; when it was the neighbor's last, every path through it goes.</summary>
    public void RemoveChannel(IControlChannel channel)
    {
        ArgumentNullException.ThrowIfNull(channel);
        lock (_lock)
        {
            if (!_neighbors.TryGetValue(channel.Neighbor, out List<IControlChannel>? list) || !list.Remove(channel) || list.Count > 0)
            {
                return;
            }

            _neighbors.Remove(channel.Neighbor);
        }

        Log.NeighborDown(_logger, channel.Neighbor.ShortForm);
        (IReadOnlyList<NodeId> lost, IReadOnlyList<NodeId> changed) = _directory.NeighborLost(channel.Neighbor);
        foreach (NodeId origin in lost)
        {
            Broadcast(ControlMessage.Withdraw(origin), except: default);
        }

        foreach (NodeId origin in changed)
        {
            Propagate(origin);
        }
    }

    /// <summary>Handles an ANNOUNCE or WITHDRAW that arrived over <paramref name="from"/>. Malformed ones are counted and dropped.</summary>
    public void OnMessage(IControlChannel from, ControlMessageType type, in ReadOnlySequence<byte> body)
    {
        ArgumentNullException.ThrowIfNull(from);
        byte[] bytes = body.ToArray();
        switch (type)
        {
            case ControlMessageType.Announce:
                NodeAnnouncement announcement;
                int hops;
                TimeSpan rtt;
                try
                {
                    (announcement, hops, rtt) = ControlMessage.ReadAnnounce(bytes);
                }
                catch (FormatException ex)
                {
                    _directory.Statistics.OnIgnored(IgnoredReason.Malformed);
                    Log.BadAnnouncement(_logger, from.Neighbor.ShortForm, ex.Message);
                    return;
                }

                switch (_directory.ApplyAnnouncement(from.Neighbor, announcement, hops + 1, rtt + from.LinkRtt))
                {
                    case DirectoryChange.Changed:
                        Propagate(announcement.Origin);
                        break;
                    case DirectoryChange.Lost: // the sender's path grew past the hop limit and it was the last one
                        Broadcast(ControlMessage.Withdraw(announcement.Origin), except: from.Neighbor);
                        break;
                    default:
                        break;
                }

                break;
            case ControlMessageType.Withdraw:
                NodeId origin;
                try
                {
                    origin = ControlMessage.ReadWithdraw(bytes);
                }
                catch (FormatException)
                {
                    _directory.Statistics.OnIgnored(IgnoredReason.Malformed);
                    return;
                }

                switch (_directory.ApplyWithdrawal(from.Neighbor, origin))
                {
                    case DirectoryChange.Lost:
                        Broadcast(ControlMessage.Withdraw(origin), except: from.Neighbor);
                        break;
                    case DirectoryChange.Changed:
                        Propagate(origin);
                        break;
                    default:
                        break;
                }

                break;
            default:
                break; // MANIFEST is the node's business
        }
    }

    /// <summary>Publishes this node's own (new) announcement to every neighbor.</summary>
    public void PublishLocal(NodeAnnouncement own)
    {
        _directory.SetLocal(own);
        Broadcast(ControlMessage.Announce(own, 0, TimeSpan.Zero), except: default);
    }

    /// <summary>Drops origins whose TTL ran out and withdraws them from the neighbors.</summary>
    public void Expire()
    {
        foreach (NodeId origin in _directory.ExpireStale())
        {
            Broadcast(ControlMessage.Withdraw(origin), except: default);
        }
    }

    /// <summary>Tells every neighbor this node's current view of <paramref name="origin"/>.</summary>
    private void Propagate(NodeId origin)
    {
        IControlChannel[] channels = FirstChannels();
        byte[]? announce = null;
        byte[]? withdraw = null;
        foreach (IControlChannel channel in channels)
        {
            if (_directory.AdvertisementFor(origin, channel.Neighbor) is { } advertisement)
            {
                announce ??= ControlMessage.Announce(advertisement.Announcement, advertisement.Hops, advertisement.Rtt);
                channel.TrySend(announce);
            }
            else
            {
                withdraw ??= ControlMessage.Withdraw(origin);
                channel.TrySend(withdraw);
            }
        }
    }

    private void Broadcast(byte[] message, NodeId except)
    {
        foreach (IControlChannel channel in FirstChannels())
        {
            if (channel.Neighbor != except)
            {
                channel.TrySend(message);
            }
        }
    }

    private IControlChannel[] FirstChannels()
    {
        lock (_lock)
        {
            return [.. _neighbors.Values.Where(l => l.Count > 0).Select(l => l[0])];
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1300, Level = LogLevel.Debug, Message = "Directory neighbor {Neighbor} up")]
        public static partial void NeighborUp(ILogger logger, string neighbor);

        [LoggerMessage(EventId = 1301, Level = LogLevel.Information, Message = "Directory neighbor {Neighbor} down: its paths are withdrawn")]
        public static partial void NeighborDown(ILogger logger, string neighbor);

        [LoggerMessage(EventId = 1302, Level = LogLevel.Warning, Message = "Malformed announcement from {Neighbor} ignored: {Reason}")]
        public static partial void BadAnnouncement(ILogger logger, string neighbor, string reason);
    }
}
