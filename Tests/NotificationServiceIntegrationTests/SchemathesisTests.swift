import Foundation
import TestSupport
import Testing

/// schemathesis (pinned in scripts/env.sh) runs all of its checks over every operation
/// `openapi/openapi.json` lists against a live `serve`: answers outside the documented
/// statuses, media types, headers and schemas, documented-valid input refused,
/// documented-invalid input taken, a request without the token let through, a method a
/// path does not serve answered anything but 405 with `Allow`. The service holds a
/// reminder and its dead letter (DeadLetteredReminder), so the document's links lead its
/// stateful phase from the dead-letter list to a real dead letter and reminder, and the
/// run sees their 200s, not only 404s. OpenAPIDocumentTests checks hand-picked answers;
/// this one checks what the document promises for inputs nobody picked.
@Suite(.timeLimit(.minutes(6)))
struct SchemathesisTests {
    static var executable: String {
        URL(fileURLWithPath: LocalStack.python).deletingLastPathComponent().appendingPathComponent("schemathesis").path
    }

    @Test func schemathesisFindsNoAnswerThatDisagreesWithTheDocument() async throws {
        try await DeadLetteredReminder.with("schemathesis") { scenario in
            // Its working directory: schemathesis keeps a `.schemathesis/` folder there.
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
                "schemathesis-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            // Bounded: 30 cases per operation and phase, about 500 requests in all, take
            // some 15 s on two cores; `timeout` ends a run that hangs. A fixed seed makes a failure
            // reproducible with the command in the message.
            let arguments = [
                "--kill-after=10", "240", Self.executable, "run", OpenAPIDocumentTests.document.path,
                "--url", "http://127.0.0.1:\(scenario.instance.port)",
                "--header", "Authorization: Bearer \(ServedInstance.token)",
                "--checks", "all", "--max-examples", "30", "--seed", "18", "--request-timeout", "10",
                "--workers", "1", "--no-color", "--generation-database", "none",
            ]
            let (status, output) = try await CommandRun.run("/usr/bin/timeout", arguments, in: directory)
            #expect(status == 0, "schemathesis \(arguments.dropFirst(3).joined(separator: " ")):\n\(output)")
            // No warning either: schemathesis warns of an operation whose valid requests were
            // all refused (a 404 for want of a real id) unless some phase got a success from it.
            #expect(!output.contains("Warnings:"), "\(output)")
            #expect(output.contains("No issues found"), "\(output)")
        }
    }
}
