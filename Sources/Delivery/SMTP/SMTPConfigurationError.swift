/// A setting of `SMTPConfiguration` that cannot work, found when the provider is
/// created rather than on the first reminder.
public struct SMTPConfigurationError: Error, Sendable, CustomStringConvertible {
    /// The setting at fault, as `SMTPConfiguration` names it (`trustRootsPath`, `port`).
    public var setting: String
    /// What is wrong with it; never contains the password.
    public var reason: String
    /// The library error behind it (reading or parsing the certificate file), if any.
    public var underlying: (any Error)?

    public init(setting: String, reason: String, underlying: (any Error)? = nil) {
        self.setting = setting
        self.reason = reason
        self.underlying = underlying
    }

    public var description: String {
        "invalid SMTP setting \(setting): \(reason)" + (underlying.map { " (\($0))" } ?? "")
    }
}
