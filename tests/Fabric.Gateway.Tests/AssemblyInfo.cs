// The gateway and its tests run on Linux (Debian); file modes are part of what is tested.
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
