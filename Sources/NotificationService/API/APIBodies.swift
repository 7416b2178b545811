import Foundation
import ReminderCore
import ReminderStore

/// The JSON bodies of the API (keys become snake_case). `openapi/openapi.json` describes
/// the same shapes; `OpenAPIDocumentTests` checks every answer against it.
enum APIBodies {
    struct Health: Encodable {
        struct Check: Encodable {
            let ok: Bool
            let detail: String
        }
        let status: String
        let checks: [String: Check]
    }

    struct Reminder: Encodable {
        struct Transition: Encodable {
            let from: String?
            let to: String
            let event: String
            let attempt: Int
            let errorClass: String?
            let detail: String?
            let at: String
            let occurrence: Int?
        }
        struct ChannelAttempt: Encodable {
            let attempt: Int
            let channelIndex: Int
            let channel: String
            let provider: String
            let outcome: String
            let errorClass: String?
            let answer: String
            let latencyMs: Double
            let retryDelayMs: Int64?
            let at: String
            let occurrence: Int?
        }
        /// A recurring reminder's rule, first occurrence and the occurrence it waits for.
        struct Recurrence: Encodable {
            struct Rule: Encodable {
                let freq: String
                let interval: Int
                let byDay: [String]?
                let byMonthDay: [Int]?
                let count: Int?
                let until: String?
            }
            struct Next: Encodable {
                let occurrence: Int
                /// On the user's wall clock.
                let local: String?
                let dueAt: String?
            }
            /// Nil once a one-off schedule replaced the rule.
            let rule: Rule?
            let firstOccurrenceLocal: String?
            /// Nil once the series has ended (delivered, dead-lettered or cancelled last).
            let nextOccurrence: Next?
        }
        /// Where each occurrence of a recurring reminder ended (or stands).
        struct Occurrence: Encodable {
            let occurrence: Int
            let state: String
            let attempts: Int
            let at: String
        }
        let reminderId: String
        let userId: String
        let state: String
        let timeZone: String
        let dueAt: String?
        let expiresAt: String?
        let attempts: Int
        let channels: [String]
        let correlationId: String?
        let traceId: String?
        let createdAt: String
        let updatedAt: String
        struct Pending: Encodable {
            let change: String
            let dueAt: String?
            let channels: [String]?
        }
        let transitions: [Transition]
        let channelAttempts: [ChannelAttempt]
        let pending: Pending?
        let recurrence: Recurrence?
        let occurrences: [Occurrence]?

        init(_ report: ReminderReport) {
            recurrence = report.series.map { Self.recurrence($0, report: report) }
            occurrences = report.series == nil ? nil : Self.occurrences(report.transitions)
            pending = report.pending.map { Pending(change: $0.change, dueAt: $0.dueAt, channels: $0.channels) }
            reminderId = report.reminderID
            userId = report.userID
            state = report.state
            timeZone = report.timeZone
            dueAt = report.dueAt
            expiresAt = report.expiresAt
            attempts = report.attempts
            channels = report.channels
            correlationId = report.correlationID
            traceId = report.traceID
            createdAt = report.createdAt
            updatedAt = report.updatedAt
            transitions = report.transitions.map {
                Transition(
                    from: $0.from, to: $0.to, event: $0.event, attempt: $0.attempt, errorClass: $0.errorClass,
                    detail: $0.detail, at: $0.at, occurrence: $0.occurrence)
            }
            channelAttempts = report.channelAttempts.map {
                ChannelAttempt(
                    attempt: $0.attempt, channelIndex: $0.channelIndex, channel: $0.channel, provider: $0.provider,
                    outcome: $0.outcome, errorClass: $0.errorClass, answer: $0.answer,
                    latencyMs: $0.latencyMilliseconds, retryDelayMs: $0.retryDelayMilliseconds, at: $0.at,
                    occurrence: $0.occurrence)
            }
        }

        private static func recurrence(_ series: ReminderReport.Series, report: ReminderReport) -> Recurrence {
            let rule = series.rule.flatMap { try? StoredDelivery.rule(fromJSON: $0) }.map { rule in
                var count: Int?
                var until: String?
                switch rule.end {
                case .never: break
                case .count(let value): count = value
                case .until(let instant): until = instant.description
                }
                return Recurrence.Rule(
                    freq: rule.frequency.rawValue, interval: rule.interval,
                    byDay: rule.weekdays.isEmpty ? nil : rule.weekdays.map(\.rawValue),
                    byMonthDay: rule.monthDays.isEmpty ? nil : rule.monthDays, count: count, until: until)
            }
            let waiting = ReminderState(rawValue: report.state).map { !$0.isTerminal } ?? false
            return Recurrence(
                rule: rule, firstOccurrenceLocal: series.start,
                nextOccurrence: waiting
                    ? Recurrence.Next(occurrence: series.occurrence, local: series.occurrenceLocal, dueAt: report.dueAt)
                    : nil)
        }

        /// Each occurrence's last state in the history, in the order they came.
        private static func occurrences(_ transitions: [ReminderReport.Transition]) -> [Occurrence] {
            var order: [Int] = []
            var last: [Int: Occurrence] = [:]
            for transition in transitions {
                guard let number = transition.occurrence else { continue }
                if last[number] == nil { order.append(number) }
                last[number] = Occurrence(
                    occurrence: number, state: transition.to,
                    attempts: max(last[number]?.attempts ?? 0, transition.attempt),
                    at: transition.at)
            }
            return order.compactMap { last[$0] }
        }
    }

    struct DeadLetter: Encodable {
        /// The original message: key, value and header values as UTF-8 text when they all
        /// are, otherwise all in base64 (`encoding` says which).
        struct Message: Encodable {
            struct Header: Encodable {
                let key: String
                let value: String?
            }
            let encoding: String
            let key: String?
            let value: String?
            let headers: [Header]

            init(_ message: DeadLetterEntry.Message) {
                let parts = [message.key, message.value] + message.headers.map(\.value)
                let text = parts.allSatisfy { bytes in
                    bytes.map { String(validating: $0, as: UTF8.self) != nil } ?? true
                }
                func render(_ bytes: [UInt8]?) -> String? {
                    bytes.map { text ? String(decoding: $0, as: UTF8.self) : Data($0).base64EncodedString() }
                }
                encoding = text ? "utf-8" : "base64"
                key = render(message.key)
                value = render(message.value)
                headers = message.headers.map { Header(key: $0.key, value: render($0.value)) }
            }
        }
        let id: String
        let reason: String
        let error: String
        let attempts: Int
        let originalTopic: String
        let originalPartition: Int32
        let originalOffset: Int64
        let idempotencyKey: String?
        let correlationId: String?
        let traceId: String?
        let reminderId: String?
        let failedAt: String
        let publishedAt: String?
        let replayedAt: String?
        let replayable: Bool
        let message: Message?

        init(_ entry: DeadLetterEntry) {
            id = entry.id.lowercasedText
            reason = entry.reason
            error = entry.error
            attempts = entry.attempts
            originalTopic = entry.originalTopic
            originalPartition = entry.originalPartition
            originalOffset = entry.originalOffset
            idempotencyKey = entry.idempotencyKey
            correlationId = entry.correlationID
            traceId = entry.trace?.traceID
            reminderId = entry.reminderID
            failedAt = entry.failedAt
            publishedAt = entry.publishedAt
            replayedAt = entry.replayedAt
            replayable = DeadLetterReplayer.verdict(entry) == .replay
            message = entry.message.map(Message.init)
        }
    }

    struct DeadLetterPage: Encodable {
        let items: [DeadLetter]
        /// Pass as `cursor` for the next page; absent on the last one.
        let nextCursor: String?
    }

    struct Erasure: Encodable {
        let erasureId: String
        let erasedAt: String
        let remindersCancelled: Int
        let remindersErased: Int
        let deliveryAttemptsErased: Int
        let deadLettersErased: Int

        init(_ record: ErasureStore.Record) {
            erasureId = record.id.lowercasedText
            erasedAt = record.at
            remindersCancelled = record.remindersCancelled
            remindersErased = record.remindersErased
            deliveryAttemptsErased = record.attemptsErased
            deadLettersErased = record.deadLettersErased
        }
    }

    struct Replay: Encodable {
        let deadLetterId: String
        let topic: String
        let partition: Int32
        let offset: Int64
    }
}
