using Xunit;

namespace LiveImager.Formats.Tests.Support;

/// <summary>The one place the tests decide whether they may attach loop devices, mount and run servers: as root, as
/// `make test` and CI run them; elsewhere such a test skips and says why.</summary>
public static class Privileges
{
    public static bool IsRoot => Environment.UserName == "root";

    /// <summary>Skips the calling test unless it runs as root, saying what it needs root for.</summary>
    public static void RequireRoot(string why) =>
        Skip.IfNot(IsRoot, $"{why} (run `make test` as root, as CI does)");

    /// <summary>Skips unless loop devices can be attached: root, the loop driver, losetup and mount.</summary>
    public static void RequireLoopDevices(string why)
    {
        RequireRoot(why);
        Skip.IfNot(File.Exists("/dev/loop-control"), "needs the loop driver (/dev/loop-control is missing)");
        ExternalTool.Require("losetup", "mount");
    }
}
