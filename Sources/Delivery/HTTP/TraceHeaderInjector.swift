import Instrumentation
import NIOHTTP1

/// Writes the `traceparent` header into a request to a receiver outside the service:
/// only that. The `tracestate` a publisher passed in may carry its vendors' or tenants'
/// data, which is not the receiver's.
struct TraceHeaderInjector: Injector {
    func inject(_ value: String, forKey key: String, into carrier: inout HTTPHeaders) {
        guard key.lowercased() == "traceparent" else { return }
        carrier.replaceOrAdd(name: key, value: value)
    }
}
