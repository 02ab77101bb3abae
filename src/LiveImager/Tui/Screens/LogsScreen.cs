using System.Collections.ObjectModel;
using Terminal.Gui.Input;
using Terminal.Gui.ViewBase;
using Terminal.Gui.Views;

namespace LiveImager.Tui.Screens;

/// <summary>The current log file, read off the UI thread, one line per row, scrollable; F5 reads it again.</summary>
internal sealed class LogsScreen : Screen
{
    private const int MaxShownBytes = 1 << 20;

    private readonly TuiServices _services;
    private readonly ListView _lines;

    public LogsScreen(TuiServices services)
        : base("Logs")
    {
        _services = services;
        _lines = new ListView { X = 0, Y = 0, Width = Dim.Fill(), Height = Dim.Fill() };
        Add(_lines);
    }

    public override string HelpText =>
        "The log of this session: every job, which disk (model and serial), how long, how fast, what was skipped and why. " +
        "Scroll with the arrows and Page Up/Down; F5 reads the file again.";

    public override void OnShown()
    {
        _lines.SetFocus();
        Load();
    }

    public override bool OnScreenKey(Key key)
    {
        if (key == Key.F5)
        {
            Load();
            return true;
        }
        return false;
    }

    private void Load()
    {
        if (_services.LogPath is not string path)
        {
            Show([$"The session log is {TuiServices.NotAvailable}."]);
            return;
        }
        Show([$"Reading {path}..."]);
        _ = Task.Run(() =>
        {
            string[] lines;
            try
            {
                lines = ReadTail(path).Split('\n');
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                lines = [$"{path} could not be read: {ex.Message}"];
            }
            Host.RunningApp.Invoke(() => Show(lines));
        });
    }

    private void Show(IEnumerable<string> lines)
    {
        var rows = new ObservableCollection<string>(lines);
        _lines.SetSource(rows);
        if (rows.Count > 0)
        {
            _lines.SelectedItem = rows.Count - 1;
        }
    }

    /// <summary>The end of the log, bounded so a long session cannot fill memory.</summary>
    private static string ReadTail(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        if (stream.Length > MaxShownBytes)
        {
            stream.Seek(-MaxShownBytes, SeekOrigin.End);
        }
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
