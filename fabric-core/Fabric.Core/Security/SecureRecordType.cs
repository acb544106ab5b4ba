namespace Fabric.Core.Security;

/// <summary>Record types of the secure link (docs/PROTOCOL.md §2.2).</summary>
internal enum SecureRecordType : byte
{
    HandshakeInit = 0x01,
    HandshakeResponse = 0x02,
    Transport = 0x03,
}
