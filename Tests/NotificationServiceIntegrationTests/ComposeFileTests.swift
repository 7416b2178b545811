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
        (["email-ses.yml"], ["ses", "smtp"], [String](), [String]()),
        (["email-sendgrid.yml"], ["sendgrid", "smtp"], [], []),
        (
            ["email-ses.yml", "email-sendgrid.yml"], ["ses", "sendgrid", "smtp"], [],
            ["EMAIL_PROVIDERS=ses,sendgrid,smtp"]
        ),
        (["sms-twilio.yml"], ["smtp"], ["twilio"], []),
        (["sms-twilio.yml", "sms-sns.yml"], ["smtp"], ["twilio", "sns"], []),
        (["email-ses.yml", "sms-sns.yml"], ["ses", "smtp"], ["sns"], []),
    ])
    func aProvidersComposeExampleStartsTheServiceWithIt(
        files: [String], email: [String], sms: [String], extra: [String]
    ) async throws {
        let values =
            [
                "SES_FROM=reminders@example.org", "AWS_REGION=eu-west-1", "AWS_ACCESS_KEY_ID=AKIDEXAMPLE",
                "AWS_SECRET_ACCESS_KEY=example-secret", "SMS_ACCOUNT_SID=AC1", "SMS_AUTH_TOKEN=example-token",
                "SMS_FROM=+15550001111", "SENDGRID_API_KEY=SG.example-key", "SENDGRID_FROM=reminders@example.org",
            ] + extra
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

    /// The push examples hand the key to the container as a secret file: with the file
    /// where compose mounts it, the service reads it and signs with it.
    @Test func thePushExamplesMountTheirKeysAsSecretsTheServiceReads() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("compose-keys-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        // Fresh keys, made by the venv's cryptography (never a committed key).
        let (made, _) = try await CommandRun.run(
            LocalStack.python,
            [
                "-c",
                """
                import json, sys
                from cryptography.hazmat.primitives import serialization
                from cryptography.hazmat.primitives.asymmetric import ec, rsa
                pkcs8 = lambda key: key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption()).decode()
                folder = sys.argv[1]
                json.dump({"type": "service_account", "project_id": "compose-project", "private_key_id": "k1",
                    "private_key": pkcs8(rsa.generate_private_key(public_exponent=65537, key_size=2048)),
                    "client_email": "push@compose-project.iam.gserviceaccount.com",
                    "token_uri": "https://oauth2.googleapis.com/token"}, open(folder + "/fcm.json", "w"))
                open(folder + "/apns.p8", "w").write(pkcs8(ec.generate_private_key(ec.SECP256R1())))
                """,
                folder.path,
            ])
        try #require(made == 0)
        let envFile = folder.appendingPathComponent("compose.env")
        try [
            "FCM_KEY_FILE=\(folder.path)/fcm.json", "APNS_KEY_PATH=\(folder.path)/apns.p8", "APNS_KEY_ID=ABCDE12345",
            "APNS_TEAM_ID=TEAM123456", "APNS_TOPIC=com.example.app",
        ].joined(separator: "\n").write(to: envFile, atomically: true, encoding: .utf8)
        let overrides = ["push-fcm.yml", "push-apns.yml"].flatMap {
            ["-f", LocalStack.root.appendingPathComponent("deploy/compose/\($0)").path]
        }
        let (status, config) = try await compose(["--env-file", envFile.path] + overrides + ["config"])
        #expect(status == 0)
        #expect(config.contains("file: \(folder.path)/fcm.json") && config.contains("file: \(folder.path)/apns.p8"))
        var environment = Self.serviceEnvironment(config)
        // Nothing of a key is in the environment: only where its file is.
        #expect(environment["FCM_SERVICE_ACCOUNT_FILE"] == "/run/secrets/fcm-service-account.json")
        #expect(environment["APNS_KEY_FILE"] == "/run/secrets/apns-key.p8")
        #expect(!environment.values.contains { $0.contains("PRIVATE KEY") })
        // Where compose mounts them, the service reads them.
        environment["FCM_SERVICE_ACCOUNT_FILE"] = "\(folder.path)/fcm.json"
        environment["APNS_KEY_FILE"] = "\(folder.path)/apns.p8"
        environment["NOTIFICATION_MIGRATIONS_DIR"] = "/tmp"
        let delivery = try ServiceSettings.fromEnvironment(environment).delivery
        #expect(delivery.fcm?.projectID == "compose-project")
        #expect(delivery.apns?.topic == "com.example.app")
    }
}
