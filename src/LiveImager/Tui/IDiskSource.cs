namespace LiveImager.Tui;

/// <summary>The seam to disk discovery: the disks of this machine, scanned off the UI thread.</summary>
internal interface IDiskSource
{
    Task<IReadOnlyList<DiskChoice>> ScanAsync(CancellationToken cancellationToken);
}
