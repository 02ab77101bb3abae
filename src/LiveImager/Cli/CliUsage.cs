using System.CommandLine;
using System.CommandLine.Parsing;
using LiveImager.Engine;

namespace LiveImager.Cli;

/// <summary>The one check of a parsed command line, for every verb and the bare command, before anything runs: no token
/// that starts with '-' is ever taken as a path or a value. System.CommandLine hands a word it does not know as an
/// option (--shrink, --split4G) to an argument whose arity still has room, so a typo would become a restore target or an
/// image name; here it is a usage error naming it, with the closest option the verb has.</summary>
internal static class CliUsage
{
    /// <summary>The arguments documented to take '-' for standard input or output: (verb, argument).</summary>
    private static readonly (string Verb, string Argument)[] s_standardStreamArguments =
    [
        ("capture", "image"),
        ("restore", "image"),
        ("verify", "image"),
    ];

    /// <summary>Parses without response files: '@name' is a file name here, never a file of more arguments.</summary>
    public static ParserConfiguration Configuration { get; } = new() { ResponseFileTokenReplacer = null };

    /// <summary>What is wrong with the command line, one sentence each; empty when it may run. An unknown option hides
    /// the errors it causes (the argument it displaced), so the user reads about the typo only.</summary>
    public static IReadOnlyList<string> Problems(ParseResult parse)
    {
        var owners = new Dictionary<Token, SymbolResult>(ReferenceEqualityComparer.Instance);
        for (SymbolResult? result = parse.CommandResult; result is not null; result = result.Parent)
        {
            if (result is CommandResult command)
            {
                foreach (SymbolResult child in command.Children)
                {
                    foreach (Token token in child.Tokens)
                    {
                        owners.TryAdd(token, child);
                    }
                }
            }
        }

        var problems = new List<string>();
        foreach (Token token in parse.Tokens)
        {
            if (token.Type == TokenType.DoubleDash)
            {
                // Everything after -- is a word as written: the documented way to name a path that starts with '-'.
                break;
            }
            if (token.Type != TokenType.Argument || !token.Value.StartsWith('-'))
            {
                continue;
            }
            owners.TryGetValue(token, out SymbolResult? owner);
            if (token.Value == "-")
            {
                if (owner is not ArgumentResult argument || !AcceptsStandardStream(parse.CommandResult.Command, argument.Argument))
                {
                    problems.Add($"'-' (standard input or output) cannot be {Describe(owner)} here; a file named - is written ./-");
                }
                continue;
            }
            problems.Add(owner is OptionResult option
                ? $"{option.IdentifierToken?.Value ?? option.Option.Name} {token.Value}: a value that starts with '-' is taken for a mistyped " +
                  $"option; a path that starts with '-' is written ./{token.Value}"
                : UnknownOption(token.Value, parse.CommandResult.Command));
        }
        if (problems.Count > 0)
        {
            return problems;
        }
        bool errorsCleared = parse.Action is { ClearsParseErrors: true };
        return errorsCleared ? [] : [.. parse.Errors.Select(error => error.Message)];
    }

    /// <summary>Prints the problems as "liveimager VERB: problem" and where to read more.</summary>
    public static void Report(ParseResult parse, IReadOnlyList<string> problems, TextWriter error)
    {
        string name = CommandPath(parse.CommandResult);
        foreach (string problem in problems)
        {
            error.WriteLine($"{name}: {problem}");
        }
        error.WriteLine($"{name}: nothing was done; see {name} --help");
    }

    private static string UnknownOption(string typed, Command command)
    {
        string[] known = [.. KnownOptions(command)];
        // --split4G: an option and its value written together.
        string? joined = command.Options.Where(o => !IsSwitch(o)).SelectMany(o => o.Aliases.Prepend(o.Name))
            .Where(name => typed.Length > name.Length && typed.StartsWith(name, StringComparison.Ordinal) && typed[name.Length] != '=')
            .OrderByDescending(name => name.Length).FirstOrDefault();
        string hint = joined is not null
            ? $"did you mean '{joined} {typed[joined.Length..]}'?"
            : Spelling.Closest(typed, known) is { } closest
                ? $"did you mean {closest}?"
                : known.Length > 0 ? $"the options are {string.Join(", ", known)}" : $"{command.Name} takes no options";
        return $"unknown option {typed}: {hint} (a path that starts with '-' is written ./{typed}, or after --)";
    }

    /// <summary>The options a user can give this command, its own and those its parents pass down (--help).</summary>
    private static IEnumerable<string> KnownOptions(Command command)
    {
        var names = new List<string>();
        names.AddRange(command.Options.Where(o => !o.Hidden).Select(o => o.Name));
        foreach (Command parent in Ancestors(command))
        {
            names.AddRange(parent.Options.Where(o => o.Recursive && !o.Hidden).Select(o => o.Name));
        }
        return names.Distinct();
    }

    private static IEnumerable<Command> Ancestors(Command command)
    {
        foreach (Symbol parent in command.Parents)
        {
            if (parent is Command parentCommand)
            {
                yield return parentCommand;
                foreach (Command ancestor in Ancestors(parentCommand))
                {
                    yield return ancestor;
                }
            }
        }
    }

    private static bool IsSwitch(Option option) => option.Arity.MaximumNumberOfValues == 0;

    private static bool AcceptsStandardStream(Command command, Argument argument) =>
        s_standardStreamArguments.Contains((command.Name, argument.Name));

    private static string Describe(SymbolResult? owner) => owner switch
    {
        ArgumentResult argument => $"the {argument.Argument.Name}",
        OptionResult option => $"the value of {option.Option.Name}",
        _ => "an argument",
    };

    private static string CommandPath(CommandResult command)
    {
        var names = new List<string>();
        for (SymbolResult? result = command; result is not null; result = result.Parent)
        {
            if (result is CommandResult c)
            {
                names.Insert(0, c.Parent is null ? "liveimager" : c.Command.Name);
            }
        }
        return string.Join(' ', names);
    }
}
