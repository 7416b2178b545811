import Foundation
import TestSupport
import Testing

/// docker-compose.yml cannot run here (no Docker engine), but it must stay valid:
/// Debian's docker-compose checks a file without an engine.
@Suite struct ComposeFileTests {
    static let composeFile = LocalStack.root.appendingPathComponent("docker-compose.yml").path

    /// The tool's exit status and standard output.
    private func compose(_ arguments: [String]) async throws -> (Int32, String) {
        try await CommandRun.run("/usr/bin/docker-compose", ["-f", Self.composeFile] + arguments, mergingErrors: false)
    }

    @Test func theComposeFileIsValidAndRunsEveryPart() async throws {
        try #require(
            FileManager.default.isExecutableFile(atPath: "/usr/bin/docker-compose"),
            "scripts/setup.sh installs Debian's docker-compose")
        let (status, _) = try await compose(["config", "-q"])
        #expect(status == 0)
        let (listed, services) = try await compose(["config", "--services"])
        #expect(listed == 0)
        #expect(
            Set(services.split(separator: "\n").map(String.init))
                == [
                    "kafka", "kafka-topics", "postgres", "mailpit", "notification-service", "jaeger", "prometheus",
                    "grafana",
                ])
    }

    @Test func theServiceIsBuiltFromTheDockerfileAndReachesTheOthersByName() async throws {
        let (status, text) = try await compose(["config"])
        #expect(status == 0)
        #expect(text.contains("KAFKA_BOOTSTRAP_SERVERS: kafka:19092"))
        #expect(text.contains("@postgres:5432/notification"))
        // The API is reachable from the host, and the service is healthy when ready.
        #expect(text.contains("HTTP_HOST: 0.0.0.0"))
        #expect(text.contains("/health/ready"))
        // Its spans go to Jaeger's OTLP/HTTP receiver.
        #expect(text.contains("OTEL_EXPORTER_OTLP_ENDPOINT: http://jaeger:4318"))
        #expect(text.contains("COLLECTOR_OTLP_ENABLED"))
        #expect(FileManager.default.fileExists(atPath: LocalStack.root.appendingPathComponent("Dockerfile").path))
    }

    @Test func prometheusAndGrafanaServeOnLoopbackWithTheRepositorysConfiguration() async throws {
        let (status, text) = try await compose(["config"])
        #expect(status == 0)
        #expect(text.contains("127.0.0.1:9090:9090"))
        #expect(text.contains("127.0.0.1:3000:3000"))
        for mount in [
            "deploy/prometheus/prometheus.yml:/etc/prometheus/prometheus.yml:ro",
            "deploy/prometheus/alerts.yml:/etc/prometheus/alerts.yml:ro",
            "deploy/grafana/provisioning/datasources:/etc/grafana/provisioning/datasources:ro",
            "deploy/grafana/provisioning/dashboards:/etc/grafana/provisioning/dashboards:ro",
            "deploy/grafana/notification-service.json:/var/lib/grafana/dashboards/notification-service.json:ro",
        ] {
            #expect(text.contains(mount), "mounts \(mount)")
            let file = String(mount.prefix { $0 != ":" })
            #expect(FileManager.default.fileExists(atPath: LocalStack.root.appendingPathComponent(file).path))
        }
    }
}
