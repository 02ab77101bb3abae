using LiveImager.Formats.Partitions;

namespace LiveImager;

/// <summary>A <c>--fit</c> plan and its refusal in words, the same in the CLI and the TUI (docs/restore-fit.md).</summary>
internal static class FitPlanText
{
    /// <summary>The refusal with its numbers: "partition 3 (ntfs) holds 212.4 GB and needs 233.6 GB with the margin, the
    /// target leaves room for 180.0 GB (why)".</summary>
    public static string Describe(FitRefusal refusal) => refusal.Number == 0
        ? $"{refusal.Why}: {ByteSize.Format(refusal.NeededBytes)} needed, the target leaves room for {ByteSize.Format(refusal.RoomBytes)}"
        : $"partition {refusal.Number} ({refusal.Filesystem}) holds {ByteSize.Format(refusal.HeldBytes)} and needs " +
          $"{ByteSize.Format(refusal.NeededBytes)} with the margin, the target leaves room for {ByteSize.Format(refusal.RoomBytes)} " +
          $"({refusal.Why})";

    /// <summary>One partition of the plan: number, filesystem, size before and after, new start, and what happens to
    /// it; <paramref name="why"/> adds the reason a partition keeps its size (the CLI has the width for it).</summary>
    public static string Line(FitPlacement p, bool why)
    {
        string what = p.Action switch
        {
            FitAction.Shrink => $"shrink ({ByteSize.Format(p.Source.UsedBytes)} used)",
            FitAction.Recreate => why ? "swap made again with its UUID and label" : "swap made again",
            _ => !why || (p.NewSizeBytes == p.Source.SizeBytes && FitPlanner.CanShrink(p.Source.Filesystem)) ? "keep" : $"keep: {FitPlanner.WhyKept(p.Source)}",
        };
        return $"p{p.Source.Number} {p.Source.Filesystem,-6} {ByteSize.Format(p.Source.SizeBytes),10} -> " +
            $"{ByteSize.Format(p.NewSizeBytes),10} at {p.NewStartBytes / 1048576} MiB  {what}";
    }
}
