using LiveImager.Tui.Views;
using Terminal.Gui.ViewBase;
using Terminal.Gui.Views;

namespace LiveImager.Tui.Screens;

/// <summary>How a job ended: its figures, or the error in plain words and where the log is; Esc returns to the main menu.</summary>
internal sealed class ResultScreen : Screen
{
    private readonly JobOutcome _outcome;
    private readonly Button? _rescueButton;

    /// <param name="rescue">For a capture stopped by an unreadable sector: the same capture in rescue mode, offered
    /// beside Esc (abort).</param>
    public ResultScreen(string verb, JobOutcome outcome, TimeSpan elapsed, Func<Screen>? rescue = null)
        : base(outcome.Succeeded ? "Done" : "Failed")
    {
        _outcome = outcome;
        var lines = new List<string>
        {
            outcome.Succeeded ? $"The {verb} finished in {ByteSize.Duration(elapsed)}."
                // Figures with a failure: some targets of a deployment are written, some are not; some files are copied, some are not.
                : outcome.Figures.Count > 0 ? $"The {verb} ended in {ByteSize.Duration(elapsed)}, {outcome.PartlyDone}:"
                : $"The {verb} did not finish.",
            "",
        };
        lines.AddRange(outcome.Figures);
        if (outcome.Error is string error)
        {
            lines.Add(error);
        }
        lines.Add("");
        lines.Add(outcome.LogPath is string log ? $"The log is in {log}" : $"The session log is {TuiServices.NotAvailable}.");
        if (rescue is not null)
        {
            lines.Add("");
            lines.Add("The disk has unreadable sectors: abort (Esc), or capture it again in");
            lines.Add("rescue mode (unreadable sectors are retried one by one, then recorded in");
            lines.Add("the image and restored as zeros).");
        }
        lines.Add("Press Esc to return to the main menu.");
        var text = rescue is null
            ? new TextBlock(string.Join('\n', lines)) { X = 2, Y = 1, Width = Dim.Fill(2) }
            // As tall as its lines, so the button goes right below them.
            : new TextBlock { X = 2, Y = 1, Width = Dim.Fill(2), Text = string.Join('\n', lines) };
        Add(text);
        if (rescue is not null)
        {
            var again = new Button { X = 2, Y = Pos.Bottom(text) + 1, Text = "Capture again in _rescue mode", IsDefault = true };
            again.Accepting += (_, e) =>
            {
                e.Handled = true;
                Host.Replace(rescue());
            };
            Add(again);
            _rescueButton = again;
        }
    }

    public bool Succeeded => _outcome.Succeeded;

    public override void OnShown() => _rescueButton?.SetFocus();

    public override string HelpText => "The job has ended; nothing more is running. Esc returns to the main menu.";

    public override bool OnBack()
    {
        Host.PopTo<MainMenuScreen>();
        return true;
    }
}
