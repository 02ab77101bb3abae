using LiveImager.Engine.Targets;
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
