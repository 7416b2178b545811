import Foundation

/// Where spans go: OTLP over HTTP to a collector when an endpoint is configured, with
/// the OpenTelemetry variables' usual names and meaning. Without an endpoint (or with
/// `OTEL_SDK_DISABLED=true` or `OTEL_TRACES_EXPORTER=none`) nothing is exported and the
/// spans cost nothing; a `traceparent` the events carry is still kept and passed on.
public struct TracingSettings: Sendable, CustomStringConvertible {
    public enum WireFormat: String, Sendable {
        case protobuf = "http/protobuf"
        case json = "http/json"
    }

    /// The URL spans are posted to; nil when tracing is off.
    public var tracesEndpoint: URL?
    public var wireFormat: WireFormat
    /// `service.name` of every span (`OTEL_SERVICE_NAME`).
    public var serviceName: String

    public var enabled: Bool { tracesEndpoint != nil }

    /// The endpoint's scheme, host and port only: its path or query may hold a key.
    public var description: String {
        guard let tracesEndpoint else { return "tracing off" }
        var shown = URLComponents()
        shown.scheme = tracesEndpoint.scheme
        shown.host = tracesEndpoint.host
        shown.port = tracesEndpoint.port
        return "tracing to \(shown.string ?? "?") (\(wireFormat.rawValue))"
    }

    public init(
        tracesEndpoint: URL? = nil, wireFormat: WireFormat = .protobuf, serviceName: String = "notification-service"
    ) {
        self.tracesEndpoint = tracesEndpoint
        self.wireFormat = wireFormat
        self.serviceName = serviceName
    }

    init(_ reader: EnvironmentReader) throws {
        let disabled = try reader.flag("OTEL_SDK_DISABLED", false)
        let exporter = reader.value("OTEL_TRACES_EXPORTER", "otlp").lowercased()
        guard ["otlp", "none"].contains(exporter) else {
            throw ServiceSettings.Invalid(
                variable: "OTEL_TRACES_EXPORTER", message: "must be otlp or none, not \"\(exporter)\"")
        }
        let formatVariable =
            reader.optional("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") != nil
            ? "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL" : "OTEL_EXPORTER_OTLP_PROTOCOL"
        let formatText = reader.value(formatVariable, WireFormat.protobuf.rawValue)
        guard let wireFormat = WireFormat(rawValue: formatText) else {
            throw ServiceSettings.Invalid(
                variable: formatVariable,
                message: "must be http/protobuf or http/json (OTLP over gRPC is not built in), not \"\(formatText)\"")
        }
        var endpoint: URL?
        if let full = reader.optional("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") {
            endpoint = try Self.endpoint(full, variable: "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        } else if let base = reader.optional("OTEL_EXPORTER_OTLP_ENDPOINT") {
            // The shared endpoint is a base URL; traces go to its /v1/traces.
            let checked = try Self.endpoint(base, variable: "OTEL_EXPORTER_OTLP_ENDPOINT")
            endpoint = checked.appendingPathComponent("v1").appendingPathComponent("traces")
        }
        self.init(
            tracesEndpoint: disabled || exporter == "none" ? nil : endpoint, wireFormat: wireFormat,
            serviceName: reader.value("OTEL_SERVICE_NAME", "notification-service"))
    }

    private static func endpoint(_ text: String, variable: String) throws -> URL {
        guard let url = EnvironmentReader.httpURL(text) else {
            // The value is not shown: a collector's URL may carry a key.
            throw ServiceSettings.Invalid(variable: variable, message: "must be an http:// or https:// URL with a host")
        }
        return url
    }
}
