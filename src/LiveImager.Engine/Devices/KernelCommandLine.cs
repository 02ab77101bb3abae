namespace LiveImager.Engine.Devices;

/// <summary>The kernel command line's <c>name=value</c> parameters, split as the kernel splits them
/// (lib/cmdline.c next_arg): spaces separate, double quotes protect spaces and are removed around a value.</summary>
public sealed class KernelCommandLine
{
    /// <summary>Where the running kernel shows its command line.</summary>
    public const string ProcPath = "/proc/cmdline";

    private readonly List<KeyValuePair<string, string?>> _parameters;

    private KernelCommandLine(List<KeyValuePair<string, string?>> parameters) => _parameters = parameters;

    public static KernelCommandLine Empty { get; } = new([]);

    /// <summary>The command line in <paramref name="path"/>; empty when the file is missing or unreadable.</summary>
    public static KernelCommandLine Read(string path)
    {
        try
        {
            return File.Exists(path) ? Parse(File.ReadAllText(path)) : Empty;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return Empty;
        }
    }

    public static KernelCommandLine Parse(string text)
    {
        var parameters = new List<KeyValuePair<string, string?>>();
        int position = 0;
        while (position < text.Length)
        {
            if (char.IsWhiteSpace(text[position]))
            {
                position++;
                continue;
            }
            int start = position;
            bool quoted = false;
            int equals = -1;
            for (; position < text.Length && (quoted || !char.IsWhiteSpace(text[position])); position++)
            {
                if (text[position] == '"')
                {
                    quoted = !quoted;
                }
                else if (text[position] == '=' && equals < 0)
                {
                    equals = position;
                }
            }
            string token = text[start..position];
            int split = equals < 0 ? -1 : equals - start;
            // The kernel drops a quote that opens the whole parameter and the one that opens its value, each with the
            // quote that ends the token.
            if (token.StartsWith('"'))
            {
                token = token[1..];
                split--;
                token = token.EndsWith('"') ? token[..^1] : token;
            }
            if (split < 0)
            {
                parameters.Add(new(token, null));
                continue;
            }
            string value = token[(split + 1)..];
            if (value.StartsWith('"'))
            {
                value = value.EndsWith('"') && value.Length > 1 ? value[1..^1] : value[1..];
            }
            parameters.Add(new(token[..split], value));
        }
        return new KernelCommandLine(parameters);
    }

    /// <summary>The value of the last <paramref name="name"/>=… parameter (the kernel, too, lets the last one win);
    /// null when absent or given without '='.</summary>
    public string? this[string name] => _parameters.LastOrDefault(parameter => parameter.Key == name).Value;
}
