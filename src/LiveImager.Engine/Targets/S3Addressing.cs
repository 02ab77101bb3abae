namespace LiveImager.Engine.Targets;

/// <summary>How an s3:// store's server is addressed: its region (part of every request's signature), plain HTTP for a
/// lab server (<c>?tls=0</c>), and virtual-host style (<c>bucket.host</c>, <c>?style=virtual</c>) instead of the
/// path style (<c>host/bucket</c>) that MinIO, Ceph, Garage and NAS servers answer by default.</summary>
public sealed record S3Addressing(string Region = S3Addressing.DefaultRegion, bool PlainHttp = false, bool VirtualHost = false)
{
    /// <summary>The region AWS signs for when none is named, and the one most compatible servers accept whatever theirs.</summary>
    public const string DefaultRegion = "us-east-1";

    /// <summary>The URL query that reads back to these settings, "" for the defaults.</summary>
    public string Query
    {
        get
        {
            var options = new List<string>();
            if (Region != DefaultRegion)
            {
                options.Add($"region={Region}");
            }
            if (PlainHttp)
            {
                options.Add("tls=0");
            }
            if (VirtualHost)
            {
                options.Add("style=virtual");
            }
            return options.Count == 0 ? "" : "?" + string.Join('&', options);
        }
    }
}
