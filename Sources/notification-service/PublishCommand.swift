import ArgumentParser
import Foundation
import Kafka
import Logging
import NotificationService

/// `publish`: sends events to the reminders topic, for trying the service out.
struct PublishCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "publish",
        abstract: "Publish reminder events to the reminders topic (samples, or events from a file).",
        discussion: """
            With --file, one JSON event per line (blank lines and lines starting with # are skipped; - reads
            standard input); each is keyed by its user_id, as publishers must. An event without one is sent
            unkeyed and the service dead-letters it. Without --file, --sample valid reminders are sent, due
            after --due-in seconds, by email to --email. Prints where each event went.
            """
    )

    @OptionGroup var config: ConfigurationOptions

    @Option(help: "A file of JSON events, one per line; - for standard input.")
    var file: String?

    @Option(help: "How many sample reminders to send when no --file is given.")
    var sample: Int = 1

    @Option(help: "Seconds from now until the samples are due.")
    var dueIn: Int = 5

    @Option(help: "The samples' email address.")
    var email: String = "someone@example.invalid"

    @Flag(help: "Also send one invalid sample (it goes to the dead-letter topic).")
    var invalid = false

    func run() async throws {
        let (settings, logger) = try config.toolSettings(label: "notification-service.publish")
        var events: [String] = []
        if let file {
            events = try Self.lines(of: file)
        } else {
            guard (0...100_000).contains(sample) else { throw ValidationError("--sample: 0...100000") }
            guard (0...31_536_000).contains(dueIn) else { throw ValidationError("--due-in: 0...31536000 seconds") }
            events = (0..<sample).map { _ in SampleEvents.reminder(dueIn: .seconds(dueIn), email: email) }
        }
        if invalid { events.append(SampleEvents.invalid()) }
        guard !events.isEmpty else { throw ValidationError("nothing to publish") }
        let producer = try KafkaProducer(
            configuration: KafkaProducerConfiguration(client: settings.kafka), logger: logger)
        let messages = events.map { event in
            KafkaProducerMessage(
                topic: settings.remindersTopic, key: Self.userID(of: event).map { Array($0.utf8) },
                value: Array(event.utf8))
        }
        let results = await producer.send(messages)
        await producer.close()
        var failed = 0
        for (index, (message, result)) in zip(messages, results).enumerated() {
            let key =
                message.key == nil ? "unkeyed (no user_id)" : "key \(String(decoding: message.key!, as: UTF8.self))"
            switch result {
            case .success(let report):
                print("event \(index + 1): \(key) → \(report.topic)[\(report.partition)]@\(report.offset)")
            case .failure(let error):
                failed += 1
                print("event \(index + 1): \(key) not published: \(error)")
            }
        }
        print("\(messages.count - failed) published, \(failed) failed")
        if failed > 0 { throw ExitCode(1) }
    }

    static func lines(of path: String) throws -> [String] {
        let data: Data
        if path == "-" {
            data = FileHandle.standardInput.readDataToEndOfFile()
        } else {
            guard let read = FileManager.default.contents(atPath: path) else {
                throw ValidationError("--file \(path): cannot be read")
            }
            data = read
        }
        return String(decoding: data, as: UTF8.self).split(whereSeparator: \.isNewline)
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty && !$0.hasPrefix("#") }
    }

    /// The event's user_id when it is a JSON object with a string user_id.
    static func userID(of event: String) -> String? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(event.utf8)) as? [String: Any] else {
            return nil
        }
        return object["user_id"] as? String
    }
}
