using System.CommandLine;
using System.Text.Json;
using LiveImager.Engine.Imaging;
using LiveImager.Engine.Targets;
using LiveImager.Formats.ImageFormat;

namespace LiveImager.Cli;

/// <summary><c>liveimager images LOCATION [--json]</c>: the images in a store, from their headers, metadata and
/// footers only, and the store's free space.</summary>
internal static class ImagesCommand
{
    public static Command Create()
    {
        var location = new Argument<string>("location")
        {
            Description = "A directory, smb://[domain;]user@host/share/path, nfs://host/export/path, ssh://user@host[:port]/path, s3://[access-key@]host[:port]/bucket/prefix or dev:///dev/sdb1/path",
        };
        var json = new Option<bool>("--json") { Description = "Print the listing as JSON" };
        var store = new StoreCliOptions();
        var command = new Command("images", "List the images in a store, with source disk, size, date and whether each is complete") { location, json };
        store.AddTo(command);
        command.SetAction(parse => CliErrors.Run("images", parse.InvocationConfiguration.Error, () =>
        {
            StoreLocation where = StoreLocation.Parse(parse.GetRequiredValue(location));
            StoreListing listing;
            if (where.Kind == StoreKind.S3)
            {
                using S3Store objects = S3Store.Open(where, store.Build(parse));
                listing = objects.List();
            }
            else
            {
                using MountedStore mounted = new StoreMounter(store.Build(parse)).Mount(where);
                listing = StoreListing.Of(mounted);
            }
            TextWriter output = parse.InvocationConfiguration.Output;
            if (parse.GetValue(json))
            {
                output.WriteLine(JsonSerializer.Serialize(listing, ImagesJsonContext.Default.StoreListing));
            }
            else
            {
                Write(listing, output);
            }
            return 0;
        }));
        return command;
    }

    /// <summary>The images in the listing that name <paramref name="image"/> as their base (by name; restore checks the id).</summary>
    private static IReadOnlyList<string> Dependents(StoreListing listing, StoredImage image) =>
        [.. listing.Images.Where(other => other.Metadata?.Base?.Name == image.Name).Select(other => other.Name)];

    private static void Write(StoreListing listing, TextWriter output)
    {
        string free = listing.FreeBytes < 0 ? "object store" : $"{ByteSize.Format(listing.FreeBytes)} free";
        output.WriteLine($"{listing.Location}: {free}, {listing.Images.Count} image(s)");
        if (listing.HostKey is { } key)
        {
            output.WriteLine(listing.HostKeyPinned == true ? $"SSH host key {key}, as pinned"
                : $"SSH host key {key}, trusted on first use (pin it: add ?hostkey={key} to the URL)");
        }
        foreach (StoredImage image in listing.Images)
        {
            string state = image.Complete ? "complete" : $"INCOMPLETE: {image.Problem}";
            string kind = image.Format == "clonezilla" ? "  Clonezilla image" : image.Encrypted ? "  encrypted (info/restore ask for its passphrase)" : "";
            output.WriteLine($"{image.Name}{kind}  {ByteSize.Format(image.SizeBytes)}{(image.Volumes > 1 ? $" in {image.Volumes} volumes" : "")}  {state}");
            if (image.Metadata is { } m)
            {
                output.WriteLine($"  captured {m.CreatedUtc:u} from {m.Source.Path} {m.Source.Model} {m.Source.Serial} " +
                    $"({ByteSize.Format(m.Source.SizeBytes)}), {ByteSize.Format(m.DataBytes)} of data");
                foreach (PartitionInfo p in m.Partitions)
                {
                    output.WriteLine($"  partition {p.Number}: {ByteSize.Format(p.SizeBytes)} {p.Filesystem}{(p.Label is null ? "" : $" \"{p.Label}\"")}");
                }
                if (m.Base is { } onBase)
                {
                    bool present = listing.Images.Any(other => other.Name == onBase.Name && other.Metadata is not null);
                    output.WriteLine($"  incremental on {onBase.Name}{(present ? string.Empty : " (NOT in this store: it cannot be restored)")}; " +
                        $"this link adds {ByteSize.Format(image.SizeBytes)}");
                }
                IReadOnlyList<string> dependents = Dependents(listing, image);
                if (dependents.Count > 0)
                {
                    output.WriteLine($"  base of {string.Join(", ", dependents)}: keep it while they are kept");
                }
            }
        }
    }
}
