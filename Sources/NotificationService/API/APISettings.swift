/// The HTTP server's settings: health, metrics and the operators' `/v1` API.
public struct APISettings: Sendable, CustomStringConvertible {
    /// Whether this instance serves HTTP at all (`HTTP_ENABLED`).
    public var enabled: Bool
    /// The address to listen on (`HTTP_HOST`): loopback unless set.
    public var host: String
    /// The port (`HTTP_PORT`); 0 takes any free port, logged at start.
    public var port: Int
    /// The bearer token of the `/v1` endpoints (`API_TOKEN`); without one they answer
    /// 401 to every request.
    public var token: String?
    /// How long the consumer may go without partitions before `/health/ready` says
    /// not ready (`READY_ASSIGNMENT_GRACE_MS`).
    public var assignmentGrace: Duration
    /// How long `DELETE /v1/users/{user_id}` waits for sends to the user already under way
    /// before it answers 503 (`ERASURE_WAIT_MS`); asked again, it finishes.
    public var erasureWait: Duration

    /// The token is not shown.
    public var description: String {
        "http \(enabled ? "\(host):\(port)" : "off"), v1 api \(token == nil ? "off" : "on (token set)")"
    }

    /// A shorter token is refused at start: it would be guessable.
    public static let minimumTokenLength = 16

    public init(
        enabled: Bool = true, host: String = "127.0.0.1", port: Int = 8080, token: String? = nil,
        assignmentGrace: Duration = .seconds(60), erasureWait: Duration = .seconds(30)
    ) {
        self.enabled = enabled
        self.host = host
        self.port = port
        self.token = token
        self.assignmentGrace = assignmentGrace
        self.erasureWait = erasureWait
    }

    init(_ reader: EnvironmentReader) throws {
        let token = reader.optional("API_TOKEN")
        if let token, token.count < Self.minimumTokenLength || token.contains(where: \.isWhitespace) {
            throw ServiceSettings.Invalid(
                variable: "API_TOKEN",
                message:
                    "must be at least \(Self.minimumTokenLength) characters without spaces (the value is not shown)")
        }
        self.init(
            enabled: try reader.flag("HTTP_ENABLED", true), host: reader.value("HTTP_HOST", "127.0.0.1"),
            port: try reader.count("HTTP_PORT", 8080, 0...65_535), token: token,
            assignmentGrace: try reader.milliseconds("READY_ASSIGNMENT_GRACE_MS", 60_000, 0...3_600_000),
            erasureWait: try reader.milliseconds("ERASURE_WAIT_MS", 30_000, 0...600_000))
    }
}
