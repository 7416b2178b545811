import Kafka
import ReminderCore
import ReminderStore
import Tracing

/// The spans of one ingest batch: a consumer span per message, child of the trace its
/// `traceparent` names (a new trace without one), kept open until the batch is stored;
/// and a span per attempt at the batch's transaction, linked to the messages it stores.
/// Each record carries its consume span's context into the store, so the reminder's
/// delivery and dead letter join the same trace. With the no-op tracer nothing is built.
struct IngestTrace {
    private var consumeSpans: [any Span] = []

    /// Starts the consume spans and gives each record its span's trace context.
    init(_ records: inout [IngestRecord], enabled: Bool) {
        guard enabled else { return }
        consumeSpans.reserveCapacity(records.count)
        for index in records.indices {
            let record = records[index]
            let span = startSpan(
                "process \(record.topic)", context: TracePropagation.context(continuing: record.trace),
                ofKind: .consumer)
            span.updateAttributes { attributes in
                attributes["messaging.system"] = "kafka"
                attributes["messaging.operation.type"] = "process"
                attributes["messaging.destination.name"] = record.topic
                attributes["messaging.destination.partition.id"] = "\(record.partition)"
                attributes["messaging.kafka.offset"] = Int(record.offset)
                switch record.decoded {
                case .valid(let event):
                    attributes["notification.reminder_id"] = event.reminderID
                    if case .cancel = event.action {
                        attributes["notification.event"] = "cancel"
                    } else {
                        attributes["notification.event"] = "schedule"
                    }
                case .invalid:
                    attributes["notification.event"] = "invalid"
                    attributes["notification.dead_letter.reason"] = "invalid_event"
                case .replay(let deadLetter):
                    attributes["notification.event"] = "replay"
                    attributes["notification.dead_letter.id"] = deadLetter.lowercasedText
                }
            }
            records[index].trace = TracePropagation.headers(of: span.context) ?? record.trace
            consumeSpans.append(span)
        }
    }

    /// Runs one attempt at storing the batch inside its span.
    func storing<Result>(attempt: Int, lane: Int, _ body: () async throws -> Result) async throws -> Result {
        guard !consumeSpans.isEmpty else { return try await body() }
        let span = startSpan("store batch", context: .topLevel, ofKind: .internal)
        span.updateAttributes { attributes in
            attributes["db.system.name"] = "postgresql"
            attributes["notification.batch.messages"] = consumeSpans.count
            attributes["notification.batch.attempt"] = attempt
            attributes["notification.ingest.lane"] = lane
        }
        for consumed in consumeSpans.prefix(TracePropagation.maximumLinks) {
            span.addLink(SpanLink(context: consumed.context, attributes: [:]))
        }
        defer { span.end() }
        do {
            return try await body()
        } catch {
            span.recordError(error)
            span.setStatus(SpanStatus(code: .error))
            throw error
        }
    }

    /// Ends the consume spans; `stored` false when shutdown left the batch unstored.
    func finish(stored: Bool) {
        for span in consumeSpans {
            if !stored { span.attributes["notification.stored"] = false }
            span.end()
        }
    }
}
