using LiveImager.Tui.Views;
using Terminal.Gui.ViewBase;
using Terminal.Gui.Views;

namespace LiveImager.Tui.Screens;

/// <summary>How a job ended: its figures, or the error in plain words and where the log is; Esc returns to the main menu.</summary>
internal sealed class ResultScreen : Screen
{
    private readonly JobOutcome _outcome;

    public ResultScreen(string verb, JobOutcome outcome, TimeSpan elapsed)
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
        lines.Add("Press Esc to return to the main menu.");
        Add(new TextBlock(string.Join('\n', lines)) { X = 2, Y = 1, Width = Dim.Fill(2) });
    }

    public bool Succeeded => _outcome.Succeeded;

    public override string HelpText => "The job has ended; nothing more is running. Esc returns to the main menu.";

    public override bool OnBack()
    {
        Host.PopTo<MainMenuScreen>();
        return true;
    }
}
