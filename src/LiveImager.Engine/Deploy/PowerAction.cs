using System.Diagnostics;

namespace LiveImager.Engine.Deploy;

/// <summary>What ends the live session after an unattended job: power off or reboot.</summary>
public interface IPowerAction
{
    void Carry(AfterJob after);
}

/// <summary>Powers off or reboots through systemd (<c>systemctl poweroff|reboot</c>); a shell needs nothing.</summary>
public sealed class SystemdPower : IPowerAction
{
    public void Carry(AfterJob after)
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
        using Process process = Process.Start(new ProcessStartInfo("systemctl", [verb]) { UseShellExecute = false })
            ?? throw new InvalidOperationException($"systemctl {verb} could not be started");
        process.WaitForExit();
    }
}

/// <summary>Leaves the machine on whatever <c>after</c> says (<c>--no-power</c>, for tests).</summary>
public sealed class NoPower : IPowerAction
{
    public void Carry(AfterJob after)
    {
    }
}
