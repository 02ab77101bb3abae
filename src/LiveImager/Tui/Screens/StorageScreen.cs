using System.Collections.ObjectModel;
using LiveImager.Engine.Targets;
using LiveImager.Tui.Views;
using Terminal.Gui.ViewBase;
using Terminal.Gui.Views;

namespace LiveImager.Tui.Screens;

/// <summary>Where images live for this session: a local directory, a partition of a local drive, or an SMB, NFS or
/// SSH share, mounted by the Engine's <see cref="StoreMounter"/>, or an S3 bucket opened as an <see cref="S3Store"/>
/// (never mounted); kept until the TUI exits.</summary>
internal sealed class StorageScreen : Screen
{
    private const int FieldsTop = 8;

    private static readonly (StoreKind Kind, string Name)[] s_kinds =
    [
        (StoreKind.Local, "Local directory"),
        (StoreKind.Device, "Partition of a local drive"),
        (StoreKind.Smb, "SMB share"),
        (StoreKind.Nfs, "NFS export"),
        (StoreKind.Ssh, "SSH server"),
        (StoreKind.S3, "S3 bucket (object store)"),
    ];

    private readonly TuiServices _services;
    private readonly ListView _kinds;
    private readonly Dictionary<StoreKind, (string Label, TextField Field)[]> _fields = [];
    /// <summary>Every label and field of every kind; only the chosen kind's are visible.</summary>
    private readonly List<View> _formViews = [];
    private readonly TextBlock _status;
    private bool _busy;

    public StorageScreen(TuiServices services)
        : base("Storage")
    {
        _services = services;
        var prompt = new TextBlock { X = 2, Y = 1, Width = Dim.Fill(2), Text = "Kind of store (Tab moves to its fields, Enter mounts it):" };
        _kinds = new ListView { X = 2, Y = 2, Width = Dim.Fill(2), Height = s_kinds.Length };
        _kinds.SetSource(new ObservableCollection<string>(s_kinds.Select(k => k.Name)));
        _kinds.ValueChanged += (_, _) => ShowFields();
        _kinds.Accepting += (_, e) =>
        {
            e.Handled = true;
            _fields[Kind][0].Field.SetFocus();
        };
        Add(prompt, _kinds);
        AddFields(StoreKind.Local, ("Directory", services.Session.StorePath ?? "", false));
        AddFields(StoreKind.Device, ("Partition", "", false), ("Path in it", "/", false));
        AddFields(StoreKind.Smb, ("Server", "", false), ("Share", "", false), ("Path", "/", false), ("User", "", false),
            ("Password", "", true), ("Domain", "", false));
        AddFields(StoreKind.Nfs, ("Server", "", false), ("Export", "/", false));
        AddFields(StoreKind.Ssh, ("user@host[:port]", "", false), ("Path", "/", false), ("Password", "", true), ("Key file", "", false),
            ("Host key", "", false));
        AddFields(StoreKind.S3, ("Endpoint", "", false), ("Bucket/prefix", "", false), ("Access key", "", false), ("Secret key", "", true),
            ("Region", "", false), ("Plain HTTP (y/n)", "n", false));
        _status = new TextBlock { X = 2, Y = FieldsTop + 7, Width = Dim.Fill(2), Height = 7, Text = Current() };
        Add(_status);
        _kinds.SelectedItem = 0;
        ShowFields();
    }

    public override string HelpText =>
        "Choose the kind of store with Up/Down, press Tab to fill in its fields, then Enter to mount it. A local directory " +
        "must exist; a partition is given as /dev/sdb1; SMB, NFS and SSH need the network up. The password is never shown " +
        "and never written to the log. An SSH server's host key may be pinned as `ssh-keygen -l` prints it (SHA256:...); " +
        "without it, the key the server shows first is trusted and shown here to check. An S3 bucket needs the endpoint " +
        "(host or host:port), the bucket and a prefix in it, the access key and the secret key (never shown); the region " +
        "is us-east-1 when left empty, and Plain HTTP is only for a lab server without TLS. The store stays mounted and is " +
        "offered by Capture, Restore and Verify until the TUI exits, which unmounts it.";

    /// <summary>The location the form built last, for tests.</summary>
    internal StoreLocation? LastLocation { get; private set; }

    public override void OnShown() => _kinds.SetFocus();

    private StoreKind Kind => s_kinds[_kinds.SelectedItem ?? 0].Kind;

    private void AddFields(StoreKind kind, params (string Label, string Text, bool Secret)[] fields)
    {
        var added = new (string, TextField)[fields.Length];
        for (int i = 0; i < fields.Length; i++)
        {
            var label = new TextBlock { X = 2, Y = FieldsTop + i, Width = 18, Text = fields[i].Label + ":" };
            var field = new TextField { X = 21, Y = FieldsTop + i, Width = Dim.Fill(2), Text = fields[i].Text, Secret = fields[i].Secret };
            field.Accepting += (_, e) =>
            {
                e.Handled = true;
                Apply();
            };
            label.Data = kind;
            field.Data = kind;
            _formViews.Add(label);
            _formViews.Add(field);
            Add(label, field);
            added[i] = (fields[i].Label, field);
        }
        _fields[kind] = added;
    }

    private void ShowFields()
    {
        foreach (View view in _formViews)
        {
            view.Visible = (StoreKind)view.Data! == Kind;
        }
    }

    private string Value(int index) => _fields[Kind][index].Field.Text.Trim();

    private string? Optional(int index) => Value(index) is { Length: > 0 } text ? text : null;

    /// <summary>The form's fields as a location, checked by the Engine's own parser; throws its plain-words error.</summary>
    private StoreLocation Build() => Kind switch
    {
        StoreKind.Local => StoreLocation.Parse(Value(0)),
        StoreKind.Device => StoreLocation.Parse(new StoreLocation(StoreKind.Device, Rooted(Value(1)), Device: Value(0)).ToUrl()),
        StoreKind.Smb => StoreLocation.Parse(new StoreLocation(StoreKind.Smb, Rooted(Value(2)), Value(0), User: Optional(3),
            Domain: Optional(5), Share: Value(1).Trim('/')).ToUrl()),
        StoreKind.Nfs => StoreLocation.Parse(new StoreLocation(StoreKind.Nfs, Rooted(Value(1)), Value(0)).ToUrl()),
        StoreKind.S3 => StoreLocation.Parse(S3Url()),
        // The Engine's parser checks the pinned key as it would in a typed URL, before anything is mounted.
        _ => StoreLocation.Parse($"ssh://{Value(0)}{StoreLocation.EscapePath(Rooted(Value(1)))}{(Optional(4) is string pin ? "?hostkey=" + pin : "")}"),
    };

    private static string Rooted(string path) => "/" + path.TrimStart('/');

    /// <summary>The S3 form's fields as a URL for the parser: endpoint host[:port], bucket/prefix, access key, region
    /// (escaped, so nothing typed there becomes another query option) and plain HTTP.</summary>
    private string S3Url()
    {
        string endpoint = Value(0);
        string host = endpoint;
        int? port = null;
        int colon = endpoint.LastIndexOf(':');
        if (colon > 0 && !endpoint.EndsWith(']') && endpoint.IndexOf(':') == colon && int.TryParse(endpoint[(colon + 1)..],
                System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int number))
        {
            (host, port) = (endpoint[..colon], number);
        }
        string bucketAndPrefix = Value(1).Trim('/');
        int slash = bucketAndPrefix.IndexOf('/');
        string bucket = slash < 0 ? bucketAndPrefix : bucketAndPrefix[..slash];
        string prefix = slash < 0 ? "/" : Rooted(bucketAndPrefix[(slash + 1)..]);
        var addressing = new S3Addressing(Optional(4) is string region ? Uri.EscapeDataString(region) : S3Addressing.DefaultRegion,
            PlainHttp: Value(5).ToLowerInvariant() is "y" or "yes");
        return new StoreLocation(StoreKind.S3, prefix, host.Trim('[', ']'), port, User: Optional(2), Share: bucket, S3: addressing).ToUrl();
    }

    private StoreCredentials Credentials() => Kind switch
    {
        StoreKind.Smb => new StoreCredentials(Optional(4)),
        StoreKind.Ssh => new StoreCredentials(Optional(2), Optional(3)),
        StoreKind.S3 => new StoreCredentials(Optional(3)),
        _ => StoreCredentials.None,
    };

    /// <summary>The session's store, a mounted one by its URL: where it happens to be mounted means nothing to the user.</summary>
    private string Current() => _services.Session switch
    {
        { Store: { MountPoint: not null } mounted, StorePath: string path } when path == mounted.Directory => $"Images are kept in {mounted.Location}.",
        { ObjectStore: { } objects, StorePath: string path } when path == objects.Location.ToUrl() => $"Images are kept in {objects.Location}.",
        { StorePath: string path } => $"Images are kept in {path}.",
        _ => "No storage chosen yet.",
    };

    /// <summary>An SSH store's host key as it was checked: pinned, or trusted on first use and worth comparing with
    /// the server's own; nothing when the key came from the system's known_hosts or the store is not SSH.</summary>
    private static string HostKeyNote(MountedStore store) => store.HostKey switch
    {
        null => "",
        string key when store.HostKeyPinned => $"\nIts SSH host key is the pinned {key}.",
        string key => $"\nNot pinned: its SSH host key {key} was trusted on first use. Compare it with `ssh-keygen -l` " +
            "on the server, and give it as Host key to pin it.",
    };

    private void Apply()
    {
        if (_busy)
        {
            return;
        }
        StoreLocation location;
        StoreCredentials credentials;
        try
        {
            location = Build();
            credentials = Credentials();
        }
        catch (StoreException e)
        {
            _status.Text = $"{e.Message}\n{Current()}";
            return;
        }
        LastLocation = location;
        _busy = true;
        _status.Text = location.Kind == StoreKind.S3 ? $"Opening {location}..." : $"Mounting {location}...";
        var options = new StoreOptions { Credentials = credentials };
        _ = Task.Run(() =>
        {
            string outcome;
            MountedStore? store = null;
            S3Store? objects = null;
            try
            {
                if (location.Kind == StoreKind.S3)
                {
                    // Opening checks the keys and the bucket with one listing; a bucket has no free space to show.
                    objects = S3Store.Open(location, options);
                    outcome = $"{location} is ready: an object store, no free space to check.";
                }
                else
                {
                    store = new StoreMounter(options).Mount(location);
                    outcome = $"{location} is ready: {ByteSize.Format(store.FreeBytes)} free.{HostKeyNote(store)}";
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                outcome = $"{location} cannot be used: {e.Message}";
            }
            Host.RunningApp.Invoke(() =>
            {
                _busy = false;
                if (objects is not null)
                {
                    _services.Session.Use(objects);
                    _status.Text = $"{outcome}\n{Current()}";
                }
                else if (store is not null)
                {
                    _services.Session.Use(store);
                    _status.Text = $"{outcome}\n{Current()}";
                }
                else
                {
                    _status.Text = $"{outcome}\nNothing was changed. {Current()}";
                }
            });
        });
    }
}
