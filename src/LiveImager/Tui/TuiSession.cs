namespace LiveImager.Tui;

/// <summary>What the technician chose earlier in this session, so that the next job starts from it.</summary>
internal sealed class TuiSession
{
    /// <summary>The directory images are written to and read from; null until the technician sets one.</summary>
    public string? StorePath { get; set; }
}
