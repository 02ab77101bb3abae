using System.Text;
using LiveImager.Engine.Targets;
using LiveImager.Formats.ImageFormat;

namespace LiveImager.Engine.Imaging;

/// <summary>The plain-text report a forensic capture writes beside its image (<c>NAME.lim.report.txt</c>, 0600): the
/// case, the examiner, times, tool, the device's identity, the hashes of the source as read, the kernel read-only
/// state and the unreadable ranges. The same facts are in the image's capture record, which <c>verify</c> checks.</summary>
public static class ForensicReport
{
    /// <summary>The report's path for the image at <paramref name="image"/>.</summary>
    public static string PathFor(string image) => image + ".report.txt";

    internal static void Write(string image, ImageHeader header, ImageMetadata metadata, CaptureRecord record)
    {
        ForensicRecord forensic = record.Forensic!;
        var text = new StringBuilder();
        text.AppendLine("LiveImager forensic capture report");
        text.AppendLine();
        text.AppendLine($"Case:              {forensic.Case ?? "(not given)"}");
        text.AppendLine($"Examiner:          {forensic.Examiner ?? "(not given)"}");
        text.AppendLine($"Notes:             {forensic.Notes ?? "(none)"}");
        text.AppendLine($"Started (UTC):     {forensic.StartedUtc:yyyy-MM-dd HH:mm:ss.fff}");
        text.AppendLine($"Finished (UTC):    {record.FinishedUtc:yyyy-MM-dd HH:mm:ss.fff}");
        text.AppendLine($"Tool:              {metadata.Tool}");
        text.AppendLine();
        text.AppendLine($"Device:            {metadata.Source.Path}");
        text.AppendLine($"Model:             {metadata.Source.Model ?? "(unknown)"}");
        text.AppendLine($"Serial:            {metadata.Source.Serial ?? "(unknown)"}");
        text.AppendLine($"Size:              {metadata.Source.SizeBytes} bytes");
        text.AppendLine($"Sectors:           {metadata.Source.LogicalSectorSize} logical, {metadata.Source.PhysicalSectorSize} physical");
        text.AppendLine($"Kernel read-only:  {(forensic.KernelReadOnly ? $"set (BLKROSET) for the capture; {(forensic.WasReadOnly ? "it was read-only before and still is" : "writable again afterwards")}" : "not set (the source is a file)")}");
        text.AppendLine();
        text.AppendLine($"SHA-256:           {forensic.Sha256}");
        text.AppendLine($"MD5:               {forensic.Md5}");
        text.AppendLine($"Hashed:            every byte of the device as read, {metadata.Source.SizeBytes} bytes; unreadable ranges as zeros");
        text.AppendLine();
        if (record.BadRanges.Count == 0)
        {
            text.AppendLine("Unreadable:        none; every sector was read");
        }
        else
        {
            text.AppendLine($"Unreadable:        {BadRangeReport.Summary(record.BadRanges, b => $"{b} bytes")}");
            foreach (string line in BadRangeReport.Lines(metadata, record.BadRanges))
            {
                text.AppendLine($"  {line}");
            }
            foreach (AffectedFile file in record.Files)
            {
                text.AppendLine($"  file: partition {file.Partition}: {file.Path}");
            }
        }
        text.AppendLine();
        text.AppendLine($"Image:             {System.IO.Path.GetFileName(image)} (id {header.ImageId}, format {header.Version})");
        text.AppendLine("Check:             liveimager verify IMAGE  (recomputes both hashes from the image)");
        string path = PathFor(image);
        File.Delete(path);
        using FileStream stream = PrivateFiles.CreateNew(path);
        stream.Write(Encoding.UTF8.GetBytes(text.ToString()));
        stream.Flush(flushToDisk: true);
    }
}
