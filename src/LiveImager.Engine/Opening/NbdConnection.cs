using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using LiveImager.Formats;
using Serilog;
using static LiveImager.Engine.Opening.NbdProtocol;

namespace LiveImager.Engine.Opening;

/// <summary>One client of <see cref="NbdServer"/>: the fixed newstyle handshake, then read requests answered with
/// simple replies, one at a time and in order, until the client disconnects.</summary>
internal sealed class NbdConnection(Stream stream, ImageDisk disk, IReadOnlyList<NbdExport> exports, string peer, Action<long> served)
{
    /// <summary>Largest read served, and the maximum block size announced: a read is decoded whole before its reply
    /// starts (an error must come before the data), so this bounds each connection's buffer.</summary>
    public const int MaxRequestBytes = 32 << 20;

    /// <summary>Preferred block size announced: the page size, what filesystems read.</summary>
    private const int PreferredBlockBytes = 4096;

    /// <summary>Largest option accepted: a name of the longest string the spec allows and any list of info requests.</summary>
    private const int MaxOptionBytes = 64 << 10;

    private const int DrainBytes = 64 << 10;

    private const ushort TransmissionFlags = FlagHasFlags | FlagReadOnly | FlagCanMultiConn;

    private bool _noZeroes;

    public void Run()
    {
        try
        {
            if (Handshake() is { } export)
            {
                Log.Information("NBD client {Peer} opened export {Export} of {Image}", peer, export.Name, disk.Name);
                Transmit(export);
            }
        }
        catch (Exception e) when (e is IOException or EndOfStreamException or ObjectDisposedException)
        {
            Log.Information("NBD client {Peer} went away: {Reason}", peer, e.Message);
        }
    }

    /// <summary>Negotiates until the client picks an export (returned), aborts or breaks the protocol (null).</summary>
    private NbdExport? Handshake()
    {
        Span<byte> greeting = stackalloc byte[18];
        BinaryPrimitives.WriteUInt64BigEndian(greeting, InitMagic);
        BinaryPrimitives.WriteUInt64BigEndian(greeting[8..], OptionMagic);
        BinaryPrimitives.WriteUInt16BigEndian(greeting[16..], FlagFixedNewstyle | FlagNoZeroes);
        stream.Write(greeting);
        stream.Flush();

        Span<byte> word = stackalloc byte[16];
        stream.ReadExactly(word[..4]);
        uint clientFlags = BinaryPrimitives.ReadUInt32BigEndian(word);
        if ((clientFlags & ~(uint)(FlagFixedNewstyle | FlagNoZeroes)) != 0)
        {
            // proto.md: a server that does not know a client flag MUST close the connection.
            Log.Warning("NBD client {Peer} sent unknown client flags 0x{Flags:x8}; closing", peer, clientFlags);
            return null;
        }
        _noZeroes = (clientFlags & FlagNoZeroes) != 0;

        while (true)
        {
            stream.ReadExactly(word);
            ulong magic = BinaryPrimitives.ReadUInt64BigEndian(word);
            uint option = BinaryPrimitives.ReadUInt32BigEndian(word[8..]);
            uint length = BinaryPrimitives.ReadUInt32BigEndian(word[12..]);
            if (magic != OptionMagic || length > MaxOptionBytes)
            {
                Log.Warning("NBD client {Peer} sent a bad option header (magic 0x{Magic:x16}, option {Option}, {Length} bytes); closing",
                    peer, magic, option, length);
                return null;
            }
            var data = new byte[length];
            stream.ReadExactly(data);
            switch (option)
            {
                case OptExportName:
                    return ExportName(data);
                case OptAbort:
                    OptionReply(option, RepAck, []);
                    return null;
                case OptList when length != 0:
                    OptionError(option, RepErrInvalid, "NBD_OPT_LIST takes no data");
                    break;
                case OptList:
                    foreach (NbdExport export in exports)
                    {
                        byte[] name = Encoding.UTF8.GetBytes(export.Name);
                        var server = new byte[4 + name.Length];
                        BinaryPrimitives.WriteUInt32BigEndian(server, (uint)name.Length);
                        name.CopyTo(server, 4);
                        OptionReply(option, RepServer, server);
                    }
                    OptionReply(option, RepAck, []);
                    break;
                case OptInfo or OptGo:
                    if (InfoOrGo(option, data) is { } chosen && option == OptGo)
                    {
                        return chosen;
                    }
                    break;
                default:
                    OptionError(option, RepErrUnsup, $"option {option} is not supported by this read-only server");
                    break;
            }
        }
    }

    /// <summary>NBD_OPT_EXPORT_NAME: the old way into transmission, which cannot answer an error, only hang up.</summary>
    private NbdExport? ExportName(byte[] data)
    {
        string name = Encoding.UTF8.GetString(data);
        if (NbdExport.Find(exports, name) is not { } export)
        {
            Log.Warning("NBD client {Peer} asked for export {Export}, which {Image} does not have; closing", peer, name, disk.Name);
            return null;
        }
        var reply = new byte[10 + (_noZeroes ? 0 : ExportNameZeroes)];
        BinaryPrimitives.WriteUInt64BigEndian(reply, (ulong)export.Length);
        BinaryPrimitives.WriteUInt16BigEndian(reply.AsSpan(8), TransmissionFlags);
        stream.Write(reply);
        stream.Flush();
        return export;
    }

    /// <summary>NBD_OPT_INFO and NBD_OPT_GO: 32 bits name length, name, 16 bits count, count × 16 bits info requests.</summary>
    private NbdExport? InfoOrGo(uint option, byte[] data)
    {
        uint nameLength = data.Length >= 6 ? BinaryPrimitives.ReadUInt32BigEndian(data) : uint.MaxValue;
        if (nameLength > data.Length - 6)
        {
            OptionError(option, RepErrInvalid, "the export name's length does not fit the option");
            return null;
        }
        string name = Encoding.UTF8.GetString(data, 4, (int)nameLength);
        int count = BinaryPrimitives.ReadUInt16BigEndian(data.AsSpan(4 + (int)nameLength));
        if (6 + nameLength + (2 * (uint)count) != data.Length)
        {
            OptionError(option, RepErrInvalid, "the count of information requests does not fit the option");
            return null;
        }
        var requested = new HashSet<ushort>();
        for (int i = 0; i < count; i++)
        {
            requested.Add(BinaryPrimitives.ReadUInt16BigEndian(data.AsSpan(6 + (int)nameLength + (2 * i))));
        }
        if (NbdExport.Find(exports, name) is not { } export)
        {
            OptionError(option, RepErrUnknown, $"no export named \"{name}\"; try NBD_OPT_LIST (nbdinfo --list)");
            return null;
        }
        var info = new byte[12];
        BinaryPrimitives.WriteUInt16BigEndian(info, InfoExport);
        BinaryPrimitives.WriteUInt64BigEndian(info.AsSpan(2), (ulong)export.Length);
        BinaryPrimitives.WriteUInt16BigEndian(info.AsSpan(10), TransmissionFlags);
        OptionReply(option, RepInfo, info);
        if (requested.Contains(InfoName))
        {
            OptionReply(option, RepInfo, InfoString(InfoName, export.Name));
        }
        if (requested.Contains(InfoDescription))
        {
            OptionReply(option, RepInfo, InfoString(InfoDescription, export.Description));
        }
        if (requested.Contains(InfoBlockSize))
        {
            var sizes = new byte[14];
            BinaryPrimitives.WriteUInt16BigEndian(sizes, InfoBlockSize);
            BinaryPrimitives.WriteUInt32BigEndian(sizes.AsSpan(2), 1);
            BinaryPrimitives.WriteUInt32BigEndian(sizes.AsSpan(6), PreferredBlockBytes);
            BinaryPrimitives.WriteUInt32BigEndian(sizes.AsSpan(10), MaxRequestBytes);
            OptionReply(option, RepInfo, sizes);
        }
        OptionReply(option, RepAck, []);
        return export;
    }

    private static byte[] InfoString(ushort type, string text)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(text);
        var info = new byte[2 + Math.Min(bytes.Length, MaxString)];
        BinaryPrimitives.WriteUInt16BigEndian(info, type);
        bytes.AsSpan(0, info.Length - 2).CopyTo(info.AsSpan(2));
        return info;
    }

    private void OptionError(uint option, uint error, string message)
    {
        Log.Information("NBD client {Peer}: option {Option} refused: {Message}", peer, option, message);
        OptionReply(option, error, Encoding.UTF8.GetBytes(message));
    }

    /// <summary>proto.md "Option reply": 64 bits magic, 32 bits option, 32 bits reply type, 32 bits length, data.</summary>
    private void OptionReply(uint option, uint type, ReadOnlySpan<byte> data)
    {
        Span<byte> header = stackalloc byte[20];
        BinaryPrimitives.WriteUInt64BigEndian(header, OptionReplyMagic);
        BinaryPrimitives.WriteUInt32BigEndian(header[8..], option);
        BinaryPrimitives.WriteUInt32BigEndian(header[12..], type);
        BinaryPrimitives.WriteUInt32BigEndian(header[16..], (uint)data.Length);
        stream.Write(header);
        stream.Write(data);
        stream.Flush();
    }

    private void Transmit(NbdExport export)
    {
        var bytes = new byte[NbdRequest.Size];
        while (true)
        {
            if (stream.ReadAtLeast(bytes, bytes.Length, throwOnEndOfStream: false) < bytes.Length)
            {
                Log.Information("NBD client {Peer} closed export {Export}", peer, export.Name);
                return;
            }
            if (NbdRequest.Parse(bytes) is not { } request)
            {
                Log.Warning("NBD client {Peer} sent a request with a bad magic; closing", peer);
                return;
            }
            switch (request.Type)
            {
                case CmdRead:
                    Read(export, request);
                    break;
                case CmdWrite:
                    Drain(request.Length);
                    Reply(request, EPERM);
                    break;
                case CmdDisc:
                    Log.Information("NBD client {Peer} disconnected from export {Export}", peer, export.Name);
                    return;
                case CmdFlush:
                    Reply(request, 0);
                    break;
                case CmdTrim or CmdWriteZeroes:
                    Reply(request, EPERM);
                    break;
                default:
                    Reply(request, EINVAL);
                    break;
            }
        }
    }

    private void Read(NbdExport export, NbdRequest request)
    {
        if (request.Offset > (ulong)export.Length || request.Length > (ulong)export.Length - request.Offset || request.Length > MaxRequestBytes)
        {
            Log.Information("NBD client {Peer}: read of bytes {Offset}+{Length} refused: export {Export} is {Size} bytes, reads at most {Max}",
                peer, request.Offset, request.Length, export.Name, export.Length, MaxRequestBytes);
            Reply(request, EINVAL);
            return;
        }
        int length = (int)request.Length;
        byte[] buffer = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            try
            {
                disk.Read(export.Offset + (long)request.Offset, buffer.AsSpan(0, length));
            }
            catch (DiskFormatException e)
            {
                Log.Error("NBD read of export {Export} bytes {Offset}+{Length} from {Image} failed, answered EIO: {Problem}",
                    export.Name, request.Offset, length, disk.Name, e.Message);
                Reply(request, EIO);
                return;
            }
            catch (IOException e)
            {
                Log.Error("NBD read of export {Export} bytes {Offset}+{Length}: reading {Image} failed, answered EIO: {Problem}",
                    export.Name, request.Offset, length, disk.Name, e.Message);
                Reply(request, EIO);
                return;
            }
            Reply(request, 0, buffer.AsSpan(0, length));
            served(length);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Reads and drops a write's payload, so the next request is read from its start.</summary>
    private void Drain(uint length)
    {
        var sink = new byte[Math.Min(DrainBytes, (int)Math.Min(length, int.MaxValue))];
        for (long left = length; left > 0;)
        {
            int piece = (int)Math.Min(left, sink.Length);
            stream.ReadExactly(sink, 0, piece);
            left -= piece;
        }
    }

    /// <summary>proto.md "Simple reply message": 32 bits magic, 32 bits error, 64 bits cookie, then a read's data.</summary>
    private void Reply(NbdRequest request, uint error, ReadOnlySpan<byte> data = default)
    {
        Span<byte> header = stackalloc byte[16];
        BinaryPrimitives.WriteUInt32BigEndian(header, SimpleReplyMagic);
        BinaryPrimitives.WriteUInt32BigEndian(header[4..], error);
        BinaryPrimitives.WriteUInt64BigEndian(header[8..], request.Cookie);
        stream.Write(header);
        stream.Write(data);
        stream.Flush();
    }
}
