import Foundation
import NotificationService
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

    /// The service's environment in `docker-compose config`'s output, quotes removed.
    static func serviceEnvironment(_ config: String) -> [String: String] {
        var environment: [String: String] = [:]
        var inService = false
        var inEnvironment = false
        for line in config.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("  ") && !line.hasPrefix("   ") { inService = line == "  notification-service:" }
            if line.hasPrefix("    ") && !line.hasPrefix("     ") { inEnvironment = line == "    environment:" }
            guard inService, inEnvironment, line.hasPrefix("      "), let colon = line.firstIndex(of: ":") else {
                continue
            }
            let name = line[..<colon].trimmingCharacters(in: .whitespaces)
            var value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            if value.count >= 2, let first = value.first, first == "'" || first == "\"", value.last == first {
                value = String(value.dropFirst().dropLast())
            }
            environment[name] = value
        }
        return environment
    }

    /// Each provider's compose example (deploy/compose), given its values, yields an
    /// environment the service starts with, with the providers in the intended order.
    @Test(arguments: [
        (["email-ses.yml"], ["ses", "smtp"], [String]()),
        (["sms-twilio.yml"], ["smtp"], ["twilio"]),
        (["sms-twilio.yml", "sms-sns.yml"], ["smtp"], ["twilio", "sns"]),
        (["email-ses.yml", "sms-sns.yml"], ["ses", "smtp"], ["sns"]),
    ])
    func aProvidersComposeExampleStartsTheServiceWithIt(files: [String], email: [String], sms: [String]) async throws {
        let values = [
            "SES_FROM=reminders@example.org", "AWS_REGION=eu-west-1", "AWS_ACCESS_KEY_ID=AKIDEXAMPLE",
            "AWS_SECRET_ACCESS_KEY=example-secret", "SMS_ACCOUNT_SID=AC1", "SMS_AUTH_TOKEN=example-token",
            "SMS_FROM=+15550001111",
        ]
        let envFile = FileManager.default.temporaryDirectory.appendingPathComponent("compose-\(UUID()).env")
        try values.joined(separator: "\n").write(to: envFile, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: envFile) }
        let overrides = files.flatMap { ["-f", LocalStack.root.appendingPathComponent("deploy/compose/\($0)").path] }
        let (status, config) = try await compose(["--env-file", envFile.path] + overrides + ["config"])
        #expect(status == 0)
        var environment = Self.serviceEnvironment(config)
        #expect(environment["SMTP_HOST"] == "mailpit")
        environment["NOTIFICATION_MIGRATIONS_DIR"] = "/tmp"
        let settings = try ServiceSettings.fromEnvironment(environment)
        #expect(settings.delivery.emailProviders == email)
        #expect(settings.delivery.smsProviders == sms)
    }

    @Test func aComposeExampleWithoutItsSecretsStopsBeforeStarting() async throws {
        let example = LocalStack.root.appendingPathComponent("deploy/compose/email-ses.yml").path
        let envFile = FileManager.default.temporaryDirectory.appendingPathComponent("compose-\(UUID()).env")
        try "AWS_REGION=eu-west-1\n".write(to: envFile, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: envFile) }
        let (status, output) = try await CommandRun.run(
            "/usr/bin/docker-compose", ["--env-file", envFile.path, "-f", Self.composeFile, "-f", example, "config"])
        #expect(status != 0)
        #expect(output.contains("SES_FROM"), "\(output)")
    }
}
