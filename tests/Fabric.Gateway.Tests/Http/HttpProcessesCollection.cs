namespace Fabric.Gateway.Tests.Http;

/// <summary>
/// The HTTP end-to-end classes each start several gateway processes and real peers; on a two-core machine they run
/// one class at a time (their fixtures are started when the class runs and stopped after it).
/// </summary>
[CollectionDefinition(Name)]
public sealed class HttpProcessesCollection
{
    public const string Name = "HTTP driver across gateway processes";
}
