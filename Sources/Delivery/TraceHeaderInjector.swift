import Instrumentation
import NIOHTTP1

/// Writes trace context headers (`traceparent`, `tracestate`) into an HTTP request.
struct TraceHeaderInjector: Injector {
    func inject(_ value: String, forKey key: String, into carrier: inout HTTPHeaders) {
        carrier.replaceOrAdd(name: key, value: value)
    }
}
