using System.CommandLine;
using Fabric.Core.Security;

namespace Fabric.Gateway.Commands;

/// <summary>
/// The command-line tools of the gateway binary: <c>keygen</c>, <c>ca create</c>, <c>ca issue</c>. Anything else on
/// the command line is configuration for the host (<c>--Fabric:Listen=...</c>).
/// </summary>
internal static class GatewayCommands
{
    private static readonly string[] Names = ["keygen", "ca", "--help", "-h", "-?"];

    public static bool IsCommand(string[] args) => args.Length > 0 && Names.Contains(args[0]);

    public static int Run(string[] args, TextWriter output, TextWriter? error = null)
    {
        var keyOut = new Option<FileInfo>("--out") { Description = "Where to write the node's private key (PKCS#8 PEM, mode 0600).", Required = true };
        var keygen = new Command("keygen", "Create a node key pair; prints the node id and the public key to pin or certify.") { keyOut };
        keygen.SetAction(parse =>
        {
            FileInfo file = parse.GetValue(keyOut)!;
            using NodeIdentity identity = NodeIdentity.Generate();
            identity.Save(file.FullName);
            output.WriteLine($"key file:   {file.FullName} (mode 0600)");
            output.WriteLine($"node id:    {identity.Id}");
            output.WriteLine($"short id:   {identity.Id.ShortForm}");
            output.WriteLine($"public key: {Convert.ToBase64String(identity.PublicKey)}");
            return 0;
        });

        var caOut = new Option<FileInfo>("--out") { Description = "Where to write the CA private key (PKCS#8 PEM, mode 0600).", Required = true };
        var caCreate = new Command("create", "Create a fabric CA key; prints the CA public key nodes list under Fabric:Trust:Authorities.") { caOut };
        caCreate.SetAction(parse =>
        {
            FileInfo file = parse.GetValue(caOut)!;
            using FabricCertificateAuthority ca = FabricCertificateAuthority.Create();
            ca.Save(file.FullName);
            output.WriteLine($"CA key file:   {file.FullName} (mode 0600)");
            output.WriteLine($"CA public key: {Convert.ToBase64String(ca.PublicKey)}");
            return 0;
        });

        var caKey = new Option<FileInfo>("--ca") { Description = "The CA private key file.", Required = true };
        var nodeKey = new Option<string>("--node-public-key") { Description = "The node's public key (base64, from keygen).", Required = true };
        var name = new Option<string>("--name") { Description = "Node name.", Required = true };
        var roles = new Option<string[]>("--role") { Description = "A role (repeatable): entry, relay, exit, service-host.", AllowMultipleArgumentsPerToken = true };
        var days = new Option<int>("--days") { Description = "Validity in days.", DefaultValueFactory = _ => 365 };
        var serial = new Option<ulong>("--serial") { Description = "Serial number (unique per CA).", Required = true };
        var certOut = new Option<FileInfo>("--out") { Description = "Where to write the certificate.", Required = true };
        var caIssue = new Command("issue", "Issue a node certificate.") { caKey, nodeKey, name, roles, days, serial, certOut };
        caIssue.SetAction(parse =>
        {
            using FabricCertificateAuthority ca = FabricCertificateAuthority.Load(parse.GetValue(caKey)!.FullName);
            byte[] publicKey = PublicKeys.ParseBase64(parse.GetValue(nodeKey)!);
            DateTimeOffset now = DateTimeOffset.UtcNow;
            NodeCertificate certificate = ca.Issue(publicKey, parse.GetValue(name)!, parse.GetValue(roles) ?? [], now.AddMinutes(-5), now.AddDays(parse.GetValue(days)), parse.GetValue(serial));
            FileInfo file = parse.GetValue(certOut)!;
            File.WriteAllBytes(file.FullName, certificate.Encoded);
            output.WriteLine($"certificate: {file.FullName}");
            output.WriteLine($"node:        {certificate.Name} {certificate.NodeId.ShortForm}, roles [{string.Join(", ", certificate.Roles)}], serial {certificate.Serial}, valid until {certificate.NotAfter:u}");
            return 0;
        });

        var root = new RootCommand("Fabric Gateway. Without a command it runs the gateway on appsettings.json.")
        {
            keygen,
            new Command("ca", "Fabric certificate authority tools.") { caCreate, caIssue },
        };
        try
        {
            return root.Parse(args).Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException or ArgumentException or System.Security.Cryptography.CryptographicException)
        {
            (error ?? Console.Error).WriteLine($"error: {ex.Message}");
            return 1;
        }
    }
}
