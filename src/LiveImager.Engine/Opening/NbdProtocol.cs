namespace LiveImager.Engine.Opening;

/// <summary>The numbers of the NBD protocol this server speaks: the fixed newstyle handshake, simple replies, read-only
/// transmission. Names follow the spec's (NetworkBlockDevice/nbd doc/proto.md) without the NBD_ prefix.</summary>
internal static class NbdProtocol
{
    /// <summary>proto.md "Newstyle negotiation": S: 64 bits, 0x4e42444d41474943 (ASCII 'NBDMAGIC').</summary>
    public const ulong InitMagic = 0x4e42444d41474943;

    /// <summary>proto.md: 0x49484156454F5054 (ASCII 'IHAVEOPT'), sent by the server after NBDMAGIC and by the
    /// client in front of every option.</summary>
    public const ulong OptionMagic = 0x49484156454F5054;

    /// <summary>proto.md "Option reply": S: 64 bits, 0x3e889045565a9.</summary>
    public const ulong OptionReplyMagic = 0x3e889045565a9;

    /// <summary>proto.md "Request message": C: 32 bits, 0x25609513 (NBD_REQUEST_MAGIC).</summary>
    public const uint RequestMagic = 0x25609513;

    /// <summary>proto.md "Simple reply message": S: 32 bits, 0x67446698 (NBD_SIMPLE_REPLY_MAGIC).</summary>
    public const uint SimpleReplyMagic = 0x67446698;

    // Handshake flags (server) and client flags: proto.md "Handshake flags", "Client flags".
    public const ushort FlagFixedNewstyle = 1 << 0;   // NBD_FLAG_FIXED_NEWSTYLE, NBD_FLAG_C_FIXED_NEWSTYLE
    public const ushort FlagNoZeroes = 1 << 1;        // NBD_FLAG_NO_ZEROES, NBD_FLAG_C_NO_ZEROES

    // Transmission flags: proto.md "Transmission flags".
    public const ushort FlagHasFlags = 1 << 0;        // NBD_FLAG_HAS_FLAGS
    public const ushort FlagReadOnly = 1 << 1;        // NBD_FLAG_READ_ONLY
    public const ushort FlagCanMultiConn = 1 << 8;    // NBD_FLAG_CAN_MULTI_CONN

    // Option types: proto.md "Option types".
    public const uint OptExportName = 1;              // NBD_OPT_EXPORT_NAME
    public const uint OptAbort = 2;                   // NBD_OPT_ABORT
    public const uint OptList = 3;                    // NBD_OPT_LIST
    public const uint OptInfo = 6;                    // NBD_OPT_INFO
    public const uint OptGo = 7;                      // NBD_OPT_GO

    // Option reply types: proto.md "Option reply types"; errors have bit 31 set.
    public const uint RepAck = 1;                     // NBD_REP_ACK
    public const uint RepServer = 2;                  // NBD_REP_SERVER
    public const uint RepInfo = 3;                    // NBD_REP_INFO
    public const uint RepErrUnsup = (1u << 31) + 1;   // NBD_REP_ERR_UNSUP
    public const uint RepErrInvalid = (1u << 31) + 3; // NBD_REP_ERR_INVALID
    public const uint RepErrUnknown = (1u << 31) + 6; // NBD_REP_ERR_UNKNOWN
    public const uint RepErrTooBig = (1u << 31) + 9;  // NBD_REP_ERR_TOO_BIG

    // Information types of NBD_REP_INFO: proto.md "NBD_OPT_INFO and NBD_OPT_GO".
    public const ushort InfoExport = 0;               // NBD_INFO_EXPORT: 64 bits size, 16 bits transmission flags
    public const ushort InfoName = 1;                 // NBD_INFO_NAME
    public const ushort InfoDescription = 2;          // NBD_INFO_DESCRIPTION
    public const ushort InfoBlockSize = 3;            // NBD_INFO_BLOCK_SIZE: minimum, preferred, maximum (32 bits each)

    // Request types: proto.md "Request types".
    public const ushort CmdRead = 0;                  // NBD_CMD_READ
    public const ushort CmdWrite = 1;                 // NBD_CMD_WRITE
    public const ushort CmdDisc = 2;                  // NBD_CMD_DISC
    public const ushort CmdFlush = 3;                 // NBD_CMD_FLUSH
    public const ushort CmdTrim = 4;                  // NBD_CMD_TRIM
    public const ushort CmdWriteZeroes = 6;           // NBD_CMD_WRITE_ZEROES

    // Error values: proto.md "Error values" (the Linux errno numbers).
    public const uint EPERM = 1;
    public const uint EIO = 5;
    public const uint EINVAL = 22;

    /// <summary>Bytes of the zero padding after NBD_OPT_EXPORT_NAME's reply, unless NBD_FLAG_C_NO_ZEROES.</summary>
    public const int ExportNameZeroes = 124;

    /// <summary>Largest string the spec allows (export names, descriptions): proto.md "Conventions".</summary>
    public const int MaxString = 4096;
}
