/// Why a key file or key setting cannot be used. The reason names what is wrong (the
/// file cannot be read, a field is missing, the key is not of the right kind) and never
/// quotes the file: it may hold a private key.
public struct CredentialFileError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Setting: Sendable, Equatable {
        /// The key file itself (`FCM_SERVICE_ACCOUNT_FILE`, `APNS_KEY_FILE`).
        case file
        /// The APNs key id (`APNS_KEY_ID`).
        case keyID
        /// The Apple team id (`APNS_TEAM_ID`).
        case teamID
    }

    public let setting: Setting
    public let reason: String

    public init(_ setting: Setting, _ reason: String) {
        self.setting = setting
        self.reason = reason
    }

    public var description: String { reason }
}
