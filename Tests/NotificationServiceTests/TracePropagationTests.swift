import Kafka
import ReminderStore
import Testing

@testable import NotificationService

/// Reading and writing W3C Trace Context headers on Kafka records (the no-op tracer of
/// the test process: contexts pass through unchanged).
@Suite struct TracePropagationTests {
    static let parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

    @Test func aWellFormedTraceparentIsKeptWithItsTracestateWhateverTheHeaderNamesCase() {
        let headers = [
            KafkaHeader(key: "x-other", value: "1"), KafkaHeader(key: "TraceParent", value: Self.parent),
            KafkaHeader(key: "tracestate", value: "vendor=opaque"),
        ]
        let trace = TracePropagation.incoming(headers)
        #expect(trace == TraceContextHeaders(traceParent: Self.parent, traceState: "vendor=opaque"))
        #expect(trace?.traceID == "4bf92f3577b34da6a3ce929d0e0e4736")
    }

    @Test(arguments: [
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
        "zz-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01", "", "'; DROP TABLE reminders; --",
    ])
    func anIllFormedTraceparentIsIgnoredNotRefused(value: String) {
        #expect(TracePropagation.incoming([KafkaHeader(key: "traceparent", value: value)]) == nil)
    }

    @Test func anIllFormedTracestateIsDroppedAndTheTraceparentKept() {
        let headers = [
            KafkaHeader(key: "traceparent", value: Self.parent), KafkaHeader(key: "tracestate", value: "=no key,,@"),
        ]
        #expect(TracePropagation.incoming(headers) == TraceContextHeaders(traceParent: Self.parent, traceState: nil))
    }

    @Test func aTraceparentThatIsNotUTF8IsIgnored() {
        #expect(TracePropagation.incoming([KafkaHeader(key: "traceparent", value: [0xFF, 0xFE, 0x00])]) == nil)
    }

    @Test func anOutgoingRecordCarriesOneTraceContextTheGivenOne() {
        let original = [
            KafkaHeader(key: "traceparent", value: "00-11111111111111111111111111111111-2222222222222222-01"),
            KafkaHeader(key: "TRACESTATE", value: "old=1"), KafkaHeader(key: "x-keep", value: "yes"),
        ]
        let replaced = TracePropagation.replacingTrace(
            in: original, with: TraceContextHeaders(traceParent: Self.parent, traceState: nil))
        #expect(
            replaced == [KafkaHeader(key: "x-keep", value: "yes"), KafkaHeader(key: "traceparent", value: Self.parent)])
        #expect(TracePropagation.replacingTrace(in: original, with: nil) == original, "nothing better to put there")
    }

    @Test func withTheNoOpTracerAPublishingSpanPassesTheStoredContextOn() {
        let stored = TraceContextHeaders(traceParent: Self.parent, traceState: "a=b")
        let publishing = TracePropagation.startPublishing("publish x", topic: "x", continuing: stored)
        publishing.span.end()
        #expect(publishing.trace == stored)
        #expect(TracePropagation.startPublishing("publish x", topic: "x", continuing: nil).trace == nil)
    }
}
