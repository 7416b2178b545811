/// The account a send authenticates as (AUTH PLAIN, or LOGIN when the server offers only
/// that).
public struct SMTPCredentials: Sendable, Equatable, CustomStringConvertible {
    public var username: String
    public var password: String

    public init(username: String, password: String) {
        self.username = username
        self.password = password
    }

    /// Keeps the password out of logs and error messages that print a configuration.
    public var description: String { "SMTPCredentials(username: \(username), password: <redacted>)" }
}
