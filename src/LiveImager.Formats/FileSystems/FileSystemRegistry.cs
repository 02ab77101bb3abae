namespace LiveImager.Formats.FileSystems;

/// <summary>The filesystem modules, in probe order. An explicit list: no reflection, so NativeAOT sees every module.</summary>
public static class FileSystemRegistry
{
    /// <summary>Modules tried in order; the first whose signature matches analyses the partition.</summary>
    public static IReadOnlyList<IFileSystemModule> Modules { get; } =
    [
        new Opaque.LuksModule(),
        new Opaque.BitLockerModule(),
        new Opaque.LvmModule(),
        new Ntfs.NtfsModule(),
        new Swap.SwapModule(),
    ];
}
