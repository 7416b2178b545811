import Instrumentation
import Kafka
import ReminderStore
import ServiceContextModule
import Tracing
import W3CTraceContext

/// W3C Trace Context between Kafka headers, what the store keeps, and spans. With the
/// no-op tracer the context read from a message is passed on unchanged, so a delivery
/// or a dead letter still carries its publisher's trace id.
enum TracePropagation {
    /// The message's own trace context when its `traceparent` is well formed. An ill-formed
    /// one is ignored, as W3C Trace Context asks (a new trace starts); it is never a
    /// reason to dead-letter the event. An ill-formed `tracestate` alone is dropped and
    /// the `traceparent` kept, as the recommendation asks too.
    static func incoming(_ headers: [KafkaHeader]) -> TraceContextHeaders? {
        // One pass from the end: the last header of a name counts.
        var parentHeader: KafkaHeader?
        var stateHeader: KafkaHeader?
        for header in headers.reversed() where parentHeader == nil || stateHeader == nil {
            if parentHeader == nil, isNamed(header.key, TraceContextHeaders.traceParentHeader) {
                parentHeader = header
            } else if stateHeader == nil, isNamed(header.key, TraceContextHeaders.traceStateHeader) {
                stateHeader = header
            }
        }
        func text(_ header: KafkaHeader?) -> String? {
            header?.value.flatMap { String(validating: $0, as: UTF8.self) }
        }
        guard let parent = text(parentHeader) else { return nil }
        if let state = text(stateHeader),
            let context = try? TraceContext(traceParentHeaderValue: parent, traceStateHeaderValue: state)
        {
            return TraceContextHeaders(
                traceParent: context.traceParentHeaderValue, traceState: context.traceStateHeaderValue)
        }
        guard let context = try? TraceContext(traceParentHeaderValue: parent) else { return nil }
        return TraceContextHeaders(traceParent: context.traceParentHeaderValue, traceState: nil)
    }

    /// A span links at most this many others (OpenTelemetry's default limit).
    static let maximumLinks = 128

    /// Header names compare without regard to ASCII case (as in HTTP), without building
    /// a lowercased copy of every key of every message.
    static func isNamed(_ key: String, _ lowercaseName: String) -> Bool {
        key.utf8.count == lowercaseName.utf8.count
            && zip(key.utf8, lowercaseName.utf8).allSatisfy { byte, expected in
                byte == expected || (byte >= 0x41 && byte <= 0x5A && byte + 0x20 == expected)
            }
    }

    /// A context whose spans continue `trace`; the top level without one.
    static func context(continuing trace: TraceContextHeaders?) -> ServiceContext {
        var context = ServiceContext.topLevel
        if let trace { InstrumentationSystem.instrument.extract(trace, into: &context, using: HeadersExtractor()) }
        return context
    }

    /// The trace context of a span (or of any context) as headers; nil when the tracer
    /// writes none (the no-op tracer).
    static func headers(of context: ServiceContext) -> TraceContextHeaders? {
        var carrier: [String: String] = [:]
        InstrumentationSystem.instrument.inject(context, into: &carrier, using: DictionaryInjector())
        guard let parent = carrier[TraceContextHeaders.traceParentHeader] else { return nil }
        return TraceContextHeaders(traceParent: parent, traceState: carrier[TraceContextHeaders.traceStateHeader])
    }

    /// An outgoing record's headers: `headers` without any trace context of their own,
    /// then `trace`'s. Without a trace they are left as they are: an original header
    /// that could not be read is still there to look at.
    static func replacingTrace(in headers: [KafkaHeader], with trace: TraceContextHeaders?) -> [KafkaHeader] {
        guard let trace else { return headers }
        let names = [TraceContextHeaders.traceParentHeader, TraceContextHeaders.traceStateHeader]
        var result = headers.filter { header in !names.contains { isNamed(header.key, $0) } }
        for header in trace.headers { result.append(KafkaHeader(key: header.key, value: header.value)) }
        return result
    }

    /// A producer span for a record that continues `trace`, and the trace context the
    /// record should carry: the span's, or `trace` itself with the no-op tracer.
    /// `describe` adds the caller's attributes; it runs only for a span that records.
    static func startPublishing(
        _ operation: String, topic: String, continuing trace: TraceContextHeaders?,
        describe: (inout SpanAttributes) -> Void = { _ in }
    ) -> (span: any Span, trace: TraceContextHeaders?) {
        let span = startSpan(operation, context: context(continuing: trace), ofKind: .producer)
        if span.isRecording {
            span.updateAttributes { attributes in
                attributes["messaging.system"] = "kafka"
                attributes["messaging.operation.type"] = "send"
                attributes["messaging.destination.name"] = topic
                describe(&attributes)
            }
        }
        return (span, headers(of: span.context) ?? trace)
    }

    /// Ends a span of `startPublishing` with the broker's answer.
    static func endPublishing(_ span: any Span, _ result: Result<KafkaDeliveryReport, KafkaError>) {
        if case .failure(let error) = result {
            span.recordError(error)
            span.setStatus(SpanStatus(code: .error))
        }
        span.end()
    }

    private struct HeadersExtractor: Extractor {
        func extract(key: String, from carrier: TraceContextHeaders) -> String? {
            switch key.lowercased() {
            case TraceContextHeaders.traceParentHeader: carrier.traceParent
            case TraceContextHeaders.traceStateHeader: carrier.traceState
            default: nil
            }
        }
    }

    private struct DictionaryInjector: Injector {
        func inject(_ value: String, forKey key: String, into carrier: inout [String: String]) {
            carrier[key.lowercased()] = value
        }
    }
}
