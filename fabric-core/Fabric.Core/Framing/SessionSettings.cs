namespace Fabric.Core.Framing;

/// <summary>Setting identifiers carried in HELLO. Unknown identifiers are ignored so later revisions can add more.</summary>
internal enum SettingId : ushort
{
    /// <summary>Largest DATA payload the sender accepts (1024..65535).</summary>
    MaxFramePayload = 1,

    /// <summary>How many streams opened by the peer the sender keeps open at once.</summary>
    MaxConcurrentStreams = 2,

    /// <summary>Receive window the sender grants to each stream the peer opens (the peer's initial send credit).</summary>
    InitialStreamWindow = 3,

    /// <summary>Session-level receive window the sender grants (the peer's initial session send credit).</summary>
    SessionWindow = 4,
}

/// <summary>The settings one side announces in HELLO, after validation.</summary>
internal readonly record struct SessionSettings(int MaxFramePayload, int MaxConcurrentStreams, int InitialStreamWindow, int SessionWindow)
{
    public const int MinFramePayload = 1024;
}
