using System.Globalization;
using LiveImager.Engine.Imaging;
using LiveImager.Engine.Multicast;
using LiveImager.Tui.Views;
using Terminal.Gui.ViewBase;
using Terminal.Gui.Views;

namespace LiveImager.Tui.Screens;

/// <summary>Multicast, sending: the image, the network interface, and when to start (this many machines joined, or
/// this long after the first); Enter checks the choices and opens the session screen.</summary>
internal sealed class MulticastSendScreen : Screen
{
    /// <summary>What the "seconds after the first" field holds at first: time to switch on a row of machines.</summary>
    private const int DefaultMaxWaitSeconds = 120;

    private readonly TuiServices _services;
    private readonly TextField _image;
    private readonly TextField _interface;
    private readonly TextField _minReceivers;
    private readonly TextField _maxWait;
    private readonly TextBlock _status;

    public MulticastSendScreen(TuiServices services)
        : base("Multicast: send")
    {
        _services = services;
        string store = services.Session.StorePath is string s ? StoreDirectory.Prefix(s) : "";
        _image = new TextField { X = 2, Y = 2, Width = Dim.Fill(2), Text = store };
        _interface = new TextField { X = 51, Y = 4, Width = 16 };
        _minReceivers = new TextField { X = 51, Y = 5, Width = 8 };
        _maxWait = new TextField { X = 51, Y = 6, Width = 8, Text = DefaultMaxWaitSeconds.ToString(CultureInfo.InvariantCulture) };
        _status = new TextBlock
        {
            X = 2, Y = 8, Width = Dim.Fill(2), Height = 4,
            Text = "Enter starts the session. The image is only read; each receiving machine overwrites the disk it chose.",
        };
        foreach (TextField field in new[] { _image, _interface, _minReceivers, _maxWait })
        {
            field.Accepting += (_, e) =>
            {
                e.Handled = true;
                Start();
            };
        }
        Add(
            new TextBlock { X = 2, Y = 1, Text = "The image to send:" }, _image,
            new TextBlock { X = 2, Y = 4, Text = "Network interface (empty: the default route's):" }, _interface,
            new TextBlock { X = 2, Y = 5, Text = "Start when this many machines have joined:" }, _minReceivers,
            new TextBlock { X = 2, Y = 6, Text = "or this many seconds after the first joined:" }, _maxWait,
            _status);
    }

    public override string HelpText =>
        "Type the image's path, the network interface the receiving machines are on (empty: the one of the default " +
        "route), and when the transfer starts: as soon as that many machines have joined, or that many seconds after the " +
        "first one joined, with those that have (give one or both). Tab moves between the fields; Enter starts. If no " +
        "machine joins within " + $"{MulticastSender.DefaultJoinTimeout.TotalMinutes:0} minutes, the session ends without sending.";

    public override void OnShown() => _image.SetFocus();

    private void Start()
    {
        if (_services.Jobs is not IJobRunner jobs)
        {
            _status.Text = $"Sending is {TuiServices.NotAvailable}.";
            return;
        }
        string path = StoreDirectory.Image(_image.Text.Trim());
        string typedInterface = _interface.Text.Trim();
        if (!Number(_minReceivers, "The number of machines", out int? min) || !Number(_maxWait, "The seconds after the first", out int? wait))
        {
            return;
        }
        if (min is null && wait is null)
        {
            _status.Text = "Say when to start: a number of machines, seconds after the first, or both.";
            _minReceivers.SetFocus();
            return;
        }
        MulticastSendRequest request;
        try
        {
            string? name = typedInterface.Length == 0 ? null : MulticastAddress.CheckInterface(typedInterface, "the interface");
            var options = new MulticastSendOptions(path, new MulticastAddress(name, MulticastAddress.DefaultPortBase), min,
                wait is int seconds ? TimeSpan.FromSeconds(seconds) : null);
            MulticastSender.Validate(options);
            request = new MulticastSendRequest(path, name, min, options.MaxWait);
        }
        catch (ImagingException e)
        {
            _status.Text = $"{char.ToUpperInvariant(e.Message[0])}{e.Message[1..]}.";
            return;
        }
        if (!StoreDirectory.ImageExists(path))
        {
            _status.Text = $"'{path}' is not a file here.";
            return;
        }
        Host.Push(new MulticastSessionScreen(_services, request, jobs));
    }

    /// <summary>An empty field is no choice; anything else must be a whole number.</summary>
    private bool Number(TextField field, string what, out int? value)
    {
        string text = field.Text.Trim();
        value = null;
        if (text.Length == 0)
        {
            return true;
        }
        if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int parsed))
        {
            value = parsed;
            return true;
        }
        _status.Text = $"{what} must be a whole number, not '{text}'.";
        field.SetFocus();
        return false;
    }
}
