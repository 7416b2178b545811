/// Why an event is invalid: the field at fault (a JSON path such as
/// `channels[1].to`, or `$` for the whole message) and what is wrong with it. The
/// message never repeats the field's value, which may be personal data.
public struct EventValidationError: Error, Sendable, Equatable, CustomStringConvertible {
    public var field: String
    public var message: String

    public init(field: String, message: String) {
        self.field = field
        self.message = message
    }

    public var description: String { "\(field): \(message)" }
}
