namespace LiveImager.Formats.ImageFormat;

/// <summary>A data frame that <see cref="ImageReader"/> read but left sealed, for a worker to open with
/// <see cref="FrameSealer.OpenData"/>: the outer header (its nonce and associated data), the frame's own header as the
/// reader took it from the key stream (not yet authenticated), and the GCM tag.</summary>
public readonly record struct SealedData(FrameHeader Outer, FrameHeader Inner, UInt128 Tag);
