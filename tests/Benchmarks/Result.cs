using System.Globalization;
using System.Text;

namespace Benchmarks;

/// <summary>Builds the final machine-readable line: <c>RESULT scenario key=value ...</c>.</summary>
internal sealed class Result(string scenario)
{
    private readonly StringBuilder _line = new($"RESULT {scenario}");

    public Result Add(string key, double value, string format = "0.###")
    {
        _line.Append(' ').Append(key).Append('=').Append(value.ToString(format, CultureInfo.InvariantCulture));
        return this;
    }

    public Result Add(string key, string value)
    {
        _line.Append(' ').Append(key).Append('=').Append(value);
        return this;
    }

    public override string ToString() => _line.ToString();
}
