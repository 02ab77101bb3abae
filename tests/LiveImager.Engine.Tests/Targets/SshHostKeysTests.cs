using LiveImager.Engine.Targets;
using LiveImager.Formats.Tests.Support;
using Xunit;

namespace LiveImager.Engine.Tests.Targets;

/// <summary>Fingerprints and known_hosts entries, checked against OpenSSH's own ssh-keygen.</summary>
public sealed class SshHostKeysTests : IDisposable
{
    private readonly ScratchDirectory _scratch = new();

    public void Dispose() => _scratch.Dispose();

    [SkippableTheory]
    [InlineData("ed25519")]
    [InlineData("ecdsa")]
    [InlineData("rsa")]
    public void TheFingerprintIsTheOneSshKeygenPrints(string type)
    {
        ExternalTool.Require("ssh-keygen", "openssh-client");
        string key = _scratch.File($"key_{type}");
        ExternalTool.Run("ssh-keygen", "-q", "-t", type, "-N", "", "-f", key);
        string expected = ExternalTool.Run("ssh-keygen", "-l", "-f", key + ".pub").Split(' ')[1];

        SshHostKey parsed = Assert.Single(SshHostKeys.Parse($"nas {File.ReadAllText(key + ".pub")}"));

        Assert.Equal(expected, parsed.Fingerprint);
        Assert.True(SshHostKeys.IsFingerprint(expected));
    }

    [SkippableFact]
    public void AHashedKnownHostsEntryIsFoundByItsHostAndPort()
    {
        ExternalTool.Require("ssh-keygen", "openssh-client");
        string key = _scratch.File("key");
        ExternalTool.Run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key);
        string blob = File.ReadAllText(key + ".pub").Split(' ')[1];
        string knownHosts = _scratch.File("known_hosts");
        File.WriteAllText(knownHosts, $"# a comment\n[10.0.2.2]:2222 ssh-ed25519 {blob}\nother.host ssh-ed25519 {blob}\n");
        // ssh-keygen -H rewrites the names as Debian's HashKnownHosts=yes does.
        ExternalTool.Run("ssh-keygen", "-H", "-f", knownHosts);
        IReadOnlyList<SshHostKey> keys = SshHostKeys.Parse(File.ReadAllText(knownHosts));

        Assert.All(keys, k => Assert.StartsWith("|1|", k.Hosts));
        Assert.Single(SshHostKeys.For(keys, SshHostKeys.KnownHostsName("10.0.2.2", 2222)));
        Assert.Single(SshHostKeys.For(keys, SshHostKeys.KnownHostsName("other.host", 22)));
        Assert.Empty(SshHostKeys.For(keys, SshHostKeys.KnownHostsName("10.0.2.2", null)));
    }

    [Theory]
    [InlineData("SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8", true)]
    [InlineData("SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8=", false)]
    [InlineData("SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY", false)]
    [InlineData("sha256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8", false)]
    [InlineData("SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5S!8", false)]
    public void OnlyASha256FingerprintIsOne(string text, bool expected) => Assert.Equal(expected, SshHostKeys.IsFingerprint(text));
}
