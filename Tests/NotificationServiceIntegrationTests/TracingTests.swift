import Foundation
import Kafka
import TestSupport
import Testing

/// W3C Trace Context from publish to delivery: the trace a publisher starts comes back
/// on the delivery's spans, the webhook request, the dead-letter record and a replay;
/// spans are exported over OTLP only when an endpoint is configured.
@Suite(.timeLimit(.minutes(6)))
struct TracingTests {
    /// A `traceparent` as a publisher would send it, sampled.
    struct Published {
        let traceID = Self.randomHex(bytes: 16)
        let spanID = Self.randomHex(bytes: 8)
        var header: KafkaHeader { KafkaHeader(key: "traceparent", value: "00-\(traceID)-\(spanID)-01") }

        static func randomHex(bytes: Int) -> String {
            (0..<bytes).map { _ in String(format: "%02x", UInt8.random(in: 1...255)) }.joined()
        }
    }

    @Test func aTraceIDPublishedWithAnEventComesBackOnItsDeliverySpanAndOnItsDeadLetterRecord() async throws {
        try await Self.withService(
            "traced",
            tracing: [
                "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json", "OTEL_BSP_SCHEDULE_DELAY": "200",
            ]
        ) { run in
            let delivered = Published(), refused = Published(), invalid = Published()
            try await run.publish(delivered: delivered, refused: refused, invalid: invalid)

            let request = try #require(try await run.sink.requests(path: "/accept").first)

            // The dead-letter records carry their events' traces, through the relay's
            // publish span (a new span id in the same trace).
            let letters = try await run.deadLetters(count: 2)
            for (reason, published) in [("permanent_failure", refused), ("invalid_event", invalid)] {
                let parent = try #require(letters[reason], "a \(reason) record").split(separator: "-")
                #expect(parent[1] == Substring(published.traceID), "\(reason)")
                #expect(parent[2] != Substring(published.spanID), "\(reason): the relay's span is the parent")
            }

            var spans = ExportedSpans(spans: [])
            try await eventually(.seconds(30), "the delivery and dead-letter spans to be exported") {
                spans = try await ExportedSpans.read(from: run.sink)
                return spans.named("deliver reminder").contains { $0.traceID == delivered.traceID }
                    && spans.named("publish \(run.dlq)").filter {
                        [refused.traceID, invalid.traceID].contains($0.traceID)
                    }
                    .count == 2
            }
            // publish → consume span (child of the publisher's span) → delivery attempt
            // (child of the consume span, stored with the reminder) → the webhook send.
            let consumed = try #require(
                spans.named("process \(run.topic)").first { $0.traceID == delivered.traceID })
            #expect(consumed.parentSpanID == delivered.spanID)
            #expect(consumed.attributes["notification.reminder_id"] == "traced-ok")
            let delivery = try #require(
                spans.named("deliver reminder").first { $0.traceID == delivered.traceID })
            #expect(delivery.parentSpanID == consumed.spanID)
            #expect(delivery.attributes["notification.outcome"] == "delivered")
            let send = try #require(spans.named("send webhook").first { $0.traceID == delivered.traceID })
            #expect(send.parentSpanID == delivery.spanID)
            #expect(send.attributes["notification.provider"] != nil)
            // The webhook request names the send span as its parent.
            #expect(request.headers["traceparent"] == "00-\(delivered.traceID)-\(send.spanID)-01")
            #expect(request.headers["tracestate"] == nil, "the publisher's tracestate stays inside")
            #expect(spans.named("store batch").contains { $0.linkedTraceIDs.contains(delivered.traceID) })
            #expect(spans.named("claim due reminders").contains { $0.linkedTraceIDs.contains(delivered.traceID) })
            let refusal = try #require(spans.named("deliver reminder").first { $0.traceID == refused.traceID })
            #expect(refusal.attributes["notification.outcome"] == "dead_letter")
            // No span holds the reminder's text or the webhook's URL.
            for span in spans.spans {
                for value in span.attributes.values {
                    #expect(!value.contains("private") && !value.contains("/accept"), "\(span.name): \(value)")
                }
            }

            // A replay of the dead letter continues its trace up to the new delivery.
            let deadLetterID = try await run.deadLetterID(reason: "permanent_failure")
            let replay = try await run.instance.call(
                "POST", "/v1/dead-letters/\(deadLetterID)/replay", template: "/v1/dead-letters/{id}/replay")
            #expect(replay.status == 202)
            try await eventually(.seconds(30), "the replayed reminder's delivery span") {
                spans = try await ExportedSpans.read(from: run.sink)
                return spans.named("deliver reminder").contains {
                    $0.traceID == refused.traceID && $0.attributes["notification.outcome"] == "delivered"
                }
            }
            let resent = try await run.sink.requests(path: "/refuse")
            #expect(resent.count == 2)
            #expect(resent.last?.headers["traceparent"]?.contains(refused.traceID) == true)
        }
    }

    @Test func withoutAnEndpointNoTracerRunsAndTheEventsTraceIsPassedOnUnchanged() async throws {
        try await Self.withService("untraced", tracing: nil) { run in
            let delivered = Published(), refused = Published(), invalid = Published()
            try await run.publish(delivered: delivered, refused: refused, invalid: invalid)
            let letters = try await run.deadLetters(count: 2)
            // No tracer is installed: the webhook request carries no trace context of a
            // span, and the records carry the events' own.
            #expect(try await run.sink.requests(path: "/accept").first?.headers["traceparent"] == nil)
            #expect(letters["permanent_failure"] == refused.header.value.map { String(decoding: $0, as: UTF8.self) })
            #expect(letters["invalid_event"] == invalid.header.value.map { String(decoding: $0, as: UTF8.self) })
            let reminder = try await run.instance.call(
                "GET", "/v1/reminders/untraced-ok", template: "/v1/reminders/{id}")
            #expect(reminder.json?["trace_id"] as? String == delivered.traceID)
        }
    }

    @Test func aCollectorThatNeverAnswersHoldsUpNeitherDeliveryNorShutdown() async throws {
        try await Self.withService(
            "collector-away", tracing: ["OTEL_BSP_SCHEDULE_DELAY": "200"], stopWithin: .seconds(15)
        ) { run in
            // The collector takes each export request and never answers it.
            try await run.sink.script("/v1/traces", [], then: .hang)
            let delivered = Published(), refused = Published(), invalid = Published()
            let started = ContinuousClock.now
            try await run.publish(delivered: delivered, refused: refused, invalid: invalid)
            let letters = try await run.deadLetters(count: 2)
            #expect(letters["permanent_failure"]?.contains(refused.traceID) == true)
            #expect(letters["invalid_event"]?.contains(invalid.traceID) == true)
            #expect(ContinuousClock.now - started < .seconds(30), "the work did not wait for the exporter")
            try await eventually(.seconds(10), "an export to be attempted") {
                try await !run.sink.requests(path: "/v1/traces").isEmpty
            }
        }
        // withService: SIGTERM still ends the process with 0, and soon (the exporter gives
        // up after its own timeouts: 3 s per request, 5 s per export).
    }

    /// A `serve` process sending webhooks to `sink` (`/accept` takes every request,
    /// `/refuse` refuses the first for good) and, with `tracing`, spans to the sink too.
    struct Run {
        let instance: ServedInstance
        let sink: ProviderSink
        let topic: String
        let dlq: String
        let name: String

        func publish(delivered: Published, refused: Published, invalid: Published) async throws {
            var accepted = ServiceEvents.webhook("\(name)-ok", url: sink.baseURL + "/accept", topic: topic)
            accepted.headers.append(delivered.header)
            // A publisher's vendor data, which is not for the webhook's receiver.
            accepted.headers.append(KafkaHeader(key: "tracestate", value: "tenant=private"))
            var refusedEvent = ServiceEvents.webhook("\(name)-refused", url: sink.baseURL + "/refuse", topic: topic)
            refusedEvent.headers.append(refused.header)
            var invalidEvent = ServiceEvents.invalid(topic: topic)
            invalidEvent.headers.append(invalid.header)
            let producer = try Topics.producer()
            for result in await producer.send([accepted, refusedEvent, invalidEvent]) { _ = try result.get() }
            await producer.close()
            try await eventually(.seconds(60), "the webhook delivery and the refusal") {
                let accepted = try await sink.requests(path: "/accept").count
                let refused = try await sink.requests(path: "/refuse").count
                return accepted == 1 && refused == 1
            }
        }

        /// The `traceparent` of each dead-letter record, by reason.
        func deadLetters(count: Int) async throws -> [String: String] {
            let reader = try Topics.reader(of: dlq)
            var parents: [String: String] = [:]
            var read = 0
            for try await message in reader.messages {
                func text(_ name: String) -> String? {
                    message.header(name)?.value.map { String(decoding: $0, as: UTF8.self) }
                }
                #expect(message.headers.filter { $0.key == "traceparent" }.count == 1, "one trace context")
                if let reason = text("x-dlq-reason") { parents[reason] = text("traceparent") }
                read += 1
                if read == count { break }
            }
            await reader.close()
            return parents
        }

        func deadLetterID(reason: String) async throws -> String {
            let page = try await instance.call(
                "GET", "/v1/dead-letters?reason=\(reason)", template: "/v1/dead-letters")
            return try #require((page.json?["items"] as? [[String: Any]])?.first?["id"] as? String)
        }
    }

    /// `tracing`: OTEL_* settings besides the endpoint, or nil for none at all.
    static func withService(
        _ name: String, tracing: [String: String]?, stopWithin: Duration = .seconds(30),
        _ body: (Run) async throws -> Void
    ) async throws {
        let sink = try await ProviderSink(lifetime: 240)
        let (topic, dlq) = try await Topics.make(name, partitions: 2)
        do {
            try await TestDatabase.withDatabase { _, configuration in
                try await sink.script("/refuse", [.status(400, body: "{\"error\":\"bad\"}")], then: .ok)
                var settings = ServiceEvents.settings(sink)
                if let tracing {
                    settings["OTEL_EXPORTER_OTLP_ENDPOINT"] = sink.baseURL
                    settings["OTEL_EXPORTER_OTLP_CERTIFICATE"] = sink.caFile
                    settings.merge(tracing) { $1 }
                }
                let instance = try await ServedInstance(
                    topic: topic, group: "\(name)-\(UUID().uuidString.prefix(8))",
                    databaseURL: DeadLetteredReminder.databaseURL(configuration), settings: settings)
                let lines = try await instance.serving(stopWithin: stopWithin) {
                    try await body(Run(instance: instance, sink: sink, topic: topic, dlq: dlq, name: name))
                }
                #expect(lines.contains { $0.contains("\"trace_id\":") }, "delivery logs carry the trace id")
            }
        } catch {
            await sink.stop()
            throw error
        }
        await sink.stop()
    }
}
