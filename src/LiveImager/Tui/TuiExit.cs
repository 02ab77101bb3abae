namespace LiveImager.Tui;

/// <summary>Why the TUI stopped: what Program does next, with the terminal back in its normal state.</summary>
internal enum TuiExit
{
    Quit,
    Shell,
    Reboot,
    PowerOff,
}
