using LiveImager.Formats.Partitions;
using LiveImager.Formats.Tests.Support;
using Xunit;

namespace LiveImager.Formats.Tests.Partitions;

/// <summary>The --fit layout: kept sizes, proportional shrinking, margins, refusals with numbers, and the GPT and MBR
/// written at the new places read back by sgdisk / sfdisk and our own reader.</summary>
public sealed class FitPlannerTests : IDisposable
{
    private const long MiB = 1 << 20;
    private const string Efi = "c12a7328-f81f-11d2-ba4b-00a0c93ec93b";
    private const string Linux = "0fc63daf-8483-4772-8e79-3d69d8477de4";
    private const string Windows = "ebd0a0a2-b9e5-4433-87c0-68b6b72699c7";
    private const string Swap = "0657fd6d-a4ab-43c4-84e5-0933c84b4f4f";

    private readonly ScratchDirectory _scratch = new();

    public void Dispose() => _scratch.Dispose();

    /// <summary>A 1000 MiB source: EFI 100, ext4 500 (100 used), NTFS 300 (200 used), swap 98.</summary>
    private static readonly FitSource[] s_demo =
    [
        new(1, 1 * MiB, 100 * MiB, Efi, "fat32", 10 * MiB),
        new(2, 101 * MiB, 500 * MiB, Linux, "ext4", 100 * MiB),
        new(3, 601 * MiB, 300 * MiB, Windows, "ntfs", 200 * MiB),
        new(4, 901 * MiB, 98 * MiB, Swap, "swap", 4096),
    ];

    [Fact]
    public void Efi_and_swap_keep_their_size_and_the_others_share_the_room_by_their_free_space()
    {
        FitPlan plan = FitPlanner.Plan(s_demo, PartitionTableKind.Gpt, 600 * MiB);

        Assert.True(plan.Fits, plan.Refusal?.Why);
        Dictionary<int, FitPlacement> byNumber = plan.Placements.ToDictionary(p => p.Source.Number);
        Assert.Equal((1 * MiB, 100 * MiB, FitAction.Keep), (byNumber[1].NewStartBytes, byNumber[1].NewSizeBytes, byNumber[1].Action));
        Assert.Equal((98 * MiB, FitAction.Keep), (byNumber[4].NewSizeBytes, byNumber[4].Action));
        Assert.Equal(FitAction.Shrink, byNumber[2].Action);
        Assert.Equal(FitAction.Shrink, byNumber[3].Action);
        // Never below used + margin; ext4 has more to give up than NTFS, so it gives more.
        Assert.True(byNumber[2].NewSizeBytes >= 110 * MiB && byNumber[3].NewSizeBytes >= 220 * MiB);
        Assert.True(500 * MiB - byNumber[2].NewSizeBytes > 300 * MiB - byNumber[3].NewSizeBytes);
        // In order, aligned, inside the target with the backup GPT's room, with no overlap.
        long end = 0;
        foreach (FitPlacement p in plan.Placements)
        {
            Assert.Equal(0, p.NewStartBytes % MiB);
            Assert.Equal(0, p.NewSizeBytes % MiB);
            Assert.True(p.NewStartBytes >= end);
            end = p.NewEndBytes;
        }
        Assert.True(end <= 600 * MiB - FitPlanner.GptBackupReserve);
        Assert.True(end > 600 * MiB - FitPlanner.GptBackupReserve - 4 * MiB, $"{end} leaves room unused");
    }

    [Fact]
    public void Too_small_a_target_is_refused_with_the_partition_its_data_and_the_room()
    {
        FitPlan plan = FitPlanner.Plan(s_demo, PartitionTableKind.Gpt, 400 * MiB);

        Assert.False(plan.Fits);
        FitRefusal refusal = plan.Refusal!;
        Assert.Equal(3, refusal.Number);
        Assert.Equal("ntfs", refusal.Filesystem);
        Assert.Equal(200 * MiB, refusal.HeldBytes);
        Assert.Equal(220 * MiB, refusal.NeededBytes);
        // 400 - 1 (head) - 1 (backup GPT) - 100 (EFI) - 64 (swap, shrunk in the second pass) - 110 (ext4's minimum).
        Assert.Equal(124 * MiB, refusal.RoomBytes);
    }

    [Fact]
    public void Swap_shrinks_only_when_the_others_do_not_fit_otherwise()
    {
        FitPlan plan = FitPlanner.Plan(s_demo, PartitionTableKind.Gpt, 520 * MiB);

        Assert.True(plan.Fits, plan.Refusal?.Why);
        FitPlacement swap = plan.Placements.Single(p => p.Source.Number == 4);
        Assert.Equal(FitAction.Recreate, swap.Action);
        Assert.True(swap.NewSizeBytes >= FitPlanner.MinimumSwapBytes && swap.NewSizeBytes < 98 * MiB);
    }

    [Fact]
    public void Xfs_keeps_its_size_and_a_refusal_says_why()
    {
        FitSource[] disk = [new(1, 1 * MiB, 500 * MiB, Linux, "xfs", 10 * MiB), new(2, 501 * MiB, 100 * MiB, Linux, "ext4", 1 * MiB)];

        FitPlan plan = FitPlanner.Plan(disk, PartitionTableKind.Mbr, 400 * MiB);

        Assert.False(plan.Fits);
        Assert.Equal(0, plan.Refusal!.Number);
        Assert.Contains("partition 1 (xfs): XFS cannot shrink", plan.Refusal.Why);
    }

    /// <summary>A FAT data partition keeps its size (no tool shrinks FAT safely): a target without room for it is refused
    /// naming it, not the larger EFI partition that keeps its size by its type.</summary>
    [Fact]
    public void Fat_keeps_its_size_and_a_refusal_names_it_before_a_partition_kept_by_its_type()
    {
        FitSource[] disk =
        [
            new(1, 1 * MiB, 300 * MiB, Efi, "fat32", 10 * MiB),
            new(2, 301 * MiB, 200 * MiB, Linux, "fat32", 150 * MiB),
            new(3, 501 * MiB, 400 * MiB, Linux, "ext4", 10 * MiB),
        ];

        FitPlan fits = FitPlanner.Plan(disk, PartitionTableKind.Gpt, 600 * MiB);
        FitPlan refused = FitPlanner.Plan(disk, PartitionTableKind.Gpt, 480 * MiB);

        Assert.True(fits.Fits, fits.Refusal?.Why);
        Assert.Equal([FitAction.Keep, FitAction.Keep, FitAction.Shrink], fits.Placements.Select(p => p.Action));
        Assert.Equal(0, refused.Refusal!.Number);
        Assert.Contains("among them partition 2 (fat32): FAT is not shrunk by --fit", refused.Refusal.Why);
        // 480 - 1 (head) - 1 (backup GPT).
        Assert.Equal(478 * MiB, refused.Refusal.RoomBytes);
    }

    /// <summary>btrfs shrinks, never below the 256 MiB the kernel resizes it to, nor below its used bytes with the
    /// margin and room for its chunks; one already that small keeps its size.</summary>
    [Fact]
    public void Btrfs_shrinks_to_no_less_than_the_kernel_and_its_chunks_allow()
    {
        FitSource[] disk = [new(1, 1 * MiB, 1024 * MiB, Linux, "btrfs", 30 * MiB), new(2, 1025 * MiB, 200 * MiB, Linux, "btrfs", 30 * MiB)];

        FitPlan plan = FitPlanner.Plan(disk, PartitionTableKind.Gpt, 600 * MiB);
        FitPlan refused = FitPlanner.Plan(disk, PartitionTableKind.Gpt, 400 * MiB);

        Assert.True(plan.Fits, plan.Refusal?.Why);
        Assert.Equal(FitAction.Shrink, plan.Placements[0].Action);
        Assert.True(plan.Placements[0].NewSizeBytes >= 257 * MiB, $"{plan.Placements[0].NewSizeBytes}");
        Assert.Equal((200 * MiB, FitAction.Keep), (plan.Placements[1].NewSizeBytes, plan.Placements[1].Action));
        Assert.Equal(1, refused.Refusal!.Number);
        // 30 MiB used, 4 MiB margin and 128 MiB for chunks is less than the kernel's least, 256 MiB and the MiB past it.
        Assert.Equal(257 * MiB, refused.Refusal.NeededBytes);
    }

    [Fact]
    public void Layout_sizes_are_kept_and_the_others_are_planned_around_them()
    {
        FitPlan plan = FitPlanner.Plan(s_demo, PartitionTableKind.Gpt, 600 * MiB, new Dictionary<int, long> { [2] = 150 * MiB });

        Assert.True(plan.Fits, plan.Refusal?.Why);
        Assert.Equal(150 * MiB, plan.Placements.Single(p => p.Source.Number == 2).NewSizeBytes);
        // NTFS takes what is left: 600 - 1 - 1 - 100 - 150 - 98 = 250.
        Assert.Equal(250 * MiB, plan.Placements.Single(p => p.Source.Number == 3).NewSizeBytes);
    }

    [Theory]
    [InlineData(2, 50, "--layout gives it less than its used bytes plus the margin")]
    [InlineData(2, 600, "--fit never grows a partition")]
    [InlineData(1, 50, "its type keeps its size")]
    [InlineData(9, 50, "--layout names partition 9, which the image does not have")]
    public void Layout_that_cannot_be_is_refused(int number, long mib, string why)
    {
        FitPlan plan = FitPlanner.Plan(s_demo, PartitionTableKind.Gpt, 600 * MiB, new Dictionary<int, long> { [number] = mib * MiB });

        Assert.False(plan.Fits);
        Assert.Equal(number, plan.Refusal!.Number);
        Assert.StartsWith(why, plan.Refusal.Why, StringComparison.Ordinal);
    }

    [SkippableFact]
    public void Gpt_at_the_new_places_passes_sgdisk_and_keeps_types_guids_and_names()
    {
        ExternalTool.Require("sfdisk", "fdisk");
        ExternalTool.Require("sgdisk", "gdisk");
        string source = SfdiskDisk.Create(_scratch, "source.img", 1000 * MiB,
            $"label: gpt\nstart=2048, size=204800, type={Efi}, name=\"EFI\"\nstart=206848, size=1024000, type={Linux}, name=\"root\"\n" +
            $"start=1230848, size=614400, type={Windows}, name=\"win\"\nstart=1845248, size=200704, type={Swap}, name=\"swap\"\n");
        byte[] head = new byte[34 * 512];
        using (FileStream stream = File.OpenRead(source))
        {
            stream.ReadExactly(head);
        }
        FitPlan plan = FitPlanner.Plan(s_demo, PartitionTableKind.Gpt, 600 * MiB);
        string target = _scratch.SparseFile("target.img", 600 * MiB);

        GptRelocation gpt = GptFit.Create(head.AsSpan(512, 512), head.AsSpan(1024), plan.Placements, 600 * MiB / 512);
        using (FileStream stream = File.OpenWrite(target))
        {
            byte[] mbr = head[..512];
            gpt.UpdateProtectiveMbr(mbr);
            Write(stream, 0, mbr);
            Write(stream, 512, gpt.PrimaryHeader);
            Write(stream, 1024, gpt.BackupEntries);
            Write(stream, gpt.BackupEntriesLba * 512, gpt.BackupEntries);
            Write(stream, gpt.BackupHeaderLba * 512, gpt.BackupHeader);
        }

        Assert.Contains("No problems found", ExternalTool.Run("sgdisk", "-v", target));
        string before = ExternalTool.Run("sfdisk", "-d", source);
        string after = ExternalTool.Run("sfdisk", "-d", target);
        Assert.Equal(Lines(before, "label-id"), Lines(after, "label-id"));
        Assert.Equal(Strip(before), Strip(after));
        var read = PartitionTableReader.Read(new StreamBlockSource(File.OpenRead(target)), 512);
        Assert.Equal(plan.Placements.Select(p => (p.NewStartBytes, p.NewSizeBytes)), read.Partitions.Select(p => (p.StartBytes, p.SizeBytes)));
    }

    [SkippableFact]
    public void Mbr_logical_chain_is_rewritten_at_the_new_places()
    {
        ExternalTool.Require("sfdisk", "fdisk");
        string source = SfdiskDisk.Create(_scratch, "mbr.img", 400 * MiB,
            "label: dos\nstart=1MiB, size=100MiB, type=83\nstart=102MiB, type=5\nstart=103MiB, size=150MiB, type=83\nstart=255MiB, size=100MiB, type=7\n");
        using var stream = new FileStream(source, FileMode.Open, FileAccess.Read);
        var disk = new StreamBlockSource(stream);
        FitSource[] sources =
        [
            new(1, 1 * MiB, 100 * MiB, "0x83", "ext4", 20 * MiB),
            new(5, 103 * MiB, 150 * MiB, "0x83", "ext4", 30 * MiB),
            new(6, 255 * MiB, 100 * MiB, "0x07", "ntfs", 40 * MiB),
        ];
        FitPlan plan = FitPlanner.Plan(sources, PartitionTableKind.Mbr, 200 * MiB);
        Assert.True(plan.Fits, plan.Refusal?.Why);
        string target = _scratch.SparseFile("mbr-target.img", 200 * MiB);

        using (FileStream output = File.OpenWrite(target))
        {
            foreach ((long offset, byte[] sector) in MbrFit.Create(disk, 512, plan.Placements))
            {
                Write(output, offset, sector);
            }
        }

        var read = PartitionTableReader.Read(new StreamBlockSource(File.OpenRead(target)), 512);
        Assert.Equal(plan.Placements.OrderBy(p => p.Source.Number).Select(p => (p.Source.Number, p.NewStartBytes, p.NewSizeBytes)),
            read.Partitions.Select(p => (p.Number, p.StartBytes, p.SizeBytes)));
        Assert.Equal(["0x83", "0x83", "0x07"], read.Partitions.Select(p => p.Type));
        Assert.Contains("type=5", ExternalTool.Run("sfdisk", "-d", target));
    }

    private static void Write(FileStream stream, long offset, byte[] bytes)
    {
        stream.Position = offset;
        stream.Write(bytes);
    }

    private static IEnumerable<string> Lines(string dump, string prefix) =>
        dump.Split('\n').Where(l => l.StartsWith(prefix, StringComparison.Ordinal));

    /// <summary>The partition lines without device names, starts and sizes: types, GUIDs and names.</summary>
    private static IEnumerable<string> Strip(string dump) =>
        dump.Split('\n').Where(l => l.Contains(" : start=", StringComparison.Ordinal))
            .Select(l => System.Text.RegularExpressions.Regex.Replace(l[(l.IndexOf(" : ", StringComparison.Ordinal) + 3)..],
                @"^start= *\d+, size= *\d+, ", string.Empty));
}
