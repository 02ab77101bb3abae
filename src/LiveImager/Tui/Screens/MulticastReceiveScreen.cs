using LiveImager.Engine.Imaging;
using LiveImager.Engine.Multicast;
using LiveImager.Tui.Views;
using Terminal.Gui.ViewBase;
using Terminal.Gui.Views;

namespace LiveImager.Tui.Screens;

/// <summary>Multicast, receiving: the network interface the sender is on, the disk to overwrite, a typed
/// confirmation, then the restore of the session's stream (<c>restore multicast://IF DISK</c>), which checks every
/// frame as it arrives. Esc steps back.</summary>
internal sealed class MulticastReceiveScreen : WizardScreen
{
    private readonly TuiServices _services;
    private string _address = MulticastAddress.Scheme;
    private DiskChoice? _target;

    public MulticastReceiveScreen(TuiServices services)
        : base("Multicast: receive")
    {
        _services = services;
        UseSteps([InterfaceStep, TargetStep, ConfirmStep]);
    }

    public override string HelpText =>
        "This machine receives the image a sender on the network streams, and restores it onto the disk you choose, " +
        "erasing it. Steps: the network interface the sender is on (empty: the default route's), the disk, then you type " +
        "its name to confirm. Nothing is written before that, and nothing until the sender starts and the image's header " +
        "checks out. Start this before the sender's session begins: a session that has started admits no one. Esc goes back one step.";

    private WizardPage InterfaceStep()
    {
        var view = new WizardPage("Step 1 of 3: the network the sender is on");
        var label = new TextBlock { X = 0, Y = 2, Text = "Network interface (empty: the default route's):" };
        string current = MulticastAddress.Parse(_address).Interface ?? "";
        var field = new TextField { X = 51, Y = 2, Width = 16, Text = current };
        var status = new TextBlock { X = 0, Y = 4, Width = Dim.Fill(), Height = 3, Text = "Press Enter to go on." };
        field.Accepting += (_, e) =>
        {
            e.Handled = true;
            string typed = field.Text.Trim();
            try
            {
                _address = MulticastAddress.Parse(MulticastAddress.Scheme + typed).ToString();
            }
            catch (ImagingException ex)
            {
                status.Text = ex.Message;
                return;
            }
            Steps.Next();
        };
        view.Add(label, field, status);
        view.Shown = () => field.SetFocus();
        return view;
    }

    private WizardPage TargetStep()
    {
        // The image's size is known only once its header arrives; the restore refuses a disk too small then, before writing.
        var view = new WizardPage("Step 2 of 3: the disk to overwrite with the image that comes");
        var picker = new DiskPicker(Host.RunningApp, _services.Disks) { Y = 2 };
        picker.Chosen += disk =>
        {
            _target = disk;
            Steps.Next();
        };
        view.Add(picker);
        view.Shown = picker.Refresh;
        return view;
    }

    private WizardPage ConfirmStep()
    {
        DiskChoice target = _target ?? throw new InvalidOperationException("No target was chosen.");
        var view = new WizardPage("Step 3 of 3: confirm");
        var summary = new TextBlock
        {
            X = 0, Y = 2, Width = Dim.Fill(),
            Text = $"Receive  {_address}\n" +
                   $"Write    {target.Name} ({target.Model}, serial {target.Serial}, {ByteSize.Format(target.SizeBytes)})\n\n" +
                   $"EVERYTHING ON {target.Name} WILL BE ERASED ({RestoreScreen.Partitions(target.Partitions.Count)} now).",
        };
        var prompt = new TextBlock { X = 0, Y = 7, Text = $"Type the target's name, {target.Name}, and press Enter to wait for the sender:" };
        var field = new TextField { X = 0, Y = 8, Width = 20 };
        var status = new TextBlock { X = 0, Y = 10, Width = Dim.Fill(), Height = 2 };
        field.Accepting += (_, e) =>
        {
            e.Handled = true;
            string typed = field.Text.Trim();
            if (typed != target.Name)
            {
                status.Text = $"'{typed}' is not {target.Name}; nothing was written.";
                return;
            }
            if (_services.Jobs is not IJobRunner jobs)
            {
                status.Text = $"Restoring is {TuiServices.NotAvailable}.";
                return;
            }
            var request = new MulticastReceiveRequest(_address, target);
            Host.Push(new ProgressScreen(_services, "restore", $"Receiving {_address} onto {target.Name} (waiting for the sender to start)",
                (progress, token) => jobs.MulticastReceiveAsync(request, progress, token)));
        };
        view.Add(summary, prompt, field, status);
        view.Shown = () => field.SetFocus();
        return view;
    }
}
