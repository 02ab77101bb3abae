namespace LiveImager.Formats.FileSystems;

/// <summary>One logical volume inside a physical volume (LVM2), as <c>inspect</c> lists it.</summary>
/// <param name="Name">The LV's name in its volume group.</param>
/// <param name="SizeBytes">The LV's size.</param>
/// <param name="Segments">Its segments as text, such as "linear pv0:0-1" or "striped 2x64KiB pv0:4 pv1:0" (extents).</param>
/// <param name="FileSystem">The filesystem found inside, or <see cref="FileSystemKind.Unknown"/> when it was not looked at.</param>
/// <param name="UsedBytes">Bytes of the LV copied: its filesystem's used bytes, or all of it (on this PV) when copied whole.</param>
/// <param name="WholeCopyReason">Why the LV is copied whole, or null when its filesystem maps it.</param>
public sealed record LogicalVolumeAnalysis(
    string Name,
    long SizeBytes,
    IReadOnlyList<string> Segments,
    FileSystemKind FileSystem,
    long UsedBytes,
    string? WholeCopyReason);
