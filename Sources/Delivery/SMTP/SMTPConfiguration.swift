/// How the email channel reaches its SMTP server. Defaults live here and nowhere else;
/// `validated()` runs when the provider is created, so a mistyped setting stops the
/// service at start instead of failing every reminder.
public struct SMTPConfiguration: Sendable, Equatable {
    /// The submission server's name or IP address; TLS checks its certificate against it.
    public var host: String
    public var port: Int
    /// The envelope sender and the From header.
    public var from: SMTPMailbox
    /// The name this client gives in EHLO; some servers check that it resolves.
    public var heloName: String
    public var startTLS: SMTPStartTLSMode
    /// A PEM file of the certificates that may sign the server's certificate, in place of
    /// the system's trust store (a private CA, or a self-signed test certificate).
    public var trustRootsPath: String?
    /// Authenticates with AUTH PLAIN (or LOGIN) when set.
    public var credentials: SMTPCredentials?
    /// The longest wait for the TCP connection (within `sendTimeout`).
    public var connectTimeout: Duration
    /// The longest a whole send may take, from connecting to the server's acceptance.
    public var sendTimeout: Duration
    /// The most connections one provider opens to the server at once (one per send);
    /// sends beyond them wait for one, outside `sendTimeout`. Relays limit connections
    /// per client (Postfix: 50 by default).
    public var maxConnections: Int

    /// `maxConnections` unless set (`SMTP_MAX_CONNECTIONS` reads it too).
    public static let defaultMaxConnections = 32

    public init(
        host: String, port: Int = 587, from: SMTPMailbox, heloName: String = "localhost",
        startTLS: SMTPStartTLSMode = .required, trustRootsPath: String? = nil, credentials: SMTPCredentials? = nil,
        connectTimeout: Duration = .seconds(10), sendTimeout: Duration = .seconds(30),
        maxConnections: Int = SMTPConfiguration.defaultMaxConnections
    ) {
        self.host = host
        self.port = port
        self.from = from
        self.heloName = heloName
        self.startTLS = startTLS
        self.trustRootsPath = trustRootsPath
        self.credentials = credentials
        self.connectTimeout = connectTimeout
        self.sendTimeout = sendTimeout
        self.maxConnections = maxConnections
    }

    /// The configuration itself when every setting can work, else the first one that
    /// cannot.
    public func validated() throws(SMTPConfigurationError) -> SMTPConfiguration {
        guard !host.isEmpty, SMTPHeaderText.isClean(host), !host.contains(" ") else {
            throw SMTPConfigurationError(setting: "host", reason: "must be a host name or an IP address")
        }
        guard (1...65_535).contains(port) else {
            throw SMTPConfigurationError(setting: "port", reason: "must be between 1 and 65535, not \(port)")
        }
        if let problem = SMTPMailbox.problem(withAddress: from.address, role: "from") {
            throw SMTPConfigurationError(setting: "from.address", reason: problem.answer)
        }
        if let name = from.displayName, !SMTPHeaderText.isClean(name) {
            throw SMTPConfigurationError(setting: "from.displayName", reason: "contains a control character")
        }
        guard !heloName.isEmpty, heloName.unicodeScalars.allSatisfy({ $0.isASCII && $0.value > 0x20 && $0 != "\u{7F}" })
        else {
            throw SMTPConfigurationError(setting: "heloName", reason: "must be a domain name or an address literal")
        }
        guard connectTimeout > .zero, sendTimeout > .zero else {
            throw SMTPConfigurationError(setting: "connectTimeout/sendTimeout", reason: "must be positive")
        }
        guard (1...1_000).contains(maxConnections) else {
            throw SMTPConfigurationError(
                setting: "maxConnections", reason: "must be between 1 and 1000, not \(maxConnections)")
        }
        if let credentials, credentials.username.isEmpty {
            throw SMTPConfigurationError(setting: "credentials.username", reason: "must not be empty")
        }
        return self
    }
}
