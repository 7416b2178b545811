import Foundation
import TestSupport
import Testing

/// The JSON Schema in `schemas/` and the Swift decoder must accept and refuse the same
/// events. The schema side runs through a real validator (Python's `jsonschema`, from
/// the project's virtual environment) in `scripts/check_event_schema.py`.
@Suite struct EventSchemaAgreementTests {
    @Test func theSchemaAndTheDecoderAgreeOnEveryFixture() async throws {
        let python = LocalStack.python
        try #require(
            FileManager.default.isExecutableFile(atPath: python),
            "no Python with jsonschema at \(python): run scripts/setup.sh (or set NS_VENV)")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("event-fixtures-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        var files: [String: EventFixture] = [:]
        for (index, fixture) in EventFixtures.all.enumerated() {
            let file = directory.appendingPathComponent("\(index).json")
            try Data(fixture.bytes ?? []).write(to: file)
            files[file.path] = fixture
        }

        // On a thread of its own (CommandRun), not one of the few every test's async work shares.
        let (status, text) = try await CommandRun.run(
            python,
            [LocalStack.root.appendingPathComponent("scripts/check_event_schema.py").path] + files.keys.sorted(),
            mergingErrors: false)
        #expect(status == 0)

        var checked = 0
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: " ", maxSplits: 2)
            guard parts.count >= 2, let fixture = files[String(parts[0])] else { continue }
            checked += 1
            let schemaSaysValid = parts[1] == "valid"
            #expect(
                schemaSaysValid == (fixture.invalidField == nil),
                "\(fixture.name): the schema says \(parts.dropFirst().joined(separator: " "))")
        }
        #expect(checked == files.count)
    }
}
