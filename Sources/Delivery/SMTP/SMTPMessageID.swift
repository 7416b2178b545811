import Crypto
import ReminderCore

/// The Message-ID of a reminder's email: the same for every attempt of the same reminder,
/// so that a send repeated after a crash or a lost reply reaches the recipient's mail
/// program as a duplicate it can recognise (SMTP itself has no idempotency key).
enum SMTPMessageID {
    /// `<r-<first 32 hex digits of SHA-256(reminder id)>@domain>`: the reminder id may hold
    /// any character, and the hash keeps it out of the header in any case. `domain` is the
    /// sender's domain when it is a plain ASCII host name, otherwise `fallbackDomain`.
    static func make(reminderID: String, domain: Substring, fallbackDomain: String) -> String {
        let digest = SHA256.hash(data: Array(reminderID.utf8))
        let hex = HexEncoding.string(digest.prefix(16))
        return "<r-\(hex)@\(isHostName(domain) ? String(domain) : sanitized(fallbackDomain))>"
    }

    private static func isHostName(_ text: some StringProtocol) -> Bool {
        !text.isEmpty
            && text.utf8.allSatisfy { byte in
                (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
                    || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                    || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: "-")
                    || byte == UInt8(ascii: ".")
            }
    }

    private static func sanitized(_ domain: String) -> String {
        isHostName(domain) ? domain : "localhost"
    }
}
