namespace LiveImager.Tui.Tests.Support;

/// <summary>A clock fixed at one moment, so default image names carry a known date.</summary>
internal sealed class FixedClock(DateTimeOffset now) : TimeProvider
{
    public override DateTimeOffset GetUtcNow() => now;

    public override TimeZoneInfo LocalTimeZone => TimeZoneInfo.Utc;
}
