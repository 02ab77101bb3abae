using System.CommandLine;

namespace LiveImager.Cli;

/// <summary>The options every verb that writes a LiveImager image shares: the zstd level and the volume size.</summary>
internal sealed class ImageWriteOptions
{
    private readonly Option<int?>? _level;
    private readonly Option<string?> _split = new("--split")
    {
        Description = "Cut the image into volumes of this size (4G for FAT32): IMAGE, IMAGE.002, …",
    };

    /// <param name="levelDescription">What the verb does without --level; null for a verb that copies frames as they
    /// are stored and has no --level.</param>
    public ImageWriteOptions(string? levelDescription)
    {
        if (levelDescription is not null)
        {
            _level = new Option<int?>("--level") { Description = $"Force one zstd level 1..19 (default: {levelDescription})" };
            _level.Validators.Add(result =>
            {
                if (result.GetValueOrDefault<int?>() is < 1 or > 19)
                {
                    result.AddError("--level must be 1..19");
                }
            });
        }
        _split.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<string?>() is { } text && !ByteSize.TryParseSplit(text, out _))
            {
                result.AddError($"--split {text}: give 0 (one file) or a size of at least 1M, such as 4G or 650M");
            }
        });
    }

    public void AddTo(Command command)
    {
        if (_level is not null)
        {
            command.Options.Add(_level);
        }
        command.Options.Add(_split);
    }

    /// <summary>The forced level, or null for the verb's default.</summary>
    public int? Level(ParseResult parse) => _level is null ? null : parse.GetValue(_level);

    /// <summary>The volume size in bytes; 0 for one file.</summary>
    public long SplitBytes(ParseResult parse) => parse.GetValue(_split) is { } text && ByteSize.TryParseSplit(text, out long bytes) ? bytes : 0;
}
