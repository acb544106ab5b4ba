namespace Benchmarks;

/// <summary>Command-line switches shared by the scenarios.</summary>
internal sealed record BenchmarkArgs(string Scenario, bool Quick, bool Saturate, IReadOnlyList<string> Rest)
{
    public static BenchmarkArgs Parse(string[] args)
    {
        if (args.Length == 0)
        {
            throw new ArgumentException("usage: Benchmarks <scenario> [--quick] [--saturate]");
        }

        var rest = new List<string>();
        bool quick = false, saturate = false;
        foreach (string a in args.Skip(1))
        {
            switch (a)
            {
                case "--quick": quick = true; break;
                case "--saturate": saturate = true; break;
                default: rest.Add(a); break;
            }
        }

        return new BenchmarkArgs(args[0], quick, saturate, rest);
    }
}
