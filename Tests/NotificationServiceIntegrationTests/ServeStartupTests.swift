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
        let (topic, _) = try await Topics.make("port-taken", partitions: 1)
        try await TestDatabase.withDatabase { _, configuration in
            let log = FileManager.default.temporaryDirectory.appendingPathComponent("serve-\(UUID().uuidString).log")
            FileManager.default.createFile(atPath: log.path, contents: nil)
            defer { try? FileManager.default.removeItem(at: log) }
            let process = try ServeProcess.launch(
                topic: topic, group: "port-taken", databaseURL: DeadLetteredReminder.databaseURL(configuration),
                settings: ["HTTP_PORT": String(taken.port), "LOG_FORMAT": "json"],
                output: try FileHandle(forWritingTo: log))
            let status = try await process.exitStatus(within: .seconds(60))
            if status == nil { kill(process.processIdentifier, SIGKILL) }
            #expect(status == 78)
            let text = try String(contentsOf: log, encoding: .utf8)
            #expect(text.contains("HTTP_HOST/HTTP_PORT: cannot listen on 127.0.0.1:\(taken.port)"), "\(text)")
            // Nothing else started: no partition was taken, nothing dispatched.
            #expect(!text.contains("ingest started") && !text.contains("dispatcher stopped"), "\(text)")
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
