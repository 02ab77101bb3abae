using LiveImager.Formats;
using LiveImager.Formats.Tests.Support;
using LiveImager.Tui.Screens;
using LiveImager.Tui.Tests.Support;
using Terminal.Gui.Input;
using Xunit;

namespace LiveImager.Tui.Tests.Screens;

public class ProgressScreenTests
{
    [Fact]
    public void AJobThatThrowsIsExplainedInTheEnginesWords()
    {
        using var scratch = new ScratchDirectory();
        var jobs = new ScriptedJobs();
        using var tui = StartVerify(scratch, jobs);

        jobs.Fail(new DiskFormatException("frame header", "magic", "0x0", 0x1000, "not a frame"));
        tui.WaitFor(() => tui.Host.Top is ResultScreen, "the result");
        tui.AssertShows("The verify did not finish.");
        tui.AssertShows("The image is damaged or not an image: frame header: magic = 0x0 at byte");
        tui.AssertShows("The log is in /var/log/liveimager/session.log");
    }

    [Fact]
    public void AFailureTheEngineDoesNotKnowIsCalledUnexpected()
    {
        using var scratch = new ScratchDirectory();
        var jobs = new ScriptedJobs();
        using var tui = StartVerify(scratch, jobs);

        jobs.Fail(new InvalidOperationException("a state the job never reaches"));
        tui.WaitFor(() => tui.Host.Top is ResultScreen, "the result");
        tui.AssertShows("Unexpected error: a state the job never reaches");
        Assert.False(((ResultScreen)tui.Host.Top).Succeeded);
    }

    /// <summary>The verify screen's progress screen on <paramref name="jobs"/>, for an image file that is there.</summary>
    internal static TuiHarness StartVerify(ScratchDirectory scratch, ScriptedJobs jobs)
    {
        string image = scratch.File("laptop.limg");
        File.WriteAllText(image, "");
        var tui = new TuiHarness(new TuiServices { Jobs = jobs, LogPath = "/var/log/liveimager/session.log" });
        tui.Press((Key)'3');
        tui.Type(image);
        tui.Press(Key.Enter);
        tui.WaitFor(() => jobs.Request is not null, "the verify to start");
        return tui;
    }
}
