import Foundation

/// The broker and database the integration tests use: `KAFKA_BOOTSTRAP_SERVERS` and
/// `DATABASE_URL` when set (any Kafka-compatible cluster, any PostgreSQL), otherwise a
/// local Tansu and PostgreSQL started through `scripts/stack.sh` on ports of their own
/// and left running for the next run.
public enum LocalStack {
    /// The project's root folder.
    public static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    public static var kafkaBootstrapServers: String { environment.kafka }
    public static var databaseURL: String { environment.database }

    /// Each one given is used; the local stack starts only when one is missing.
    private static let environment: (kafka: String, database: String) = {
        let given = ProcessInfo.processInfo.environment
        let kafka = given["KAFKA_BOOTSTRAP_SERVERS"].flatMap { $0.isEmpty ? nil : $0 }
        let database = given["DATABASE_URL"].flatMap { $0.isEmpty ? nil : $0 }
        if let kafka, let database { return (kafka, database) }
        let started = start()
        return (kafka ?? started.0, database ?? started.1)
    }()

    private static func start() -> (String, String) {
        var environment = ProcessInfo.processInfo.environment
        environment["NS_RUN_DIR"] = root.appendingPathComponent(".run/swift-test").path
        let kafkaPort = environment["NS_KAFKA_PORT"] ?? "29192"
        let databasePort = environment["NS_PG_PORT"] ?? "25532"
        environment["NS_KAFKA_PORT"] = kafkaPort
        environment["NS_PG_PORT"] = databasePort
        let status = run(["/bin/bash", root.appendingPathComponent("scripts/stack.sh").path, "start"], environment)
        guard status == 0 else {
            fatalError(
                "scripts/stack.sh start failed (\(status.map(String.init) ?? "could not run it")); "
                    + "run scripts/setup.sh or set KAFKA_BOOTSTRAP_SERVERS and DATABASE_URL")
        }
        return (
            "127.0.0.1:\(kafkaPort)",
            "postgres://notification:notification@127.0.0.1:\(databasePort)/notification"
        )
    }
}

extension LocalStack {
    /// Runs a command to its end and returns its exit status (128 + the signal when a
    /// signal ended it), or nil when it cannot be started. It waits with `waitpid`:
    /// Foundation's `Process.waitUntilExit` once missed the end of `stack.sh` here and
    /// waited forever beside the exited child.
    public static func run(_ arguments: [String], _ environment: [String: String]) -> Int32? {
        let argv = arguments.map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var pid: pid_t = 0
        guard posix_spawn(&pid, arguments[0], nil, nil, argv, envp) == 0 else { return nil }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 {
            guard errno == EINTR else { return nil }
        }
        let signal = status & 0x7f
        return signal == 0 ? (status >> 8) & 0xff : 128 + signal
    }

    /// The project's Python (the virtual environment of scripts/setup.sh): a real
    /// interpreter, not a version-manager shim, so that signals sent to it arrive.
    public static var python: String {
        ProcessInfo.processInfo.environment["NS_VENV"].map { "\($0)/bin/python" }
            ?? root.appendingPathComponent(".cache/venv/bin/python").path
    }
}
