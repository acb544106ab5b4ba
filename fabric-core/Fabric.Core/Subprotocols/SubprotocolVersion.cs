using System.Globalization;

namespace Fabric.Core.Subprotocols;

/// <summary>A subprotocol version: major changes break compatibility, minor ones add to it.</summary>
public readonly record struct SubprotocolVersion(byte Major, byte Minor) : IComparable<SubprotocolVersion>
{
    /// <inheritdoc/>
    public int CompareTo(SubprotocolVersion other) => Major != other.Major ? Major.CompareTo(other.Major) : Minor.CompareTo(other.Minor);

    /// <summary>Orders versions.</summary>
    public static bool operator <(SubprotocolVersion left, SubprotocolVersion right) => left.CompareTo(right) < 0;

    /// <summary>Orders versions.</summary>
    public static bool operator >(SubprotocolVersion left, SubprotocolVersion right) => left.CompareTo(right) > 0;

    /// <summary>Orders versions.</summary>
    public static bool operator <=(SubprotocolVersion left, SubprotocolVersion right) => left.CompareTo(right) <= 0;

    /// <summary>Orders versions.</summary>
    public static bool operator >=(SubprotocolVersion left, SubprotocolVersion right) => left.CompareTo(right) >= 0;

    /// <summary>Parses "major.minor".</summary>
    public static SubprotocolVersion Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        string[] parts = text.Split('.');

        // Digits only: no sign, no white space, culture-independent.
        if (parts.Length != 2
            || !byte.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out byte major)
            || !byte.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out byte minor))
        {
            throw new FormatException($"'{text}' is not a version such as 1.0 (major.minor, each 0..255)");
        }

        return new SubprotocolVersion(major, minor);
    }

    /// <inheritdoc/>
    public override string ToString() => $"{Major}.{Minor}";
}
