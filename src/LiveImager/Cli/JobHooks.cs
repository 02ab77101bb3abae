using LiveImager.Engine.Deploy;
using LiveImager.Engine.Imaging;

namespace LiveImager.Cli;

/// <summary>What an unattended run changes in the capture, restore and verify verbs: the environment their store login
/// reads (with the conf file's password), plain progress lines, and the job's figures or error handed back.</summary>
internal sealed class JobHooks(Func<string, string?> environment)
{
    public Func<string, string?> Environment => environment;

    /// <summary>Set by the verb when its job ran to the end.</summary>
    public JobFigures? Figures { get; private set; }

    /// <summary>Set by the verb when its job failed: what it printed after "VERB: ".</summary>
    public string? Error { get; private set; }

    public void Finish(JobFigures figures) => Figures = figures;

    public void Fail(string message) => Error = message;

    /// <summary>The image's size on its store, every volume counted: what a restore or verify read; 0 for "-".</summary>
    public static long StoredBytes(string imagePath) => imagePath == "-" ? 0 : ImageCatalog.Describe(imagePath).SizeBytes;
}
