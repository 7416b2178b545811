import Instrumentation
import Logging
import OTel
import ServiceLifecycle
import Tracing

/// Starts span export when tracing is configured: an OpenTelemetry tracer installed as
/// the process's tracer, and the service that batches and posts its spans (to run in
/// the service group, shut down last so the final spans leave). Without an endpoint the
/// process keeps the no-op tracer: spans are not even built.
public enum TracingBackend {
    /// The export service, or nil when tracing is off. Call once, before the services
    /// start.
    public static func bootstrap(_ settings: TracingSettings, logger: Logger) throws -> (any Service)? {
        guard let endpoint = settings.tracesEndpoint else { return nil }
        var configuration = OTel.Configuration.default
        configuration.serviceName = settings.serviceName
        // Metrics are Prometheus's and logs are the service's own JSON lines.
        configuration.metrics.enabled = false
        configuration.logs.enabled = false
        configuration.traces.enabled = true
        configuration.traces.exporter = .otlp
        configuration.traces.otlpExporter.endpoint = endpoint.absoluteString
        configuration.traces.otlpExporter.protocol = settings.wireFormat == .json ? .httpJSON : .httpProtobuf
        configuration.propagators = [.traceContext]
        // A collector that is away or slow costs a shutdown at most a few seconds (the
        // defaults, 10 s per request and 30 s per export, outlast SHUTDOWN_TIMEOUT_MS's
        // share); spans it does not take are dropped. OTEL_EXPORTER_OTLP_TIMEOUT and
        // OTEL_BSP_EXPORT_TIMEOUT override both.
        configuration.traces.otlpExporter.timeout = .seconds(3)
        configuration.traces.batchSpanProcessor.exportTimeout = .seconds(5)
        // The exporter's own complaints (a collector away) in the service's log format.
        configuration.diagnosticLogger = .custom(logger)
        configuration.diagnosticLogLevel = .warning
        let (tracer, service) = try OTel.makeTracingBackend(configuration: configuration)
        InstrumentationSystem.bootstrap(tracer)
        return service
    }

    /// Whether spans are built: false while the process has the no-op tracer.
    public static var isEnabled: Bool { !(InstrumentationSystem.tracer is NoOpTracer) }
}
