import NIOCore
import ReminderCore

/// Frames the bytes from the server into replies for the `SMTPClientHandler`. Lines end
/// with CRLF; a bare LF is accepted too, since being lenient in what we read costs nothing
/// here (unlike in what we write, see `SMTPDataTransparency`).
struct SMTPReplyDecoder: ByteToMessageDecoder {
    typealias InboundOut = SMTPReply

    private var parser = SMTPReplyParser()

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let newline = buffer.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) else {
            if buffer.readableBytes > SMTPReplyParser.maximumLineLength {
                throw DeliveryFailure.transient(
                    "smtp_protocol", "reply line longer than \(SMTPReplyParser.maximumLineLength) bytes")
            }
            return .needMoreData
        }
        var line = buffer.readBytes(length: newline - buffer.readerIndex + 1) ?? []
        line.removeLast()
        if line.last == UInt8(ascii: "\r") { line.removeLast() }
        if var reply = try parser.consume(line) {
            reply.followedByMoreBytes = buffer.readableBytes > 0
            context.fireChannelRead(Self.wrapInboundOut(reply))
        }
        return .continue
    }

    mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws
        -> DecodingState
    {
        while try decode(context: context, buffer: &buffer) == .continue {}
        return .needMoreData
    }
}
