using System.Reflection;

namespace LiveImager.Engine.Imaging;

/// <summary>The name and version recorded in every image.</summary>
internal static class ToolVersion
{
    public static string Name { get; } =
        $"LiveImager {typeof(ToolVersion).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0"}";
}
