import Foundation
import Kafka
import ReminderCore
import ReminderStore
import Tracing

/// Replays dead letters (`dlq replay`, `POST /v1/dead-letters/{id}/replay`): re-publishes
/// each chosen record's original message to the reminders topic with an `x-replay-of`
/// header naming the dead letter. Ingest then resets the reminder for delivery, once
/// however often the same record is replayed. Records whose failure a replay cannot
/// mend (invalid or conflicting events) and records replayed before are left alone.
public struct DeadLetterReplayer: Sendable {
    /// What a replay would do with a dead letter.
    public enum Verdict: Sendable, Equatable {
        case replay
        /// Replayed before (ingest applied it at this time): replaying again changes nothing.
        case alreadyReplayed(at: String)
        /// A replay cannot help; the reason says why.
        case notReplayable(String)
    }

    /// One dead letter of a replay, with what happened to it.
    public struct Outcome: Sendable {
        public let entry: DeadLetterEntry
        public let verdict: Verdict
        /// Where the replay message went; nil when it was not published (dry run, skipped
        /// or failed).
        public let published: KafkaDeliveryReport?
        /// Why publishing failed.
        public let failure: String?
    }

    private let producer: KafkaProducer?
    private let topic: String

    /// `producer`: nil for dry runs only.
    public init(producer: KafkaProducer?, topic: String) {
        self.producer = producer
        self.topic = topic
    }

    public static func verdict(_ entry: DeadLetterEntry) -> Verdict {
        if let replayedAt = entry.replayedAt { return .alreadyReplayed(at: replayedAt) }
        guard let reason = DeadLetterReason(rawValue: entry.reason), reason.isReplayable else {
            return .notReplayable(
                "a dead letter of reason \(entry.reason) would fail the same way; publish a corrected event instead")
        }
        guard entry.reminderID != nil else { return .notReplayable("it names no stored reminder") }
        return .replay
    }

    /// Publishes the replayable entries (none when `dryRun`); entries must carry their
    /// message (`DeadLetterStore.list(…, includeMessage: true)`).
    public func replay(_ entries: [DeadLetterEntry], dryRun: Bool) async -> [Outcome] {
        let verdicts = entries.map(Self.verdict)
        let chosen = entries.indices.filter { verdicts[$0] == .replay && entries[$0].message?.value != nil }
        var reports: [Int: Result<KafkaDeliveryReport, KafkaError>] = [:]
        if !dryRun, let producer, !chosen.isEmpty {
            let operation = "publish \(topic)"
            let publishing = chosen.map { index in
                TracePropagation.startPublishing(operation, topic: topic, continuing: entries[index].trace) {
                    $0["notification.replay_of"] = entries[index].id.lowercasedText
                }
            }
            let results = await producer.send(
                zip(chosen, publishing).map { Self.message(entries[$0], topic: topic, trace: $1.trace) })
            for ((index, result), (span, _)) in zip(zip(chosen, results), publishing) {
                reports[index] = result
                TracePropagation.endPublishing(span, result)
            }
        }
        return entries.indices.map { index in
            var published: KafkaDeliveryReport?
            var failure: String?
            switch reports[index] {
            case .success(let report)?: published = report
            case .failure(let error)?: failure = "\(error)"
            case nil:
                if !dryRun && verdicts[index] == .replay && entries[index].message?.value == nil {
                    failure = "its original message was not loaded or not stored"
                }
            }
            return Outcome(entry: entries[index], verdict: verdicts[index], published: published, failure: failure)
        }
    }

    /// The original message as first consumed, marked as a replay of `entry`, in the
    /// dead letter's trace (`trace`: the replay's producer span, or the stored context).
    static func message(_ entry: DeadLetterEntry, topic: String, trace: TraceContextHeaders?) -> KafkaProducerMessage {
        var headers = TracePropagation.replacingTrace(
            in: (entry.message?.headers ?? []).filter { $0.key != IngestRecord.replayHeader }.map {
                KafkaHeader(key: $0.key, value: $0.value)
            }, with: trace)
        headers.append(KafkaHeader(key: IngestRecord.replayHeader, value: entry.id.lowercasedText))
        return KafkaProducerMessage(
            topic: topic, key: entry.message?.key, value: entry.message?.value, headers: headers)
    }
}
