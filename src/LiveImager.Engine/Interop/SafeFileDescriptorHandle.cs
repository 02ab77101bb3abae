using System.Runtime.InteropServices;

namespace LiveImager.Engine;

/// <summary>An owned file descriptor, closed exactly once.</summary>
internal sealed class SafeFileDescriptorHandle : SafeHandle
{
    public SafeFileDescriptorHandle()
        : base(invalidHandleValue: -1, ownsHandle: true)
    {
    }

    public override bool IsInvalid => (int)handle < 0;

    /// <summary>The descriptor number, for calls (Mono.Unix) that take an int; valid while the handle is open.</summary>
    public int Descriptor => (int)handle;

    protected override bool ReleaseHandle() => Interop.close((int)handle) == 0;
}
