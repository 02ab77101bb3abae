using LiveImager.Tui.Views;

namespace LiveImager.Tui.Screens;

/// <summary>A screen that walks through numbered steps: shown at its current step, and Esc goes back one step before
/// it closes the screen.</summary>
internal abstract class WizardScreen : Screen
{
    private WizardSteps? _steps;

    protected WizardScreen(string title)
        : base(title)
    {
    }

    /// <summary>The step shown now, counted from 0.</summary>
    public int Step => Steps.Current;

    /// <summary>The steps, set by the derived constructor through <see cref="UseSteps"/>: their builders read its fields.</summary>
    protected WizardSteps Steps => _steps ?? throw new InvalidOperationException($"{GetType().Name} has no steps.");

    public override void OnShown() => Steps.ShowCurrent();

    public override bool OnBack() => Steps.Back();

    /// <summary>Sets the steps, in order; called once from the derived constructor.</summary>
    protected void UseSteps(IReadOnlyList<Func<WizardPage>> builders) => _steps = new WizardSteps(this, builders);
}
