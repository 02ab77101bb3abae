using LiveImager.Formats.Tests.Support;
using LiveImager.Tui;
using LiveImager.Tui.Tests.Support;
using Terminal.Gui.Input;
using Xunit;

namespace LiveImager.Tui.Tests.Screens;

public class LogsScreenTests
{
    [Fact]
    public void TheLogIsReadFromItsFileAndShownFromTheEnd()
    {
        using var scratch = new ScratchDirectory();
        string log = scratch.File("session.log");
        File.WriteAllLines(log, Enumerable.Range(1, 200).Select(i => $"2026-11-25 10:{i / 60:00}:{i % 60:00} line {i}"));
        using var tui = new TuiHarness(new TuiServices { LogPath = log });
        tui.Press((Key)'7');
        tui.WaitForText("line 200");
        Assert.DoesNotMatch(@"\bline 1\s", tui.Screen);

        File.AppendAllText(log, "2026-11-25 11:00:00 line 201\n");
        tui.Press(Key.F5);
        tui.WaitForText("line 201");
    }

    [Fact]
    public void WithoutALogItSaysSo()
    {
        using var tui = new TuiHarness(new TuiServices());
        tui.Press((Key)'7');
        tui.AssertShows($"The session log is {TuiServices.NotAvailable}.");
    }
}
