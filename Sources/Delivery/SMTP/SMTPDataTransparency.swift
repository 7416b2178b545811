/// Prepares a message for the DATA command (RFC 5321 §4.5.2): every line break becomes
/// CRLF, a line starting with "." gets a second one so that the server does not take it
/// for the end of the message, and the terminating "." line is appended.
///
/// Bare CR and LF are turned into CRLF rather than passed through: servers disagree on
/// whether they end a line, and that disagreement is what SMTP smuggling exploits to end
/// a message early and inject another.
enum SMTPDataTransparency {
    static func encode(_ message: [UInt8]) -> [UInt8] {
        let cr = UInt8(ascii: "\r")
        let lf = UInt8(ascii: "\n")
        let dot = UInt8(ascii: ".")
        var output: [UInt8] = []
        output.reserveCapacity(message.count + message.count / 64 + 5)
        var atLineStart = true
        var index = message.startIndex
        while index < message.endIndex {
            let byte = message[index]
            index += 1
            if byte == cr || byte == lf {
                // CRLF counts once; a lone CR or LF is a line break of its own.
                if byte == cr && index < message.endIndex && message[index] == lf { index += 1 }
                output += [cr, lf]
                atLineStart = true
                continue
            }
            if atLineStart && byte == dot { output.append(dot) }
            output.append(byte)
            atLineStart = false
        }
        if !atLineStart { output += [cr, lf] }
        output += [dot, cr, lf]
        return output
    }
}
