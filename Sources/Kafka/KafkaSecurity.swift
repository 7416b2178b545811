/// How the client authenticates to and encrypts its connection with the brokers.
/// Anything beyond these fields (certificates, OAuth, Kerberos) goes through the
/// configuration's pass-through `properties`, for example `ssl.ca.location`.
public struct KafkaSecurity: Sendable, Hashable, CustomStringConvertible {
    /// librdkafka's `security.protocol`.
    public enum TransportProtocol: String, Sendable, Hashable {
        case plaintext = "plaintext"
        case ssl = "ssl"
        case saslPlaintext = "sasl_plaintext"
        case saslSSL = "sasl_ssl"
    }

    /// librdkafka's `sasl.mechanism` with its credentials.
    public struct SASL: Sendable, Hashable, CustomStringConvertible {
        public enum Mechanism: String, Sendable, Hashable {
            case plain = "PLAIN"
            case scramSHA256 = "SCRAM-SHA-256"
            case scramSHA512 = "SCRAM-SHA-512"
        }

        public var mechanism: Mechanism
        public var username: String
        public var password: String

        public init(mechanism: Mechanism, username: String, password: String) {
            self.mechanism = mechanism
            self.username = username
            self.password = password
        }

        /// Never shows the password.
        public var description: String { "SASL(\(mechanism.rawValue), user: \(username), password: <redacted>)" }
    }

    public var transport: TransportProtocol
    public var sasl: SASL?

    public init(transport: TransportProtocol = .plaintext, sasl: SASL? = nil) {
        self.transport = transport
        self.sasl = sasl
    }

    public static let plaintext = KafkaSecurity()

    public var description: String {
        sasl.map { "\(transport.rawValue) with \($0)" } ?? transport.rawValue
    }

    var properties: [(String, String)] {
        var result = [("security.protocol", transport.rawValue)]
        if let sasl {
            result += [
                ("sasl.mechanism", sasl.mechanism.rawValue),
                ("sasl.username", sasl.username),
                ("sasl.password", sasl.password),
            ]
        }
        return result
    }
}
