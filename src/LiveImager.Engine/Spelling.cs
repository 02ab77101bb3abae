namespace LiveImager.Engine;

/// <summary>The nearest of a few known names to a mistyped one, for "did you mean" hints on the command line and in
/// liveimager.conf.</summary>
public static class Spelling
{
    /// <summary>Longer words are not typos of a name; this also bounds the distance table.</summary>
    private const int MaxLength = 256;

    /// <summary>The known name closest to <paramref name="typed"/> by edit distance (a swap of two neighbours counts
    /// as one edit), or null when none is close enough to be a likely typo: at most a third of the name's letters.
    /// A name's leading words count as the name (<c>--verfy</c> is near <c>--verify</c> of <c>--verify-first</c>).</summary>
    public static string? Closest(string typed, IEnumerable<string> known)
    {
        if (typed.Length > MaxLength)
        {
            return null;
        }
        string? best = null;
        int bestDistance = int.MaxValue;
        foreach (string name in known)
        {
            int distance = LeadingWords(name).Min(words => Distance(typed, words));
            if (distance < bestDistance)
            {
                (best, bestDistance) = (name, distance);
            }
        }
        int letters = Math.Max(typed.TrimStart('-').Length, 1);
        return best is not null && bestDistance <= Math.Max(1, letters / 3) ? best : null;
    }

    /// <summary>The name and each of its beginnings that ends before a '-' inside it: --verify-first, --verify.</summary>
    private static IEnumerable<string> LeadingWords(string name)
    {
        yield return name;
        int start = name.Length - name.TrimStart('-').Length;
        for (int dash = name.LastIndexOf('-'); dash > start; dash = name.LastIndexOf('-', dash - 1))
        {
            yield return name[..dash];
        }
    }

    /// <summary>The optimal string alignment distance: insertions, deletions, substitutions and adjacent swaps.</summary>
    private static int Distance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (int i = 0; i <= a.Length; i++)
        {
            d[i, 0] = i;
        }
        for (int j = 0; j <= b.Length; j++)
        {
            d[0, j] = j;
        }
        for (int i = 1; i <= a.Length; i++)
        {
            for (int j = 1; j <= b.Length; j++)
            {
                int cost = a[i - 1] == b[j - 1] ? 0 : 1;
                int value = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + cost);
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                {
                    value = Math.Min(value, d[i - 2, j - 2] + 1);
                }
                d[i, j] = value;
            }
        }
        return d[a.Length, b.Length];
    }
}
