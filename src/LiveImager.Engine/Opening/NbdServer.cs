using System.Net;
using System.Net.Sockets;
using LiveImager.Engine.Imaging;
using Serilog;

namespace LiveImager.Engine.Opening;

/// <summary>A read-only NBD server of one image: the whole disk and each partition as exports (see
/// <see cref="NbdExport"/>), on a Unix socket or a TCP address, several clients at once, each on its own thread.</summary>
public sealed class NbdServer : IDisposable
{
    /// <summary>Clients served at once; each may hold one read of up to <see cref="NbdConnection.MaxRequestBytes"/>, so
    /// this and the frame cache bound the server's memory.</summary>
    public const int MaxClients = 16;

    private readonly ImageDisk _disk;
    private readonly Socket _listener;
    private readonly string? _socketPath;
    private readonly HashSet<Socket> _clients = [];
    private readonly Lock _clientsLock = new();
    private long _bytesServed;
    private bool _disposed;

    private NbdServer(ImageDisk disk, Socket listener, string? socketPath, string address)
    {
        _disk = disk;
        _listener = listener;
        _socketPath = socketPath;
        Address = address;
        Exports = NbdExport.Of(disk.Metadata);
    }

    public IReadOnlyList<NbdExport> Exports { get; }

    /// <summary>Where clients connect, as an NBD URI without the export name: <c>nbd+unix:///?socket=PATH</c> or <c>nbd://HOST:PORT</c>.</summary>
    public string Address { get; }

    /// <summary>Bytes sent in answer to reads so far.</summary>
    public long BytesServed => Interlocked.Read(ref _bytesServed);

    /// <summary>The NBD URI of export <paramref name="name"/>.</summary>
    public string UriOf(string name) => _socketPath is null ? $"{Address}/{name}" : $"nbd+unix:///{name}?socket={_socketPath}";

    /// <summary>Listens on a Unix socket at <paramref name="path"/>; a stale socket left there by a server that is gone
    /// is replaced, anything else there is refused.</summary>
    public static NbdServer ListenUnix(ImageDisk disk, string path)
    {
        string full = Path.GetFullPath(path);
        if (File.Exists(full) || Directory.Exists(full))
        {
            if (!IsStaleSocket(full))
            {
                throw new ImagingException($"{path} already exists and is not a socket that nobody listens on; choose another --socket path");
            }
            File.Delete(full);
        }
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            socket.Bind(new UnixDomainSocketEndPoint(full));
            socket.Listen(MaxClients);
        }
        catch (SocketException e)
        {
            socket.Dispose();
            throw new ImagingException($"cannot listen on {path}: {e.Message}");
        }
        return new NbdServer(disk, socket, full, $"nbd+unix:///?socket={full}");
    }

    /// <summary>Listens on TCP at <paramref name="endpoint"/> (NBD's port is 10809).</summary>
    public static NbdServer ListenTcp(ImageDisk disk, IPEndPoint endpoint)
    {
        var socket = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            socket.Bind(endpoint);
            socket.Listen(MaxClients);
        }
        catch (SocketException e)
        {
            socket.Dispose();
            throw new ImagingException($"cannot listen on {endpoint}: {e.Message}");
        }
        var bound = (IPEndPoint)socket.LocalEndPoint!;
        string host = bound.AddressFamily == AddressFamily.InterNetworkV6 ? $"[{bound.Address}]" : bound.Address.ToString();
        return new NbdServer(disk, socket, null, $"nbd://{host}:{bound.Port}");
    }

    /// <summary>Accepts clients until <paramref name="cancellationToken"/> is cancelled; then closes every connection.</summary>
    public void Serve(CancellationToken cancellationToken)
    {
        using CancellationTokenRegistration stop = cancellationToken.Register(Dispose);
        Log.Information("Serving {Image} over NBD at {Address}: exports {Exports}", _disk.Name, Address,
            string.Join(", ", Exports.Select(e => $"{e.Name} ({e.Length} bytes)")));
        while (!cancellationToken.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = _listener.Accept();
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                if (cancellationToken.IsCancellationRequested || _disposed)
                {
                    break;
                }
                throw;
            }
            Start(client);
        }
    }

    /// <summary>Serves on a background thread until disposed: for a job that is itself the server's one client.</summary>
    public Thread ServeInBackground()
    {
        var thread = new Thread(() => Serve(CancellationToken.None)) { IsBackground = true, Name = "nbd-accept" };
        thread.Start();
        return thread;
    }

    private void Start(Socket client)
    {
        string peer = client.RemoteEndPoint?.ToString() is { Length: > 0 } remote ? remote : "unix-socket client";
        lock (_clientsLock)
        {
            if (_clients.Count >= MaxClients || _disposed)
            {
                Log.Warning("NBD client {Peer} refused: {Max} clients are connected already", peer, MaxClients);
                client.Dispose();
                return;
            }
            _clients.Add(client);
        }
        if (client.ProtocolType == ProtocolType.Tcp)
        {
            client.NoDelay = true;
        }
        var thread = new Thread(() =>
        {
            try
            {
                using var stream = new NetworkStream(client, ownsSocket: true);
                new NbdConnection(stream, _disk, Exports, peer, n => Interlocked.Add(ref _bytesServed, n)).Run();
            }
            finally
            {
                lock (_clientsLock)
                {
                    _clients.Remove(client);
                }
                client.Dispose();
            }
        })
        { IsBackground = true, Name = "nbd-client" };
        thread.Start();
    }

    private static bool IsStaleSocket(string path)
    {
        if (new Mono.Unix.UnixFileInfo(path).FileType != Mono.Unix.FileTypes.Socket)
        {
            return false;
        }
        using var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            probe.Connect(new UnixDomainSocketEndPoint(path));
            return false;
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionRefused)
        {
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    public void Dispose()
    {
        lock (_clientsLock)
        {
            if (_disposed)
            {
                return;
            }
            _disposed = true;
            foreach (Socket client in _clients)
            {
                try
                {
                    client.Shutdown(SocketShutdown.Both);
                }
                catch (SocketException)
                {
                    // Already gone.
                }
            }
        }
        _listener.Dispose();
        if (_socketPath is not null)
        {
            File.Delete(_socketPath);
        }
    }
}
