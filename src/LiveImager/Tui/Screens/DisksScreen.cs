using LiveImager.Tui.Views;
using Terminal.Gui.Input;
using Terminal.Gui.ViewBase;

namespace LiveImager.Tui.Screens;

/// <summary>The machine's disks with their partitions and whether each may be used; F5 scans again.</summary>
internal sealed class DisksScreen : Screen
{
    private readonly TuiServices _services;
    private DiskPicker? _picker;

    public DisksScreen(TuiServices services)
        : base("Disks")
    {
        _services = services;
    }

    public DiskPicker Picker => _picker ?? throw new InvalidOperationException("The disks screen is not shown.");

    public override string HelpText =>
        "Every disk of this machine with its size, model, serial number, bus and partitions. A disk marked 'in use' " +
        "(a partition is mounted, is swap, or belongs to LVM/RAID) or 'boot' (the stick LiveImager runs from) cannot be " +
        "captured or restored to; the reason is shown under the table. F5 scans again after plugging a disk in.";

    public override void OnShown()
    {
        if (_picker is null)
        {
            _picker = new DiskPicker(Host.RunningApp, _services.Disks) { X = 2, Y = 1, Width = Dim.Fill(2) };
            Add(_picker);
        }
        _picker.Refresh();
    }

    public override bool OnScreenKey(Key key)
    {
        if (key == Key.F5)
        {
            Picker.Refresh();
            return true;
        }
        return false;
    }
}
