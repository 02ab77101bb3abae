using System.Buffers.Binary;

namespace LiveImager.Engine.Opening;

/// <summary>One transmission-phase request (proto.md "Request message", 28 bytes, big-endian).</summary>
internal readonly record struct NbdRequest(ushort Flags, ushort Type, ulong Cookie, ulong Offset, uint Length)
{
    public const int Size = 0x1C;

    private const int MagicOffset = 0x00;    // C: 32 bits, 0x25609513, magic (NBD_REQUEST_MAGIC)
    private const int FlagsOffset = 0x04;    // C: 16 bits, command flags
    private const int TypeOffset = 0x06;     // C: 16 bits, type
    private const int CookieOffset = 0x08;   // C: 64 bits, cookie
    private const int OffsetOffset = 0x10;   // C: 64 bits, offset (unsigned)
    private const int LengthOffset = 0x18;   // C: 32 bits, length (unsigned)

    /// <summary>The request in <paramref name="bytes"/>, or null when its magic is wrong: the stream is out of step
    /// and the only safe answer is to hang up.</summary>
    public static NbdRequest? Parse(ReadOnlySpan<byte> bytes)
    {
        if (BinaryPrimitives.ReadUInt32BigEndian(bytes[MagicOffset..]) != NbdProtocol.RequestMagic)
        {
            return null;
        }
        return new NbdRequest(
            BinaryPrimitives.ReadUInt16BigEndian(bytes[FlagsOffset..]),
            BinaryPrimitives.ReadUInt16BigEndian(bytes[TypeOffset..]),
            BinaryPrimitives.ReadUInt64BigEndian(bytes[CookieOffset..]),
            BinaryPrimitives.ReadUInt64BigEndian(bytes[OffsetOffset..]),
            BinaryPrimitives.ReadUInt32BigEndian(bytes[LengthOffset..]));
    }
}
