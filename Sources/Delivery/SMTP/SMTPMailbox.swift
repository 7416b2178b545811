import ReminderCore

/// A mailbox as the From header shows it: an address, and the name mail programs show
/// instead of it.
public struct SMTPMailbox: Sendable, Equatable {
    /// The address, `local@domain`, used both as envelope sender and in the header.
    public var address: String
    /// Shown by mail programs; any Unicode text without control characters.
    public var displayName: String?

    public init(address: String, displayName: String? = nil) {
        self.address = address
        self.displayName = displayName
    }

    /// The part after the last `@`, empty when there is none.
    var domain: Substring {
        guard let at = address.lastIndex(of: "@") else { return "" }
        return address[address.index(after: at)...]
    }

    /// The address problem a server would otherwise discover (or worse, misread as
    /// further commands), as the failure a send reports; nil when the address is usable.
    /// The address itself is personal data and never part of the message.
    /// A bad recipient's address is the recipient's failure (no provider can send to it);
    /// a bad sender's is the account's.
    static func problem(withAddress address: String, role: String) -> DeliveryFailure? {
        func failure(_ errorClass: String, _ answer: String) -> DeliveryFailure {
            role == "recipient" ? .recipient(errorClass, answer) : .permanent(errorClass, answer)
        }
        guard SMTPHeaderText.isClean(address) else {
            return failure("invalid_header", "the \(role) address contains a control character")
        }
        guard let at = address.lastIndex(of: "@"), at != address.startIndex,
            address.index(after: at) != address.endIndex
        else {
            return failure("invalid_address", "the \(role) address is not of the form local@domain")
        }
        guard !address.contains(where: { $0 == "<" || $0 == ">" || $0.isWhitespace }) else {
            return failure("invalid_address", "the \(role) address contains a space or an angle bracket")
        }
        return nil
    }
}
