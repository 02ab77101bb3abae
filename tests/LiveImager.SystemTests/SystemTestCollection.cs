using Xunit;

namespace LiveImager.SystemTests;

/// <summary>System tests run one at a time: they share the process environment and the machine's loop devices.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SystemTestCollection
{
    public const string Name = "system";
}
