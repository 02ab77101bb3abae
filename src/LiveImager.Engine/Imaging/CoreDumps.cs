using System.Runtime.InteropServices;

namespace LiveImager.Engine.Imaging;

/// <summary>Keeps secrets out of core dumps of this process: once a passphrase or key may be in memory the process is
/// made not dumpable (PR_SET_DUMPABLE 0), so a crash writes no core, no core handler is fed its memory, and only root
/// may ptrace it or read its /proc files. It stays so until the process ends; children start dumpable again at exec.</summary>
public static class CoreDumps
{
    /// <summary>Makes the process not dumpable; throws <see cref="ImagingException"/> if the kernel refuses, so a secret
    /// is never held by a process that could still dump it.</summary>
    public static void Forbid()
    {
        if (Interop.prctl(Interop.PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            throw new ImagingException($"cannot stop this process from dumping core (prctl PR_SET_DUMPABLE: {Marshal.GetPInvokeErrorMessage(errno)}, errno {errno}); no passphrase was read");
        }
    }

    /// <summary>True while the process may dump core (PR_GET_DUMPABLE).</summary>
    public static bool Allowed => Interop.prctl(Interop.PR_GET_DUMPABLE, 0, 0, 0, 0) != 0;
}
