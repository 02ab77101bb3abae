using System.CommandLine;
using LiveImager.Engine.Imaging;
using LiveImager.Formats.ImageFormat;

namespace LiveImager.Cli;

/// <summary>How every verb that writes or reads an image gets an encrypted image's passphrase: <c>--passphrase-file</c>,
/// else <c>LIVEIMAGER_PASSPHRASE</c>, else typed on the terminal without echo. Never on the command line.</summary>
/// <param name="environment">Where the variable is looked up; an unattended run passes its own.</param>
internal sealed class PassphraseCliOptions(Func<string, string?>? environment = null)
{
    private readonly Option<string?> _file = new("--passphrase-file")
    {
        Description = $"An encrypted image's passphrase is the first line of this file (else ${PassphraseSource.Variable}, else it is asked)",
    };

    public void AddTo(Command command) => command.Options.Add(_file);

    /// <summary>The passphrase for reading <paramref name="image"/> (a local path or "-"): given, or asked on a terminal
    /// when the image is encrypted; null for an image that is not, or when there is no way to get one (the job then
    /// says the image is encrypted). <paramref name="optional"/>: an empty answer means "none" (verify's structure check).</summary>
    public ImagePassphrase? ForReading(ParseResult parse, string image, TextWriter error, bool optional = false)
    {
        ImagePassphrase? given = PassphraseSource.From(parse.GetValue(_file), environment);
        if (given is not null || image == "-" || Console.IsInputRedirected || !IsEncrypted(image))
        {
            return given;
        }
        return Ask(optional ? "Passphrase of the encrypted image (empty: check its structure only): " : "Passphrase of the encrypted image: ",
            error, allowEmpty: optional);
    }

    /// <summary>The passphrase for a new encrypted image: given, or typed twice on a terminal.</summary>
    public ImagePassphrase ForNewImage(ParseResult parse, TextWriter error)
    {
        if (PassphraseSource.From(parse.GetValue(_file), environment) is { } given)
        {
            return given;
        }
        if (Console.IsInputRedirected)
        {
            throw new ImagingException($"--encrypt needs a passphrase: there is no terminal to ask on, so give --passphrase-file FILE or ${PassphraseSource.Variable}");
        }
        ImagePassphrase first = Ask("Passphrase for the new image: ", error, allowEmpty: false)!;
        using ImagePassphrase second = Ask("Type it again: ", error, allowEmpty: false)!;
        if (!first.SameAs(second))
        {
            first.Dispose();
            throw new ImagingException("the two passphrases differ; nothing was captured");
        }
        return first;
    }

    private static bool IsEncrypted(string image)
    {
        try
        {
            return ImageCatalog.IsEncrypted(image);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or Formats.DiskFormatException or ImagingException)
        {
            return false;
        }
    }

    /// <summary>Reads a line from the terminal without echo into memory that is cleared afterwards.</summary>
    private static ImagePassphrase? Ask(string prompt, TextWriter error, bool allowEmpty)
    {
        char[] typed = GC.AllocateArray<char>(1024, pinned: true);
        try
        {
            while (true)
            {
                error.Write(prompt);
                error.Flush();
                int length = 0;
                while (true)
                {
                    ConsoleKeyInfo key = Console.ReadKey(intercept: true);
                    if (key.Key == ConsoleKey.Enter)
                    {
                        break;
                    }
                    if (key.Key == ConsoleKey.Backspace)
                    {
                        length = Math.Max(0, length - 1);
                    }
                    else if (key.KeyChar != '\0' && !char.IsControl(key.KeyChar) && length < typed.Length)
                    {
                        typed[length++] = key.KeyChar;
                    }
                }
                error.WriteLine();
                if (length > 0)
                {
                    return new ImagePassphrase(typed.AsSpan(0, length));
                }
                if (allowEmpty)
                {
                    return null;
                }
                error.WriteLine("The passphrase cannot be empty.");
            }
        }
        finally
        {
            Array.Clear(typed);
        }
    }
}
