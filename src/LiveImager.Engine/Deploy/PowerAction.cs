using System.Diagnostics;
using LiveImager.Engine.Targets;

namespace LiveImager.Engine.Deploy;

/// <summary>What ends the live session after an unattended job: power off or reboot.</summary>
public interface IPowerAction
{
    void Perform(AfterJob after);
}

/// <summary>Powers off or reboots through systemd (<c>systemctl poweroff|reboot</c>); a shell needs nothing.</summary>
public sealed class SystemdPower : IPowerAction
{
    public void Perform(AfterJob after)
    {
        string? verb = after switch
        {
            AfterJob.PowerOff => "poweroff",
            AfterJob.Reboot => "reboot",
            _ => null,
        };
        if (verb is null)
        {
            return;
        }
        var start = new ProcessStartInfo(StoreTools.Find("systemctl") ?? "/usr/bin/systemctl", [verb]) { UseShellExecute = false };
        StoreTools.Sanitize(start);
        using Process process = Process.Start(start)
            ?? throw new InvalidOperationException($"systemctl {verb} could not be started");
        process.WaitForExit();
    }
}

/// <summary>Leaves the machine on whatever <c>after</c> says (<c>--no-power</c>, for tests).</summary>
public sealed class NoPower : IPowerAction
{
    public void Perform(AfterJob after)
    {
    }
}
