import Foundation
import TestSupport

/// The spans a `serve` process exported over OTLP/HTTP JSON to the test's receiver
/// (`ProviderSink` answers `{}` as a collector does), read back from what it recorded.
struct ExportedSpans {
    struct Span {
        let traceID: String
        let spanID: String
        let parentSpanID: String
        let name: String
        let attributes: [String: String]
        /// The trace ids of the spans it links to.
        let linkedTraceIDs: [String]
    }

    let spans: [Span]

    static func read(from sink: ProviderSink) async throws -> ExportedSpans {
        var spans: [Span] = []
        for request in try await sink.requests(path: "/v1/traces") {
            for resource in request.json?["resourceSpans"] as? [[String: Any]] ?? [] {
                for scope in resource["scopeSpans"] as? [[String: Any]] ?? [] {
                    for span in scope["spans"] as? [[String: Any]] ?? [] { spans.append(Self.span(span)) }
                }
            }
        }
        return ExportedSpans(spans: spans)
    }

    func named(_ name: String) -> [Span] { spans.filter { $0.name == name } }

    private static func span(_ object: [String: Any]) -> Span {
        var attributes: [String: String] = [:]
        for attribute in object["attributes"] as? [[String: Any]] ?? [] {
            guard let key = attribute["key"] as? String, let value = attribute["value"] as? [String: Any],
                let first = value.values.first
            else { continue }
            attributes[key] = "\(first)"
        }
        let links = (object["links"] as? [[String: Any]] ?? []).map { hex($0["traceId"]) }
        return Span(
            traceID: hex(object["traceId"]), spanID: hex(object["spanId"]), parentSpanID: hex(object["parentSpanId"]),
            name: object["name"] as? String ?? "", attributes: attributes, linkedTraceIDs: links)
    }

    /// OTLP JSON carries ids as hex; protobuf's JSON mapping of bytes is base64: either
    /// comes back as lower-case hex.
    static func hex(_ value: Any?) -> String {
        guard let text = value as? String, !text.isEmpty else { return "" }
        if text.count % 2 == 0, text.allSatisfy(\.isHexDigit), text.count == 16 || text.count == 32 {
            return text.lowercased()
        }
        guard let data = Data(base64Encoded: text) else { return text }
        return data.map { String(format: "%02x", $0) }.joined()
    }
}
