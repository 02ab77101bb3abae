using LiveImager.Tui.Screens;
using Terminal.Gui.ViewBase;
using Terminal.Gui.Views;

namespace LiveImager.Tui.Views;

/// <summary>The steps of a wizard screen, one page at a time; each page is built when it is reached, from what earlier steps chose.</summary>
internal sealed class WizardSteps(Screen screen, IReadOnlyList<Func<WizardPage>> builders)
{
    private WizardPage? _page;

    public int Current { get; private set; }

    public void ShowCurrent()
    {
        if (_page is not null)
        {
            _page.Show();
            return;
        }
        Show(Current);
    }

    public void Next() => Show(Current + 1);

    /// <summary>Builds the current step's page again, for a step whose page depends on a choice made on it.</summary>
    public void ShowAgain() => Show(Current);

    /// <summary>Goes back one step; false on the first step, so the screen closes.</summary>
    public bool Back()
    {
        if (Current == 0)
        {
            return false;
        }
        Show(Current - 1);
        return true;
    }

    private void Show(int step)
    {
        if (_page is not null)
        {
            screen.Remove(_page);
            _page.Dispose();
        }
        Current = step;
        _page = builders[step]();
        screen.Add(_page);
        _page.Show();
        screen.SetNeedsDraw();
    }
}

/// <summary>One page of a wizard: a heading on row 0, the step's fields from row 2 on, and what to do when it appears.</summary>
internal sealed class WizardPage : View
{
    public WizardPage(string heading)
    {
        X = 2;
        Y = 1;
        Width = Dim.Fill(2);
        Height = Dim.Fill();
        CanFocus = true;
        Add(new TextBlock { X = 0, Y = 0, Text = heading });
    }

    /// <summary>A summary page: <paramref name="text"/> from row 2, and below it, however long the text wraps, a
    /// Continue button that goes to the next step and has the focus.</summary>
    public static WizardPage Summary(string heading, string text, WizardSteps steps)
    {
        var page = new WizardPage(heading);
        var block = new TextBlock { X = 0, Y = 2, Width = Dim.Fill(), Text = text };
        var next = new Button { X = 0, Y = Pos.Bottom(block) + 1, Text = "_Continue", IsDefault = true };
        next.Accepting += (_, e) =>
        {
            e.Handled = true;
            steps.Next();
        };
        page.Add(block, next);
        page.Shown = () => next.SetFocus();
        return page;
    }

    /// <summary>Runs each time the page appears: focus its first field, start a scan.</summary>
    public Action? Shown { get; set; }

    public void Show()
    {
        SetFocus();
        Shown?.Invoke();
    }
}
