/// What a server offers in its EHLO reply (RFC 5321 §4.1.1.1): the extensions a send may
/// use. A server that only knows HELO offers none.
struct SMTPCapabilities: Sendable, Equatable {
    var startTLS = false
    var smtpUTF8 = false
    /// The SASL mechanisms of the AUTH extension, upper-cased.
    var authMechanisms: Set<String> = []

    static let none = SMTPCapabilities()

    init() {}

    /// Reads the EHLO reply's lines after the first (which greets): each is a keyword
    /// and its parameters. `AUTH=` is the form some old servers still advertise.
    init(ehlo reply: SMTPReply) {
        for line in reply.lines.dropFirst() {
            let words = line.split(whereSeparator: { $0 == " " || $0 == "=" }).map { $0.uppercased() }
            guard let keyword = words.first else { continue }
            switch keyword {
            case "STARTTLS": startTLS = true
            case "SMTPUTF8": smtpUTF8 = true
            case "AUTH": authMechanisms.formUnion(words.dropFirst())
            default: break
            }
        }
    }
}
