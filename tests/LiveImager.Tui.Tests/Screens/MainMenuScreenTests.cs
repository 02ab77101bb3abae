using LiveImager.Tui;
using LiveImager.Tui.Screens;
using LiveImager.Tui.Tests.Support;
using Terminal.Gui.Input;
using Xunit;

namespace LiveImager.Tui.Tests.Screens;

public class MainMenuScreenTests
{
    [Fact]
    public void EveryTaskIsListedWithItsKey()
    {
        using var tui = new TuiHarness(new TuiServices());
        string screen = tui.Screen;
        foreach (string entry in new[]
                 {
                     "1  Capture a disk", "2  Restore an image", "3  Verify an image", "4  Deploy one image to several disks",
                     "5  Storage", "6  Disks", "7  Logs", "8  Shell", "9  Reboot / Power off", "0  Browse an image and copy files out", "F1 Help", "Esc Back",
                 })
        {
            Assert.Contains(entry, screen);
        }
    }

    [Fact]
    public void EscOnTheMainMenuAsksAndNoKeepsItRunning()
    {
        using var tui = new TuiHarness(new TuiServices());
        tui.Press(Key.Esc);
        tui.AssertShows("Leave LiveImager and return to the console?");
        tui.Press(Key.N);
        Assert.IsType<MainMenuScreen>(tui.Host.Top);
        Assert.False(tui.Host.StopRequested);

        tui.Press(Key.Esc);
        tui.Press(Key.Y);
        Assert.True(tui.Host.StopRequested);
        Assert.Equal(TuiExit.Quit, tui.Host.Exit);
    }

    [Fact]
    public void EscFromASubScreenAndFromItsHelpReturnsStepByStep()
    {
        using var tui = new TuiHarness(new TuiServices());
        tui.Press((Key)'6');
        Assert.IsType<DisksScreen>(tui.Host.Top);
        tui.AssertShows("LiveImager > Disks");
        tui.AssertShows($"Disk discovery is {TuiServices.NotAvailable}.");

        tui.Press(Key.F1);
        tui.AssertShows("captured or restored to");
        tui.Press(Key.Esc);
        Assert.IsType<DisksScreen>(tui.Host.Top);
        tui.Press(Key.Esc);
        Assert.IsType<MainMenuScreen>(tui.Host.Top);
        Assert.False(tui.Host.StopRequested);
    }

    [Fact]
    public void ShellAndPowerStopTheTuiOnlyWithTheRightRequest()
    {
        using var tui = new TuiHarness(new TuiServices());
        tui.Press((Key)'9');
        tui.Press(Key.P);
        tui.AssertShows("Power off this machine now?");
        tui.Press(Key.Esc);
        Assert.IsType<PowerScreen>(tui.Host.Top);
        Assert.False(tui.Host.StopRequested);
        tui.Press(Key.R);
        tui.Press(Key.Y);
        Assert.True(tui.Host.StopRequested);
        Assert.Equal(TuiExit.Reboot, tui.Host.Exit);
    }
}
