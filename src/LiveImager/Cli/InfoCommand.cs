using System.CommandLine;
using LiveImager.Engine.Imaging;
using LiveImager.Engine.Targets;
using LiveImager.Formats.ImageFormat;

namespace LiveImager.Cli;

/// <summary><c>liveimager info IMAGE [--json]</c>: the image's metadata, from its header and metadata frame.</summary>
internal static class InfoCommand
{
    public static Command Create()
    {
        var image = new Argument<string>("image") { Description = "The image (its first volume when split): a path or a store URL" };
        var json = new Option<bool>("--json") { Description = "Print the metadata as JSON" };
        var command = new Command("info", "Show what an image holds: source disk, partitions, sizes") { image, json };
        var store = new StoreCliOptions();
        store.AddTo(command);
        var passphrase = new PassphraseCliOptions();
        passphrase.AddTo(command);
        command.SetAction(parse => Run(parse.GetRequiredValue(image), () => store.Build(parse),
            path => passphrase.ForReading(parse, path, parse.InvocationConfiguration.Error), parse.GetValue(json), parse.InvocationConfiguration.Output,
            parse.InvocationConfiguration.Error));
        return command;
    }

    private static int Run(string argument, Func<StoreOptions> storeOptions, Func<string, ImagePassphrase?> passphraseFor, bool json,
        TextWriter output, TextWriter error) => CliErrors.Run("info", error, () =>
    {
        using StoreImage image = StoreImage.Open(argument, storeOptions(), forWriting: false);
        string path = argument;
        using ImagePassphrase? passphrase = passphraseFor(image.Path);
        using var volumes = ImageInput.OpenVolumes(image.Path);
        // Header and metadata come first in every image; the footer, when there, adds the totals.
        using var reader = new ImageReader(volumes, passphrase);
        ImageMetadata metadata = reader.Metadata;
        ImageFooter? footer = null;
        string? footerProblem = null;
        string? compressionUsed = null;
        string? incremental = null;
        CaptureRecord? record = null;
        long dataFrames = 0;
        try
        {
            using var file = new ImageFile(ImageInput.OpenVolumes(image.Path), passphrase);
            footer = file.Footer;
            dataFrames = file.Index.Entries.Count;
            record = file.Record;
            // The levels actually used are known only at the end of a capture: its log says.
            compressionUsed = file.ReadLog().Split('\n').FirstOrDefault(l => l.StartsWith(CaptureJob.CompressionPrefix, StringComparison.Ordinal))?
                [CaptureJob.CompressionPrefix.Length..];
            incremental = file.ReadLog().Split('\n').FirstOrDefault(l => l.StartsWith(CaptureJob.IncrementalPrefix, StringComparison.Ordinal))?
                [CaptureJob.IncrementalPrefix.Length..];
        }
        catch (LiveImager.Formats.DiskFormatException e)
        {
            footerProblem = e.Message;
        }
        if (json)
        {
            output.WriteLine(System.Text.Encoding.UTF8.GetString(metadata.ToJsonBytes()));
            return footer is null ? CliErrors.Damaged : 0;
        }
        output.WriteLine($"Image:      {path} (format {reader.Header.Version}, id {reader.Header.ImageId}, chunk {ByteSize.Format(reader.Header.ChunkSize)}" +
            (reader.Header.IsSplit ? $", volumes of {ByteSize.Format(reader.Header.VolumeSize)}" : string.Empty) +
            (reader.Header.IsEncrypted ? ", encrypted: AES-256-GCM, key from the passphrase by Argon2id)" : ")"));
        output.WriteLine($"Created:    {metadata.CreatedUtc:u} by {metadata.Tool}");
        output.WriteLine($"Source:     {metadata.Source.Path} {metadata.Source.Model} {metadata.Source.Serial} {ByteSize.Format(metadata.Source.SizeBytes)} " +
            $"({metadata.Source.SizeBytes} bytes, sectors {metadata.Source.LogicalSectorSize}/{metadata.Source.PhysicalSectorSize})");
        output.WriteLine($"Table:      {metadata.Table.Kind}");
        foreach (string warning in metadata.Table.Warnings)
        {
            output.WriteLine($"  warning:  {warning}");
        }
        foreach (PartitionInfo p in metadata.Partitions)
        {
            output.WriteLine($"Partition {p.Number}: start {p.StartBytes}, {ByteSize.Format(p.SizeBytes)}, type {p.Type}, {p.Filesystem}" +
                $"{(p.Label is null ? string.Empty : $" \"{p.Label}\"")}{(p.Uuid is null ? string.Empty : $" {p.Uuid}")}: " +
                $"{p.UsedBlocks}/{p.BlockCount} blocks of {p.BlockSize} used ({p.Method})");
            if (p.UnusedMetadataBytes > 0)
            {
                output.WriteLine($"  left out: {ByteSize.Format(p.UnusedMetadataBytes)} of never-used inode tables" +
                    ((p.Fixups ?? []).Count > 0 ? $"; restore applies {string.Join(", ", p.Fixups!)}" : string.Empty));
            }
            foreach (string warning in p.Warnings)
            {
                output.WriteLine($"  warning:  {warning}");
            }
        }
        foreach (RegionInfo r in metadata.Regions)
        {
            output.WriteLine($"Region:     {r.Kind} at {r.StartBytes}, {r.SizeBytes} bytes");
        }
        output.WriteLine($"Data:       {ByteSize.Format(metadata.DataBytes)} ({metadata.DataBytes} bytes)");
        if ((compressionUsed ?? metadata.Compression?.ToString()) is { } compression)
        {
            output.WriteLine($"Compressed: {compression}");
        }
        string? chainProblem = null;
        if (metadata.Base is { } onBase)
        {
            output.WriteLine($"Incremental: on {onBase.Name} (id {onBase.ImageId}, captured {onBase.CreatedUtc:u}){(incremental is null ? string.Empty : $": {incremental}")}");
            try
            {
                using ImageChain? chain = ImageChain.Open(image.Path, reader.Header, metadata);
                foreach (var (linkPath, link) in chain?.Links ?? [])
                {
                    using VolumeReaderStream linkVolumes = ImageInput.OpenVolumes(linkPath);
                    output.WriteLine($"  chain:    {Path.GetFileName(linkPath)} ({(link.Header.IsIncremental ? "incremental" : "full")}, captured " +
                        $"{link.Metadata.CreatedUtc:u}, {ByteSize.Format(linkVolumes.Length)})");
                }
            }
            catch (ImagingException e)
            {
                chainProblem = e.Message;
                output.WriteLine($"  chain:    BROKEN: {e.Message}");
            }
        }
        if (record?.Forensic is { } forensic)
        {
            output.WriteLine($"Forensic:   case {forensic.Case ?? "-"}, examiner {forensic.Examiner ?? "-"}, {forensic.StartedUtc:u} to {record.FinishedUtc:u}, " +
                $"source {(forensic.KernelReadOnly ? "read-only in the kernel (BLKROSET) during the capture" : "a file")}");
            output.WriteLine($"  SHA-256:  {forensic.Sha256}");
            output.WriteLine($"  MD5:      {forensic.Md5}");
            if (forensic.Notes is not null)
            {
                output.WriteLine($"  notes:    {forensic.Notes}");
            }
        }
        if (record is not null)
        {
            output.WriteLine($"Rescue:     {(record.BadRanges.Count == 0 ? "captured with --rescue; every sector was read" : BadRangeReport.Summary(record.BadRanges, b => ByteSize.Format(b)))}");
            foreach (string line in BadRangeReport.Lines(metadata, record.BadRanges))
            {
                output.WriteLine($"  unreadable: {line}");
            }
            foreach (AffectedFile file in record.Files)
            {
                output.WriteLine($"  lost file:  partition {file.Partition}: {file.Path} (unreadable from byte {file.Position})");
            }
        }
        if (footer is { } f)
        {
            output.WriteLine($"Complete:   yes: {dataFrames} data frames, {f.VolumeCount} volume(s), image {ByteSize.Format(volumes.Length)}" +
                (chainProblem is null ? string.Empty : "; it cannot be restored until its chain is whole"));
            return chainProblem is null ? 0 : CliErrors.Damaged;
        }
        output.WriteLine($"Complete:   NO: {footerProblem}");
        return CliErrors.Damaged;
    });
}
