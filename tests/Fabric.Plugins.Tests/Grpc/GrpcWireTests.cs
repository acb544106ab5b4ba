using Fabric.Plugins.Grpc;
using FsCheck;
using FsCheck.Fluent;

namespace Fabric.Plugins.Tests.Grpc;

public sealed class GrpcWireTests
{
    [Theory]
    [InlineData("/grpc.testing.TestService/UnaryCall", "grpc.testing.TestService", "UnaryCall")]
    [InlineData("/Svc/M", "Svc", "M")]
    public void TryParsePath_MethodPath_ServiceAndMethod(string path, string service, string method)
    {
        Assert.True(GrpcWire.TryParsePath(path, out string s, out string m));
        Assert.Equal((service, method), (s, m));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("/")]
    [InlineData("//M")]
    [InlineData("/Svc/")]
    [InlineData("/Svc")]
    [InlineData("Svc/M")]
    [InlineData("/a/b/c")]
    public void TryParsePath_NotAMethodPath_False(string? path) => Assert.False(GrpcWire.TryParsePath(path, out _, out _));

    [Theory]
    [InlineData("application/grpc", true, false, false)]
    [InlineData("application/grpc+proto", true, false, false)]
    [InlineData("application/grpc;charset=x", true, false, false)]
    [InlineData("application/grpc-web", false, true, false)]
    [InlineData("application/grpc-web+proto", false, true, false)]
    [InlineData("application/grpc-web-text", false, false, true)]
    [InlineData("application/grpc-web-text+proto", false, false, true)]
    [InlineData("application/grpcx", false, false, false)]
    [InlineData("text/plain", false, false, false)]
    [InlineData(null, false, false, false)]
    public void ContentTypes_Classified(string? contentType, bool grpc, bool web, bool text)
    {
        Assert.Equal(grpc, GrpcWire.IsGrpc(contentType));
        Assert.Equal(web, GrpcWire.IsGrpcWeb(contentType));
        Assert.Equal(text, GrpcWire.IsGrpcWebText(contentType));
    }

    [Fact]
    public void EncodeMessage_InteropSpecialStatusMessage_PercentEncodedUtf8()
    {
        // The interop suite's special_status_message text.
        const string message = "\t\ntest with whitespace\r\nand Unicode BMP \u263A and non-BMP \U0001F608\t\n";

        string encoded = GrpcWire.EncodeMessage(message);

        Assert.Equal("%09%0Atest with whitespace%0D%0Aand Unicode BMP %E2%98%BA and non-BMP %F0%9F%98%88%09%0A", encoded);
        Assert.Equal(message, GrpcWire.DecodeMessage(encoded));
    }

    [Fact]
    public void EncodeMessage_AnyText_PrintableAsciiAndDecodesBack()
    {
        Property property = Prop.ForAll(Arb.From(ArbMap.Default.GeneratorFor<string>().Where(s => s is not null && !HasLoneSurrogate(s))), text =>
        {
            string encoded = GrpcWire.EncodeMessage(text);
            Assert.All(encoded, c => Assert.InRange(c, ' ', '~'));
            Assert.Equal(text, GrpcWire.DecodeMessage(encoded));
        });
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(500).WithQuietOnSuccess(true), property);
    }

    [Theory]
    [InlineData("100%", "100%")]
    [InlineData("%zz", "%zz")]
    [InlineData("%4", "%4")]
    [InlineData("a%41b", "aAb")]
    public void DecodeMessage_InvalidEscapes_KeptAsTheyAre(string value, string expected) => Assert.Equal(expected, GrpcWire.DecodeMessage(value));

    private static bool HasLoneSurrogate(string s)
    {
        for (int i = 0; i < s.Length; i++)
        {
            if (char.IsHighSurrogate(s[i]) && (i + 1 == s.Length || !char.IsLowSurrogate(s[i + 1])))
            {
                return true;
            }

            if (char.IsLowSurrogate(s[i]) && (i == 0 || !char.IsHighSurrogate(s[i - 1])))
            {
                return true;
            }
        }

        return false;
    }
}
