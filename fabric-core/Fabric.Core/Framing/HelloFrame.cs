using System.Buffers;
using System.Buffers.Binary;
using Fabric.Core.Sessions;

namespace Fabric.Core.Framing;

/// <summary>
/// HELLO payload (stream id 0), the first frame each side sends:
/// <code>
/// +--------+--------+--------+--------+-- count x --------------------------------------+
/// |     version     |  setting count  | setting id (16) | setting value (32)            |
/// +--------+--------+--------+--------+--------------------------------------------------+
/// </code>
/// </summary>
internal readonly record struct HelloFrame(ushort Version, SessionSettings Settings)
{
    public const ushort CurrentVersion = 1;
    public const int MaxSettings = 32;
    private const int SettingSize = 6;

    public static int FrameSize => FrameHeader.Size + 4 + (4 * SettingSize);

    public int WriteTo(Span<byte> destination)
    {
        const int payload = 4 + (4 * SettingSize);
        new FrameHeader(FrameType.Hello, 0, payload, 0).Write(destination);
        Span<byte> p = destination[FrameHeader.Size..];
        BinaryPrimitives.WriteUInt16BigEndian(p, Version);
        BinaryPrimitives.WriteUInt16BigEndian(p[2..], 4);
        WriteSetting(p[4..], SettingId.MaxFramePayload, Settings.MaxFramePayload);
        WriteSetting(p[10..], SettingId.MaxConcurrentStreams, Settings.MaxConcurrentStreams);
        WriteSetting(p[16..], SettingId.InitialStreamWindow, Settings.InitialStreamWindow);
        WriteSetting(p[22..], SettingId.SessionWindow, Settings.SessionWindow);
        return FrameHeader.Size + payload;
    }

    private static void WriteSetting(Span<byte> destination, SettingId id, int value)
    {
        BinaryPrimitives.WriteUInt16BigEndian(destination, (ushort)id);
        BinaryPrimitives.WriteUInt32BigEndian(destination[2..], (uint)value);
    }

    /// <summary>Parses and validates a HELLO; settings a peer omits keep the protocol defaults given.</summary>
    public static HelloFrame Parse(in ReadOnlySequence<byte> payload, SessionSettings defaults)
    {
        if (payload.Length < 4)
        {
            throw new FabricProtocolException(FabricErrorCode.FrameSizeError, "HELLO shorter than 4 bytes");
        }

        Span<byte> head = stackalloc byte[4];
        payload.Slice(0, 4).CopyTo(head);
        ushort version = BinaryPrimitives.ReadUInt16BigEndian(head);
        int count = BinaryPrimitives.ReadUInt16BigEndian(head[2..]);
        if (count > MaxSettings)
        {
            throw new FabricProtocolException(FabricErrorCode.ProtocolError, $"HELLO carries {count} settings; the limit is {MaxSettings}");
        }

        if (payload.Length != 4 + ((long)count * SettingSize))
        {
            throw new FabricProtocolException(FabricErrorCode.FrameSizeError, "HELLO length does not match its setting count");
        }

        int maxFrame = defaults.MaxFramePayload, maxStreams = defaults.MaxConcurrentStreams;
        int streamWindow = defaults.InitialStreamWindow, sessionWindow = defaults.SessionWindow;
        Span<ushort> seen = stackalloc ushort[MaxSettings]; // every id so far, unknown ones included
        Span<byte> setting = stackalloc byte[SettingSize];
        for (int i = 0; i < count; i++)
        {
            payload.Slice(4 + (i * SettingSize), SettingSize).CopyTo(setting);
            ushort id = BinaryPrimitives.ReadUInt16BigEndian(setting);
            uint value = BinaryPrimitives.ReadUInt32BigEndian(setting[2..]);
            if (seen[..i].Contains(id))
            {
                throw new FabricProtocolException(FabricErrorCode.ProtocolError, $"HELLO repeats setting {id}");
            }

            seen[i] = id;

            switch ((SettingId)id)
            {
                case SettingId.MaxFramePayload:
                    if (value < SessionSettings.MinFramePayload || value > FrameHeader.MaxPayload)
                    {
                        throw new FabricProtocolException(FabricErrorCode.ProtocolError, $"HELLO max frame payload {value} outside 1024..65535");
                    }

                    maxFrame = (int)value;
                    break;
                case SettingId.MaxConcurrentStreams:
                    maxStreams = (int)Math.Min(value, int.MaxValue);
                    break;
                case SettingId.InitialStreamWindow:
                    streamWindow = value <= FlowLimits.MaxWindow ? (int)value
                        : throw new FabricProtocolException(FabricErrorCode.FlowControlError, "HELLO initial stream window above 2^31-1");
                    break;
                case SettingId.SessionWindow:
                    sessionWindow = value <= FlowLimits.MaxWindow ? (int)value
                        : throw new FabricProtocolException(FabricErrorCode.FlowControlError, "HELLO session window above 2^31-1");
                    break;
                default:
                    break; // unknown settings are ignored by design
            }
        }

        return new HelloFrame(version, new SessionSettings(maxFrame, maxStreams, streamWindow, sessionWindow));
    }
}
