import ArgumentParser
import Foundation
import Kafka
import Logging
import NotificationService
import ReminderCore
import ReminderStore

/// `dlq list | show | replay`: the dead-letter outbox as operators use it.
struct DeadLetterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dlq",
        abstract: "Inspect and replay dead letters (events and reminders that could not be delivered).",
        discussion: """
            Reads the dead-letter records from PostgreSQL (DATABASE_URL); every record is also on the
            dead-letter topic. Replaying re-publishes a record's original message to the reminders topic with
            an x-replay-of header: the service resets that reminder and delivers it again, once however often
            the record is replayed. Records of invalid or conflicting events are not replayable: their
            publisher must send a corrected event.
            """,
        subcommands: [List.self, Show.self, Replay.self]
    )

    /// Which dead letters a command takes.
    struct Selection: ParsableArguments {
        @Option(name: .customLong("id"), help: "A dead letter's id (repeat for several).")
        var ids: [String] = []

        @Option(help: "Only this reason: \(DeadLetterReason.allCases.map(\.rawValue).joined(separator: ", ")).")
        var reason: String?

        @Option(help: "Only those that failed at or after this RFC 3339 time (2026-11-22T09:00:00Z).")
        var since: String?

        @Option(help: "Only those that failed before this RFC 3339 time.")
        var until: String?

        var isEmpty: Bool { ids.isEmpty && reason == nil && since == nil && until == nil }

        func filter() throws -> DeadLetterFilter {
            var filter = DeadLetterFilter()
            if !ids.isEmpty {
                filter.ids = try ids.map { text in
                    guard let id = UUID(uuidString: text) else {
                        throw ValidationError("--id \(text): a dead letter id is a UUID")
                    }
                    return id
                }
            }
            if let reason {
                guard DeadLetterReason(rawValue: reason) != nil else {
                    throw ValidationError(
                        "--reason: one of \(DeadLetterReason.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                filter.reason = reason
            }
            filter.since = try Self.time(since, "--since")
            filter.until = try Self.time(until, "--until")
            return filter
        }

        static func time(_ text: String?, _ option: String) throws -> Date? {
            guard let text else { return nil }
            guard let instant = RFC3339.parse(text) else {
                throw ValidationError("\(option) \(text): an RFC 3339 time such as 2026-11-22T09:00:00Z")
            }
            return instant.date
        }
    }

    /// Runs `body` with the dead-letter store of the configured database.
    static func withStore<T: Sendable>(
        _ config: ConfigurationOptions, _ body: (ServiceSettings, DeadLetterStore, Logger) async throws -> T
    ) async throws -> T {
        let (settings, logger) = try config.toolSettings(label: "notification-service.dlq")
        return try await settings.database.withClient(logger: logger) { client in
            try await body(settings, DeadLetterStore(client: client, logger: logger, sealer: settings.sealer), logger)
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List dead letters, newest first.",
            discussion: "Without a selection, the newest ones. One line each, or one JSON object per line with --json."
        )

        @OptionGroup var config: ConfigurationOptions
        @OptionGroup var selection: Selection

        @Option(help: "At most this many.")
        var limit: Int = 50

        @Flag(help: "One JSON object per line (the API's shape) instead of a table.")
        var json = false

        func run() async throws {
            let filter = try selection.filter()
            guard (1...10_000).contains(limit) else { throw ValidationError("--limit: 1...10000") }
            let entries = try await DeadLetterCommand.withStore(config) { _, store, _ in
                try await store.list(filter, limit: limit)
            }
            if json {
                for entry in entries { print(entry.json()) }
                return
            }
            print(
                "ID                                    FAILED AT                    REASON                ATTEMPTS  REPLAYED  REMINDER / ERROR"
            )
            for entry in entries {
                print(
                    [
                        entry.id.lowercasedText, entry.failedAt.padding(28), entry.reason.padding(21),
                        String(entry.attempts).padding(9), (entry.replayedAt == nil ? "no" : "yes").padding(9),
                        "\(entry.reminderID ?? "-") \(entry.error)",
                    ].joined(separator: " "))
            }
            print(
                "\(entries.count) dead letters"
                    + (entries.count == limit ? " (more with a larger --limit or --until)" : ""))
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show one dead letter with its original message, as JSON.",
            discussion: "The message may hold personal data (addresses, numbers, the reminder's text)."
        )

        @OptionGroup var config: ConfigurationOptions

        @Argument(help: "The dead letter's id.")
        var id: String

        func run() async throws {
            guard let uuid = UUID(uuidString: id) else { throw ValidationError("\(id): a dead letter id is a UUID") }
            let entry = try await DeadLetterCommand.withStore(config) { _, store, _ in try await store.find(uuid) }
            guard let entry else {
                FileHandle.standardError.write(Data("no dead letter has the id \(id)\n".utf8))
                throw ExitCode(1)
            }
            print(entry.json(pretty: true))
        }
    }

    struct Replay: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Re-publish dead letters to the reminders topic so their reminders are delivered again.",
            discussion: """
                Choose by --id, --reason and a time range (at least one). Chosen by id, records already
                replayed and records that replaying cannot mend are listed and skipped; chosen by reason or
                time, only replayable ones are taken, newest first, up to --limit. --dry-run shows what would
                be replayed.
                Exit status 1 when a record could not be published.
                """
        )

        @OptionGroup var config: ConfigurationOptions
        @OptionGroup var selection: Selection

        @Option(help: "Replay at most this many (newest first).")
        var limit: Int = 1_000

        @Flag(help: "Show what would be replayed; publish nothing.")
        var dryRun = false

        func run() async throws {
            guard !selection.isEmpty else {
                throw ValidationError("choose what to replay: --id, --reason, --since or --until")
            }
            guard (1...100_000).contains(limit) else { throw ValidationError("--limit: 1...100000") }
            var filter = try selection.filter()
            // Chosen by reason or time: only records a replay would publish, so that a
            // bounded replay run again moves on to older ones. Chosen by id: each is
            // reported, skipped ones with why.
            filter.replayableOnly = selection.ids.isEmpty
            let dryRun = self.dryRun
            let limit = self.limit
            let outcomes = try await DeadLetterCommand.withStore(config) { settings, store, logger in
                let entries = try await store.list(filter, limit: limit, includeMessage: true)
                let producer =
                    dryRun
                    ? nil
                    : try KafkaProducer(
                        configuration: KafkaProducerConfiguration(client: settings.kafka, messageTimeout: .seconds(30)),
                        logger: logger)
                let outcomes = await DeadLetterReplayer(producer: producer, topic: settings.remindersTopic)
                    .replay(entries, dryRun: dryRun)
                await producer?.close()
                return outcomes
            }
            var failed = 0
            var replayed = 0
            for outcome in outcomes {
                let id = outcome.entry.id.lowercasedText
                let what = "\(id) (\(outcome.entry.reason), reminder \(outcome.entry.reminderID ?? "-"))"
                switch outcome.verdict {
                case .alreadyReplayed(let at):
                    print("skipped \(what): already replayed at \(at)")
                case .notReplayable(let why):
                    print("skipped \(what): \(why)")
                case .replay where dryRun:
                    replayed += 1
                    print("would replay \(what)")
                case .replay:
                    if let report = outcome.published {
                        replayed += 1
                        print("replayed \(what) as \(report.topic)[\(report.partition)]@\(report.offset)")
                    } else {
                        failed += 1
                        print("failed \(what): \(outcome.failure ?? "not published")")
                    }
                }
            }
            print(
                "\(outcomes.count) selected, \(replayed) \(dryRun ? "would be replayed" : "replayed"), "
                    + "\(outcomes.count - replayed - failed) skipped, \(failed) failed")
            if outcomes.count == limit {
                print("stopped at --limit \(limit); run it again for older ones")
            }
            if failed > 0 { throw ExitCode(1) }
        }
    }
}

extension String {
    fileprivate func padding(_ width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }
}
