using LiveImager.Engine.Targets;
using LiveImager.Formats.Tests.Support;
using Xunit;

namespace LiveImager.Engine.Tests.Targets;

/// <summary>s3:// URLs through the one store parser, the SigV4 signer against AWS's published example, and where
/// the access key and secret come from.</summary>
public sealed class S3LocationTests
{
    [Fact]
    public void AnS3UrlNamesHostBucketPrefixAndAddressing()
    {
        StoreLocation location = StoreLocation.Parse("s3://AKIA1@minio.lan:9000/images/office/pc.lim?region=eu-west-3&tls=0&style=virtual");

        Assert.Equal(StoreKind.S3, location.Kind);
        Assert.Equal("minio.lan", location.Host);
        Assert.Equal(9000, location.Port);
        Assert.Equal("AKIA1", location.User);
        Assert.Equal("images", location.Share);
        Assert.Equal("/office/pc.lim", location.Path);
        Assert.Equal(new S3Addressing("eu-west-3", PlainHttp: true, VirtualHost: true), location.S3);
        Assert.Equal("s3://AKIA1@minio.lan:9000/images/office/pc.lim", location.ToString());
        Assert.Equal(location, StoreLocation.Parse(location.ToUrl()));
        var (directory, name) = location.SplitFile();
        Assert.Equal(("/office", "pc.lim"), (directory.Path, name));
        Assert.Equal(new S3Addressing(), StoreLocation.Parse("s3://nas/backups").S3);
    }

    [Theory]
    [InlineData("s3://key:secret@nas/images", "a password does not belong in the URL")]
    [InlineData("s3://nas", "the bucket is missing")]
    [InlineData("s3://nas/Images", "'Images' is not a bucket name")]
    [InlineData("s3://nas/ab", "'ab' is not a bucket name")]
    [InlineData("s3://nas/images?region=EU WEST", "does not belong in a URL")]
    [InlineData("s3://nas/images?region=eu_west", "is not a region name")]
    [InlineData("s3://nas/images?tls=maybe", "the query options of s3:// are region=, tls=0 and style=virtual")]
    [InlineData("s3://nas/images?vers=3", "vers= applies to smb:// and nfs:// only")]
    [InlineData("s3://nas/images/a/..%2Fb", "decodes to")]
    public void BadS3UrlsNameWhatIsWrong(string url, string expected)
    {
        var e = Assert.Throws<StoreException>(() => StoreLocation.Parse(url));

        Assert.Equal(StoreProblem.BadLocation, e.Problem);
        Assert.Contains(expected, e.Message);
        Assert.DoesNotContain("secret", e.Message);
    }

    /// <summary>The AWS S3 API reference's SigV4 example "GET Bucket (List Objects)": examplebucket, max-keys=2,
    /// prefix=J, 2013-05-24, the documentation's example key pair; its published signature.</summary>
    [Fact]
    public void TheSignatureMatchesAwsPublishedExample()
    {
        var signer = new S3Signer("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "us-east-1");
        using var request = new HttpRequestMessage(HttpMethod.Get, "https://examplebucket.s3.amazonaws.com/?max-keys=2&prefix=J");

        signer.Sign(request, S3Signer.EmptyPayloadHash, new DateTimeOffset(2013, 5, 24, 0, 0, 0, TimeSpan.Zero));

        Assert.Equal("AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, " +
            "SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7",
            string.Join("", request.Headers.GetValues("Authorization")));
        Assert.Equal("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", S3Signer.EmptyPayloadHash);
    }

    /// <summary>The same published request signed with temporary credentials: the session token is sent as
    /// <c>x-amz-security-token</c> and signed. AWS publishes no S3 example with a token, so the expected value is the
    /// one botocore's <c>S3SigV4Auth</c> (1.43.11) gives for this request, token and time; botocore gives the published
    /// signature above for the request without a token.</summary>
    [Fact]
    public void ASessionTokenIsSentAndSignedAsBotocoreSignsIt()
    {
        const string Token = "FQoGZXIvYXdzEXAMPLETOKEN//////////wEaDEXAMPLE=";
        var signer = new S3Signer("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "us-east-1", Token);
        using var request = new HttpRequestMessage(HttpMethod.Get, "https://examplebucket.s3.amazonaws.com/?max-keys=2&prefix=J");

        signer.Sign(request, S3Signer.EmptyPayloadHash, new DateTimeOffset(2013, 5, 24, 0, 0, 0, TimeSpan.Zero));

        Assert.Equal(Token, string.Join("", request.Headers.GetValues("x-amz-security-token")));
        Assert.Equal("AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, " +
            "SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-security-token, " +
            "Signature=b2cf101425be6639cb9d069df48afca2be44143e8a8e8a469a93c0b507d025fe",
            string.Join("", request.Headers.GetValues("Authorization")));
    }

    /// <summary>A random key pair, token, region, key and payload signed by our signer and by botocore (where Python
    /// has it) give the same Authorization header.</summary>
    [SkippableFact]
    public void RandomRequestsWithATokenAreSignedAsBotocoreSignsThem()
    {
        Skip.IfNot(ExternalTool.Exists("python3") && ExternalTool.RunUnchecked("python3", null, "-c", "import botocore.auth").ExitCode == 0,
            "needs python3 with botocore as an independent SigV4 signer");
        string secret = Convert.ToBase64String(Guid.NewGuid().ToByteArray());
        string token = Convert.ToBase64String(Guid.NewGuid().ToByteArray()) + "/" + Guid.NewGuid().ToString("N");
        byte[] payload = Guid.NewGuid().ToByteArray();
        string hash = S3Signer.Hash(payload);
        string url = $"http://127.0.0.1:9000/images/office/pc%20{Random.Shared.Next(1000)}.lim?partNumber=3&uploadId={Guid.NewGuid():N}";
        var signer = new S3Signer("LABKEY", secret, "eu-west-3", token);
        using var request = new HttpRequestMessage(HttpMethod.Put, url);

        signer.Sign(request, hash, new DateTimeOffset(2026, 12, 7, 19, 30, 5, TimeSpan.Zero));

        const string Oracle = """
            import datetime, sys, botocore.auth
            from botocore.awsrequest import AWSRequest
            from botocore.credentials import Credentials
            botocore.auth.get_current_datetime = lambda remove_tzinfo=True: datetime.datetime(2026, 12, 7, 19, 30, 5)
            secret, token, url, payload = sys.argv[1:5]
            request = AWSRequest(method='PUT', url=url, data=bytes.fromhex(payload))
            request.context['payload_signing_enabled'] = True
            botocore.auth.S3SigV4Auth(Credentials('LABKEY', secret, token), 's3', 'eu-west-3').add_auth(request)
            print(request.headers['Authorization'])
            """;
        string expected = ExternalTool.Run("python3", "-c", Oracle, secret, token, url, Convert.ToHexStringLower(payload)).Trim();
        Assert.Equal(expected, string.Join("", request.Headers.GetValues("Authorization")));
    }

    /// <summary>Path style sends <c>host/bucket/key</c>, virtual-host style <c>bucket.host/key</c> (the AWS S3 user
    /// guide, "Virtual hosting of buckets"), each with the port, scheme and escaped key; the signature covers the host
    /// the request goes to. (A real server is asked path style only: a name such as images.s3.localhost does not
    /// resolve here without a hosts entry.)</summary>
    [Fact]
    public void PathAndVirtualHostStyleAddressTheBucketAsS3Does()
    {
        var credentials = new S3Credentials("KEY", "secret");
        using var path = new S3Client(StoreLocation.Parse("s3://minio.lan:9000/images/office?tls=0"), credentials);
        using var virtualHost = new S3Client(StoreLocation.Parse("s3://s3.eu-west-3.amazonaws.com/images/office?region=eu-west-3&style=virtual"), credentials);

        Assert.Equal("http://minio.lan:9000/images/office/pc%20one.lim?uploads", path.RequestUri("office/pc one.lim", "uploads").AbsoluteUri);
        Assert.Equal("http://minio.lan:9000/images?list-type=2", path.RequestUri("", "list-type=2").AbsoluteUri);
        Assert.Equal("https://images.s3.eu-west-3.amazonaws.com/office/pc%20one.lim?uploads", virtualHost.RequestUri("office/pc one.lim", "uploads").AbsoluteUri);
        Assert.Equal("https://images.s3.eu-west-3.amazonaws.com/?list-type=2", virtualHost.RequestUri("", "list-type=2").AbsoluteUri);
        var signer = new S3Signer("KEY", "secret", "eu-west-3");
        using var request = new HttpRequestMessage(HttpMethod.Get, virtualHost.RequestUri("office/pc.lim", ""));
        signer.Sign(request, S3Signer.EmptyPayloadHash, DateTimeOffset.UnixEpoch);
        Assert.Equal("images.s3.eu-west-3.amazonaws.com", request.Headers.Host);
    }

    [Fact]
    public void ASessionTokenComesWithItsSecret()
    {
        StoreLocation location = StoreLocation.Parse("s3://KEY@nas/images");
        var environment = new Dictionary<string, string?> { ["AWS_SECRET_ACCESS_KEY"] = "env-secret", ["AWS_SESSION_TOKEN"] = "env-token" };

        Assert.Equal(new S3Credentials("KEY", "env-secret", "env-token"), S3Credentials.Resolve(location, StoreCredentials.None, environment.GetValueOrDefault));
        Assert.Equal(new S3Credentials("KEY", "given", "env-token"), S3Credentials.Resolve(location, new StoreCredentials("given"), environment.GetValueOrDefault));
        Assert.Equal("KEY", new S3Credentials("KEY", "s", "t").ToString());
        string directory = Directory.CreateTempSubdirectory("s3cred-").FullName;
        try
        {
            string file = Path.Combine(directory, "credentials");
            File.WriteAllText(file, "[default]\naws_secret_access_key = file-secret\naws_session_token = file-token\n");
            var fromFile = new Dictionary<string, string?> { ["AWS_SHARED_CREDENTIALS_FILE"] = file, ["AWS_SESSION_TOKEN"] = "stray-env-token" };
            Assert.Equal(new S3Credentials("KEY", "file-secret", "file-token"), S3Credentials.Resolve(location, StoreCredentials.None, fromFile.GetValueOrDefault));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public void TheSecretComesFromThePasswordThenAwsVariablesThenTheCredentialsFile()
    {
        string directory = Directory.CreateTempSubdirectory("s3cred-").FullName;
        try
        {
            string file = Path.Combine(directory, "credentials");
            File.WriteAllText(file, "[default]\naws_access_key_id = FILEKEY\naws_secret_access_key = file-secret\n[lab]\naws_access_key_id=LABKEY\naws_secret_access_key=lab-secret\n");
            var environment = new Dictionary<string, string?> { ["AWS_SHARED_CREDENTIALS_FILE"] = file };
            StoreLocation noKey = StoreLocation.Parse("s3://nas/images");
            StoreLocation withKey = StoreLocation.Parse("s3://URLKEY@nas/images");

            Assert.Equal(new S3Credentials("FILEKEY", "file-secret"), S3Credentials.Resolve(noKey, StoreCredentials.None, environment.GetValueOrDefault));
            environment["AWS_PROFILE"] = "lab";
            Assert.Equal(new S3Credentials("LABKEY", "lab-secret"), S3Credentials.Resolve(noKey, StoreCredentials.None, environment.GetValueOrDefault));
            environment["AWS_ACCESS_KEY_ID"] = "ENVKEY";
            environment["AWS_SECRET_ACCESS_KEY"] = "env-secret";
            Assert.Equal(new S3Credentials("ENVKEY", "env-secret"), S3Credentials.Resolve(noKey, StoreCredentials.None, environment.GetValueOrDefault));
            Assert.Equal(new S3Credentials("URLKEY", "given"), S3Credentials.Resolve(withKey, new StoreCredentials("given"), environment.GetValueOrDefault));
            Assert.Equal("URLKEY", new S3Credentials("URLKEY", "given").ToString());
            var missing = Assert.Throws<StoreException>(() => S3Credentials.Resolve(withKey, StoreCredentials.None, _ => null));
            Assert.Contains("no secret key for access key URLKEY", missing.Message);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Theory]
    [InlineData(0, 32 << 20)]
    [InlineData(100L << 30, 32 << 20)]
    [InlineData(1L << 40, 117 << 20)]
    [InlineData(5L << 40, 583 << 20)]
    public void PartsGrowSoThatTheImageFitsInS3sPartCount(long expectedBytes, int partBytes)
    {
        Assert.Equal(partBytes, S3UploadStream.PartBytesFor(expectedBytes));
        Assert.True((long)partBytes * 9_000 >= expectedBytes);
    }
}
