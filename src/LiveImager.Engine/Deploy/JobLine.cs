using System.Text;

namespace LiveImager.Engine.Deploy;

/// <summary>Splits an unattended job line into arguments the way a POSIX shell splits words, without any expansion:
/// blanks separate; '…' keeps everything literally; "…" keeps blanks, and a backslash in it escapes only " \ $ and `;
/// outside quotes a backslash escapes the next character.</summary>
public static class JobLine
{
    /// <exception cref="UnattendedConfigException">An unclosed quote or a backslash at the very end.</exception>
    public static IReadOnlyList<string> Split(string line, string origin)
    {
        var words = new List<string>();
        var word = new StringBuilder();
        bool inWord = false;
        for (int i = 0; i < line.Length; i++)
        {
            char c = line[i];
            switch (c)
            {
                case ' ' or '\t' or '\n' or '\r':
                    if (inWord)
                    {
                        words.Add(word.ToString());
                        word.Clear();
                        inWord = false;
                    }
                    break;
                case '\'':
                    int close = line.IndexOf('\'', i + 1);
                    if (close < 0)
                    {
                        throw Unclosed(origin, line, '\'', i);
                    }
                    word.Append(line, i + 1, close - i - 1);
                    i = close;
                    inWord = true;
                    break;
                case '"':
                    i = ReadDoubleQuoted(line, i, word, origin);
                    inWord = true;
                    break;
                case '\\':
                    if (i + 1 >= line.Length)
                    {
                        throw new UnattendedConfigException($"{origin}: the job line ends in a backslash that escapes nothing: {line}");
                    }
                    word.Append(line[++i]);
                    inWord = true;
                    break;
                default:
                    word.Append(c);
                    inWord = true;
                    break;
            }
        }
        if (inWord)
        {
            words.Add(word.ToString());
        }
        return words;
    }

    // Returns the index of the closing quote.
    private static int ReadDoubleQuoted(string line, int open, StringBuilder word, string origin)
    {
        for (int i = open + 1; i < line.Length; i++)
        {
            char c = line[i];
            if (c == '"')
            {
                return i;
            }
            if (c == '\\' && i + 1 < line.Length && line[i + 1] is '"' or '\\' or '$' or '`')
            {
                word.Append(line[++i]);
                continue;
            }
            word.Append(c);
        }
        throw Unclosed(origin, line, '"', open);
    }

    private static UnattendedConfigException Unclosed(string origin, string line, char quote, int position) =>
        new($"{origin}: the {quote} at character {position + 1} of the job line is never closed: {line}");
}
