import Foundation
import TestSupport
import Testing

/// `serve` refuses to start on settings it cannot use, naming the setting (exit 78),
/// before it takes any work.
@Suite(.timeLimit(.minutes(6)))
struct ServeStartupTests {
    @Test func aTakenHTTPPortStopsStartUpNamingTheSetting() async throws {
        let taken = try ReservedPort()
        try taken.listen()
        let (status, text) = try await Self.serveUntilRefused(group: "port-taken", port: taken.port)
        #expect(status == 78)
        #expect(text.contains("HTTP_HOST/HTTP_PORT: cannot listen on 127.0.0.1:\(taken.port)"), "\(text)")
        // Nothing else started: no partition was taken, nothing dispatched.
        #expect(!text.contains("ingest started") && !text.contains("dispatcher stopped"), "\(text)")
    }

    /// The service runs on jemalloc with its own settings (Sources/CJemalloc/settings.c),
    /// as jemalloc reports them in the start-up line; MALLOC_CONF still applies on top.
    @Test func theServiceAllocatesWithJemallocOnOneArena() async throws {
        let taken = try ReservedPort()
        try taken.listen()
        let (status, text) = try await Self.serveUntilRefused(group: "allocator", port: taken.port)
        #expect(status == 78)
        #expect(
            text.contains(#""allocator":"jemalloc 5."#) && text.contains(#", 1 arena, freed pages kept 1000 ms""#),
            "\(text)")
        let (_, overridden) = try await Self.serveUntilRefused(
            group: "allocator-env", port: taken.port, settings: ["MALLOC_CONF": "narenas:3,dirty_decay_ms:250"])
        #expect(overridden.contains(#", 3 arenas, freed pages kept 250 ms""#), "\(overridden)")
    }

    /// Runs `serve` on a port already taken, which stops it once it has logged its start:
    /// its exit status and its JSON log.
    private static func serveUntilRefused(
        group: String, port: Int, settings: [String: String] = [:]
    ) async throws -> (status: Int32?, log: String) {
        let (topic, _) = try await Topics.make(group, partitions: 1)
        return try await TestDatabase.withDatabase { _, configuration in
            let log = FileManager.default.temporaryDirectory.appendingPathComponent("serve-\(UUID().uuidString).log")
            FileManager.default.createFile(atPath: log.path, contents: nil)
            defer { try? FileManager.default.removeItem(at: log) }
            let process = try ServeProcess.launch(
                topic: topic, group: group, databaseURL: DeadLetteredReminder.databaseURL(configuration),
                settings: settings.merging(["HTTP_PORT": String(port), "LOG_FORMAT": "json"]) { $1 },
                output: try FileHandle(forWritingTo: log))
            let status = try await process.exitStatus(within: .seconds(60))
            if status == nil { kill(process.processIdentifier, SIGKILL) }
            return (status, try String(contentsOf: log, encoding: .utf8))
        }
    }

    @Test func noTzDatabaseStopsStartUpNamingTZDIR() async throws {
        let (topic, _) = try await Topics.make("no-tzdata", partitions: 1)
        try await TestDatabase.withDatabase { _, configuration in
            let empty = FileManager.default.temporaryDirectory.appendingPathComponent("zoneinfo-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
            let log = FileManager.default.temporaryDirectory.appendingPathComponent("serve-\(UUID().uuidString).log")
            FileManager.default.createFile(atPath: log.path, contents: nil)
            defer {
                try? FileManager.default.removeItem(at: log)
                try? FileManager.default.removeItem(at: empty)
            }
            let process = try ServeProcess.launch(
                topic: topic, group: "no-tzdata", databaseURL: DeadLetteredReminder.databaseURL(configuration),
                settings: ["TZDIR": empty.path, "LOG_FORMAT": "json"], output: try FileHandle(forWritingTo: log))
            let status = try await process.exitStatus(within: .seconds(60))
            if status == nil { kill(process.processIdentifier, SIGKILL) }
            #expect(status == 78)
            let text = try String(contentsOf: log, encoding: .utf8)
            #expect(text.contains("TZDIR: no tz database in \(empty.path)"), "\(text)")
            #expect(!text.contains("ingest started"), "\(text)")
        }
    }
}
