using System.Collections.ObjectModel;
using System.Globalization;
using Terminal.Gui.App;
using Terminal.Gui.ViewBase;
using Terminal.Gui.Views;

namespace LiveImager.Tui.Views;

/// <summary>The first two wizard pages restore and deploy share: the directory with the images, then one image from it with its details.</summary>
internal static class ImagePages
{
    /// <summary>A field for the store directory; Enter lists its images off the UI thread and hands them on.</summary>
    /// <param name="listed">Runs on the UI thread with the store's full path and its images, once there is at least one.</param>
    public static WizardPage Store(string heading, TuiServices services, IApplication app, string store, Action<string, IReadOnlyList<ImageSummary>> listed)
    {
        var view = new WizardPage(heading);
        var field = new TextField { X = 0, Y = 2, Width = Dim.Fill(), Text = store.Length > 0 ? store : services.Session.StorePath ?? "" };
        var status = new TextBlock { X = 0, Y = 4, Width = Dim.Fill(), Height = 2, Text = "Press Enter to list its images." };
        field.Accepting += (_, e) =>
        {
            e.Handled = true;
            if (services.Images is not IImageCatalog catalog)
            {
                status.Text = $"Reading image details is {TuiServices.NotAvailable}.";
                return;
            }
            string path = field.Text.Trim();
            status.Text = $"Reading {path}...";
            _ = Task.Run(async () =>
            {
                string? error = null;
                IReadOnlyList<ImageSummary> images = [];
                try
                {
                    images = StoreDirectory.Exists(path) ? await catalog.ListAsync(path, CancellationToken.None) : [];
                    error = !StoreDirectory.Exists(path) ? $"'{path}' is not a directory here." : images.Count == 0 ? $"{path} holds no images." : null;
                }
                catch (Exception ex)
                {
                    error = $"{path} could not be read: {ex.Message}";
                }
                app.Invoke(() =>
                {
                    if (error is not null)
                    {
                        status.Text = error;
                        return;
                    }
                    string full = StoreDirectory.Full(path);
                    services.Session.StorePath = full;
                    listed(full, images);
                });
            });
        };
        view.Add(field, status);
        view.Shown = () => field.SetFocus();
        return view;
    }

    /// <summary>The store's images, one a row, with the details of the one under the cursor; Enter chooses it.</summary>
    /// <param name="opensEncrypted">True when the wizard asks for an encrypted image's passphrase; else such an image cannot be chosen.</param>
    public static WizardPage Image(string heading, IReadOnlyList<ImageSummary> images, Action<ImageSummary> chosen, bool opensEncrypted = false)
    {
        string? Problem(ImageSummary i) => i.Problem ??
            (i.Encrypted && !opensEncrypted ? "it is encrypted; open it from the Shell with liveimager, which asks for its passphrase" : null);
        var view = new WizardPage(heading);
        var list = new ListView { X = 0, Y = 2, Width = Dim.Fill(), Height = Dim.Fill(7) };
        list.SetSource(new ObservableCollection<string>(images.Select(i => Problem(i) is not null ? $"{Cut(i.Name, 46),-46} INCOMPLETE"
            : i.Encrypted ? $"{Cut(i.Name, 46),-46} {ByteSize.Format(i.StoredBytes),9}  locked"
            : $"{Cut(i.Name, 46),-46} {ByteSize.Format(i.SourceSizeBytes),9}  {i.Created.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture)}")));
        var details = new TextBlock { X = 0, Y = Pos.AnchorEnd(6), Width = Dim.Fill(), Height = 6 };
        void ShowDetails()
        {
            if (list.SelectedItem is int index && index < images.Count)
            {
                ImageSummary i = images[index];
                details.Text = Problem(i) is string problem ? $"{i.Name} cannot be restored: {problem}"
                    : i.Encrypted ? $"{i.Name} is encrypted, stored in {ByteSize.Format(i.StoredBytes)}.\nIts details show once you give its passphrase: press Enter."
                    : $"From {i.SourceModel}, serial {i.SourceSerial}, a {ByteSize.Format(i.SourceSizeBytes)} disk\n" +
                               $"Taken {i.Created.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture)}, stored in {ByteSize.Format(i.StoredBytes)}\n" +
                               $"Needs a disk of at least {ByteSize.Exact(i.RequiredBytes)}\n" +
                               $"Partitions: {string.Join(", ", i.Partitions)}" +
                               (i.BaseName is null ? string.Empty : $"\nIncremental on {i.BaseName}, which must stay in this store");
            }
        }
        list.ValueChanged += (_, _) => ShowDetails();
        list.Accepting += (_, e) =>
        {
            e.Handled = true;
            if (list.SelectedItem is int index && index < images.Count && Problem(images[index]) is null)
            {
                chosen(images[index]);
            }
        };
        view.Add(list, details);
        view.Shown = () =>
        {
            list.SetFocus();
            list.SelectedItem ??= 0;
            ShowDetails();
        };
        return view;
    }

    private static string Cut(string text, int width) => text.Length <= width ? text : text[..(width - 1)] + "~";
}
