import NIOCore

/// Frames the bytes a server sends into complete replies (RFC 5321 section 4.2).
///
/// A reply line is `code`, then `-` (more lines follow) or a space (last line), then text,
/// then CRLF; a bare LF is taken as a line end too, as most clients do. Bounded: a line
/// longer than `maxLineLength` or a reply with more than `maxLines` lines is an error, so
/// a hostile server cannot make the client buffer without limit.
public struct SMTPReplyDecoder: ByteToMessageDecoder {
    public typealias InboundOut = SMTPClientReply

    public let maxLineLength: Int
    public let maxLines: Int
    private var lines: [String] = []
    private var code: Int?

    public init(maxLineLength: Int = 4096, maxLines: Int = 200) {
        self.maxLineLength = maxLineLength
        self.maxLines = maxLines
    }

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let reply = try next(&buffer) else { return .needMoreData }
        context.fireChannelRead(wrapInboundOut(reply))
        return .continue
    }

    public mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        try decode(context: context, buffer: &buffer)
    }

    /// Takes one reply off the front of `buffer`, or nil if it is not complete yet.
    public mutating func next(_ buffer: inout ByteBuffer) throws -> SMTPClientReply? {
        while let end = buffer.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) {
            let length = end - buffer.readerIndex
            guard length < maxLineLength else { throw SMTPClientError.malformedReply("reply line longer than \(maxLineLength) octets") }
            var line = buffer.readBytes(length: length + 1)!.dropLast()
            if line.last == UInt8(ascii: "\r") { line = line.dropLast() }
            if let reply = try take(Array(line)) { return reply }
        }
        guard buffer.readableBytes < maxLineLength else { throw SMTPClientError.malformedReply("reply line longer than \(maxLineLength) octets") }
        return nil
    }

    private mutating func take(_ line: [UInt8]) throws -> SMTPClientReply? {
        guard line.count >= 3, let lineCode = Int(String(decoding: line.prefix(3), as: UTF8.self)), (200...599).contains(lineCode),
              line.count == 3 || line[3] == UInt8(ascii: " ") || line[3] == UInt8(ascii: "-")
        else { throw SMTPClientError.malformedReply("not an SMTP reply: \(String(decoding: line.prefix(80), as: UTF8.self))") }
        if let code, code != lineCode { throw SMTPClientError.malformedReply("reply lines with codes \(code) and \(lineCode)") }
        code = lineCode
        lines.append(line.count > 4 ? String(decoding: line[4...], as: UTF8.self) : "")
        guard lines.count <= maxLines else { throw SMTPClientError.malformedReply("reply longer than \(maxLines) lines") }
        guard line.count == 3 || line[3] == UInt8(ascii: " ") else { return nil }
        defer { lines = []; code = nil }
        return SMTPClientReply(code: lineCode, lines: lines)
    }
}
