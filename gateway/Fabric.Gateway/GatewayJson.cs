using System.Text.Json;

namespace Fabric.Gateway;

/// <summary>JSON settings of the admin endpoints.</summary>
internal static class GatewayJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web) { WriteIndented = true };
}
