import ArgumentParser
import Foundation

/// The options every service benchmark takes: where the broker and database are, and
/// which `notification-service` to run against them.
public struct ServiceUnderTest: ParsableArguments {
    @Option(help: "Kafka bootstrap servers.")
    public var bootstrapServers = ProcessInfo.processInfo.environment["KAFKA_BOOTSTRAP_SERVERS"] ?? "127.0.0.1:9092"

    @Option(help: "PostgreSQL URL of a user that may create databases.")
    public var databaseURL = ProcessInfo.processInfo.environment["DATABASE_URL"] ?? ""

    @Option(help: "The notification-service executable to measure.")
    public var service: String

    @Option(help: "The migrations folder.")
    public var migrations: String

    @Flag(
        help: """
            Measure the service also with personal data sealed at rest (DATA_ENCRYPTION_KEYS, a fresh key; \
            ingest and dispatch: in every round), and print both results and their ratio.
            """)
    public var alsoEncrypted = false

    @Option(
        help: """
            PostgreSQL's postmaster.pid (in its data folder): its first line is the postmaster, whose processes' CPU \
            time the benchmarks count per event. Without it PostgreSQL's CPU is not measured.
            """)
    public var postgresPIDFile: String?

    @Option(
        help: """
            A file whose first line is the broker's pid (the stack's Tansu): the benchmarks count its CPU time per \
            event beside PostgreSQL's, since it shares the machine's cores. Without it the broker's CPU is not measured.
            """)
    public var brokerPIDFile: String?

    public init() {}

    /// The postmaster's pid from `postgresPIDFile`; nil when not given or unreadable.
    public var postmaster: Int32? { Self.firstLinePID(of: postgresPIDFile) }

    /// The broker's pid from `brokerPIDFile`; nil when not given or unreadable.
    public var broker: Int32? { Self.firstLinePID(of: brokerPIDFile) }

    private static func firstLinePID(of file: String?) -> Int32? {
        guard let file, let text = try? String(contentsOfFile: file, encoding: .utf8) else { return nil }
        return text.split(separator: "\n").first.flatMap { Int32($0.trimmingCharacters(in: .whitespaces)) }
    }

    /// The settings that turn sealing at rest on, with a fresh random AES-256 key.
    public static func encryptionSettings() -> [String: String] {
        var generator = SystemRandomNumberGenerator()
        let key = Data((0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) })
        return ["DATA_ENCRYPTION_KEYS": "bench:\(key.base64EncodedString())", "DATA_ENCRYPTION_CURRENT_KEY": "bench"]
    }

    /// Starts `notification-service serve` on `topic` as a member of `group`, on the
    /// database at `databaseURL`, with `settings` added to the environment; its output
    /// goes to `log` (a file path), or nowhere. `bootstrapServers` overrides the broker;
    /// `build`, the executable and its migrations.
    public func launch(
        topic: String, group: String, databaseURL: String, settings: [String: String] = [:], log: String? = nil,
        bootstrapServers: String? = nil, build: ServiceBuild? = nil
    ) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: build?.executable ?? service)
        process.arguments = ["serve"]
        var environment = ProcessInfo.processInfo.environment
        environment["KAFKA_BOOTSTRAP_SERVERS"] = bootstrapServers ?? self.bootstrapServers
        environment["DATABASE_URL"] = databaseURL
        environment["REMINDERS_TOPIC"] = topic
        environment["KAFKA_GROUP_ID"] = group
        environment["KAFKA_SESSION_TIMEOUT_MS"] = "6000"
        environment["NOTIFICATION_MIGRATIONS_DIR"] = build?.migrations ?? migrations
        environment.merge(settings) { $1 }
        process.environment = environment
        var output = FileHandle.nullDevice
        // Opened, not created with FileManager: that writes a new file and renames it
        // over the path, which would replace a device such as /dev/null.
        if let log {
            let descriptor = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
            if descriptor >= 0 { output = FileHandle(fileDescriptor: descriptor, closeOnDealloc: true) }
        }
        process.standardOutput = output
        process.standardError = output
        try process.run()
        return process
    }
}

/// Another build of the service to measure beside `ServiceUnderTest.service`: its
/// executable and the migrations folder it applies.
public struct ServiceBuild: Sendable {
    public let executable: String
    public let migrations: String

    public init(executable: String, migrations: String) {
        self.executable = executable
        self.migrations = migrations
    }
}
