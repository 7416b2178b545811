/// A provider's acceptance of a reminder.
public struct DeliveryReceipt: Sendable, Equatable {
    /// The provider's answer, without personal data ("HTTP 200", "250 2.0.0").
    public var answer: String
    /// The provider's id of the message, when it gives one.
    public var providerMessageID: String?

    public init(answer: String, providerMessageID: String? = nil) {
        self.answer = answer
        self.providerMessageID = providerMessageID
    }
}
