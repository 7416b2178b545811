/// A W3C Trace Context as it travels in headers and is kept with a reminder or a dead
/// letter: the `traceparent` value and, when there is one, the `tracestate` value. The
/// store keeps the text as given; whoever builds one checks it.
public struct TraceContextHeaders: Sendable, Equatable {
    public static let traceParentHeader = "traceparent"
    public static let traceStateHeader = "tracestate"

    public var traceParent: String
    public var traceState: String?

    public init(traceParent: String, traceState: String? = nil) {
        self.traceParent = traceParent
        self.traceState = traceState
    }

    /// The 32 hexadecimal digits of the trace id (`version-traceid-spanid-flags`).
    public var traceID: String? {
        let parts = traceParent.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count >= 4, parts[1].count == 32 else { return nil }
        return String(parts[1])
    }

    /// As headers of a Kafka record or an HTTP request.
    public var headers: [(key: String, value: String)] {
        var headers = [(key: Self.traceParentHeader, value: traceParent)]
        if let traceState, !traceState.isEmpty { headers.append((key: Self.traceStateHeader, value: traceState)) }
        return headers
    }

    /// The `traceparent` as its nullable column keeps it: an empty one is none.
    var storedTraceParent: String? { traceParent.isEmpty ? nil : traceParent }

    /// The `tracestate` as its nullable column keeps it: an empty one is none, as
    /// `headers` sends none then.
    var storedTraceState: String? { traceState?.isEmpty == false ? traceState : nil }

    /// From two nullable columns: nil when there is no `traceparent`.
    init?(traceParent: String?, traceState: String?) {
        guard let traceParent, !traceParent.isEmpty else { return nil }
        self.init(traceParent: traceParent, traceState: traceState)
    }
}
