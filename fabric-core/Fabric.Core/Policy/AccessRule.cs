namespace Fabric.Core.Policy;

/// <summary>
/// One access rule: which services (names, or <c>*</c>), which origin nodes (64-hex node ids, or <c>*</c>) and which
/// client source networks (CIDR, or <c>*</c>) it covers, and whether it allows or denies.
/// </summary>
public sealed record AccessRule(IReadOnlyList<string> Services, IReadOnlyList<string> Nodes, IReadOnlyList<string> Sources, AccessAction Action);
