import Crypto
import Foundation
import NotificationService
import Testing
import _CryptoExtras

@Suite struct ServiceSettingsTests {
    private let base = ["NOTIFICATION_MIGRATIONS_DIR": "/tmp"]

    @Test func defaultsPointAtTheLocalStack() throws {
        let settings = try ServiceSettings.fromEnvironment(base)
        #expect(settings.kafka.bootstrapServers == ["127.0.0.1:9092"])
        #expect(settings.groupID == "notification-service")
        #expect(settings.remindersTopic == "reminders")
        #expect(settings.deadLetterTopic == "reminders.dlq")
        #expect(settings.statusTopic == "reminders.status" && settings.statusEvents && settings.statusRelayEnabled)
        #expect(settings.database.port == 5432)
        #expect(settings.batchSize == 2_500)
        #expect(settings.batchBytes == 4 << 20)
        #expect(settings.consumerReadAhead == 5_000)
        #expect(settings.consumerReadAheadBytes == 16 << 20)
        #expect(settings.pipelineConfiguration.batchBytes == 4 << 20)
        #expect(settings.lanes == 2)
        #expect(settings.dispatch.webhookBreakers == 1_000)
    }

    @Test func ingestsPoolReachesTheSameDatabaseWithAConnectionForEachLane() throws {
        let settings = try ServiceSettings.fromEnvironment(
            base.merging(["INGEST_LANES": "3", "DATABASE_URL": "postgres://u:p@127.0.0.1:6432/reminders"]) { $1 })
        #expect(settings.database.maximumConnections == 8)
        #expect(settings.ingestDatabase.maximumConnections == 3)
        #expect(settings.ingestDatabase.description == settings.database.description)
        #expect(settings.ingestDatabase.password == "p")
    }

    @Test(arguments: [
        ("KAFKA_BOOTSTRAP_SERVERS", "localhost"),
        ("DATABASE_URL", "mysql://x@y/z"),
        ("KAFKA_SESSION_TIMEOUT_MS", "soon"),
        ("INGEST_COMMIT_INTERVAL_MS", "0"),
        ("INGEST_BATCH_SIZE", "-1"),
        ("INGEST_BATCH_BYTES", "65536"),
        ("INGEST_BATCH_BYTES", "4MiB"),
        ("INGEST_LINGER_MS", "99999999"),
        ("INGEST_LANES", "0"),
        ("DEAD_LETTER_TOPIC", "reminders"),
        ("STATUS_TOPIC", "reminders"),
        ("STATUS_TOPIC", "reminders.dlq"),
        ("STATUS_EVENTS", "often"),
        ("DISPATCH_ENABLED", "maybe"),
        ("INGEST_ENABLED", "sometimes"),
        ("DISPATCH_CONCURRENCY", "0"),
        ("DISPATCH_LEASE_MS", "5000"),
        ("RETRY_JITTER", "2"),
        ("EMAIL_RETRY_MAX_ATTEMPTS", "0"),
        ("BREAKER_FAILURE_THRESHOLD", "none"),
        ("WEBHOOK_BREAKERS_MAX", "0"),
        ("WEBHOOK_BREAKERS_MAX", "many"),
        ("WEBHOOK_SIGNING_SECRET", "short"),
        ("SMTP_STARTTLS", "sometimes"),
        ("SMTP_MAX_CONNECTIONS", "0"),
        ("SMTP_MAX_CONNECTIONS", "1001"),
        ("FCM_BASE_URL", "ftp://fcm"),
        ("SENDGRID_BASE_URL", "api.sendgrid.com"),
        ("SENDGRID_RATE_LIMIT", "0"),
        ("HTTP_PROVIDER_CA_FILE", "/nonexistent/ca.pem"),
        ("TWILIO_RATE_LIMIT", "-3"),
        ("SMS_RATE_LIMIT", "5"),
        ("EMAIL_PROVIDERS", "smtp"),
        ("EMAIL_PROVIDERS", "twilio"),
        ("SMS_PROVIDERS", "carrier-pigeon"),
        ("RATE_LIMIT_INSTANCES", "0"),
        ("HTTP_PORT", "70000"),
        ("HTTP_ENABLED", "perhaps"),
        ("API_TOKEN", "too-short"),
        ("API_TOKEN", "sixteen or more but with spaces"),
        ("READY_ASSIGNMENT_GRACE_MS", "-1"),
        ("ERASURE_WAIT_MS", "later"),
        ("RETENTION_ENABLED", "rarely"),
        ("RETENTION_REMINDERS_DAYS", "0"),
        ("RETENTION_DEAD_LETTERS_DAYS", "a month"),
        ("RETENTION_STATUS_EVENTS_DAYS", "-1"),
        ("RETENTION_INBOX_DAYS", "3"),
        ("RETENTION_MODE", "shred"),
        ("RETENTION_BATCH_SIZE", "0"),
        ("RETENTION_INTERVAL_MS", "1"),
        ("RETENTION_STATEMENT_TIMEOUT_MS", "10"),
        ("KAFKA_PROPERTY_NOT_A_PROPERTY", "1"),
        ("KAFKA_PROPERTY_SECURITY_PROTOCOL", "carrier-pigeon"),
        ("KAFKA_PROPERTY_", "x"),
        ("KAFKA_PROPERTY_ENABLE_AUTO_COMMIT", "true"),
        ("KAFKA_PROPERTY_ACKS", "1"),
        ("KAFKA_PROPERTY_GROUP_ID", "other"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4318"),
        ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "ftp://collector/v1/traces"),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
        ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "thrift"),
        ("OTEL_TRACES_EXPORTER", "zipkin"),
        ("OTEL_SDK_DISABLED", "kind of"),
    ])
    func aBadValueStopsStartUpNamingTheVariable(variable: String, value: String) {
        var environment = base
        environment[variable] = value
        let error = #expect(throws: ServiceSettings.Invalid.self) { try ServiceSettings.fromEnvironment(environment) }
        #expect(error?.variable == variable)
        #expect(error?.description.hasPrefix(variable) == true)
    }

    @Test func eachChannelsProvidersAreTriedInTheOrderGivenEachConfiguredOnce() throws {
        let smtp = ["SMTP_HOST": "127.0.0.1", "SMTP_FROM": "reminders@example.org"]
        let twilio = ["SMS_ACCOUNT_SID": "AC1", "SMS_AUTH_TOKEN": "secret-token", "SMS_FROM": "+15550001111"]
        let both = base.merging(smtp) { $1 }.merging(twilio) { $1 }
        // By default every configured provider of a channel, none for a channel without.
        let defaults = try ServiceSettings.fromEnvironment(both).delivery
        #expect(defaults.emailProviders == ["smtp"] && defaults.smsProviders == ["twilio"])
        let none = try ServiceSettings.fromEnvironment(base).delivery
        #expect(none.emailProviders.isEmpty && none.smsProviders.isEmpty)
        #expect(
            try ServiceSettings.fromEnvironment(both.merging(["SMS_PROVIDERS": " Twilio "]) { $1 })
                .delivery.smsProviders == ["twilio"])
        for (variable, value, says) in [
            ("EMAIL_PROVIDERS", "smtp,smtp", "lists smtp twice"),
            ("EMAIL_PROVIDERS", "smtp,", "\"\" is not an email provider"),
            ("SMS_PROVIDERS", "sms", "\"sms\" is not an SMS provider"),
        ] {
            let error = #expect(throws: ServiceSettings.Invalid.self) {
                try ServiceSettings.fromEnvironment(both.merging([variable: value]) { $1 })
            }
            #expect(error?.variable == variable)
            #expect(error?.description.contains(says) == true, "\(error?.description ?? "")")
        }
        // A provider listed but not configured is named with the variable that turns it on.
        let error = #expect(throws: ServiceSettings.Invalid.self) {
            try ServiceSettings.fromEnvironment(base.merging(["SMS_PROVIDERS": "twilio"]) { $1 })
        }
        #expect(error?.description.contains("SMS_ACCOUNT_SID is not set") == true)
        // The old per-channel SMS limit names its replacement.
        let renamed = #expect(throws: ServiceSettings.Invalid.self) {
            try ServiceSettings.fromEnvironment(both.merging(["SMS_RATE_BURST": "5"]) { $1 })
        }
        #expect(renamed?.description.contains("TWILIO_RATE_BURST") == true)
    }

    @Test func retentionKeepsAMonthOfRemindersAndInboxKeysAndNoPublishedStatusRecordsByDefault() throws {
        let retention = try ServiceSettings.fromEnvironment([:]).retention
        #expect(retention.enabled)
        #expect(retention.policy.reminders == .seconds(30 * 86_400))
        #expect(retention.policy.deadLetters == .seconds(30 * 86_400))
        #expect(retention.policy.inbox == .seconds(30 * 86_400))
        #expect(retention.policy.statusEvents == .zero)
        #expect(!retention.keepsPublishedStatusEvents)
        #expect(!retention.policy.keepHistory)
        #expect(retention.interval == .seconds(60))
        let short = try ServiceSettings.fromEnvironment([
            "RETENTION_REMINDERS_DAYS": "0.001", "RETENTION_INBOX_DAYS": "0.002",
            "REMINDERS_TOPIC_RETENTION_DAYS": "0.002",
            "RETENTION_MODE": "redact", "RETENTION_DEAD_LETTERS_DAYS": "forever",
        ]).retention.policy
        #expect(short.reminders == .milliseconds(86_400))
        #expect(short.inbox == .milliseconds(172_800))
        #expect(short.deadLetters == nil)
        #expect(short.keepHistory)
        for (days, kept) in [("7", Duration.seconds(7 * 86_400)), ("forever", nil), ("0.5", .seconds(43_200))] {
            let retention = try ServiceSettings.fromEnvironment(["RETENTION_STATUS_EVENTS_DAYS": days]).retention
            #expect(retention.policy.statusEvents == kept, "\(days)")
            #expect(retention.keepsPublishedStatusEvents, "\(days)")
        }
    }

    @Test func anInboxWindowShorterThanTheTopicCanRedeliverIsRefusedSayingWhy() {
        for environment in [
            ["RETENTION_INBOX_DAYS": "6"],
            ["RETENTION_INBOX_DAYS": "10", "REMINDERS_TOPIC_RETENTION_DAYS": "14"],
            ["REMINDERS_TOPIC_RETENTION_DAYS": "forever"],
        ] {
            #expect {
                try ServiceSettings.fromEnvironment(environment)
            } throws: { error in
                let invalid = error as? ServiceSettings.Invalid
                return invalid?.variable == "RETENTION_INBOX_DAYS"
                    && invalid?.message.contains("REMINDERS_TOPIC_RETENTION_DAYS") == true
                    && invalid?.message.contains("create its reminder again") == true
            }
        }
        #expect(
            (try? ServiceSettings.fromEnvironment([
                "REMINDERS_TOPIC_RETENTION_DAYS": "forever", "RETENTION_INBOX_DAYS": "forever",
            ]))?.retention.policy.inbox == .some(nil))
    }

    @Test func outcomesHeldAtShutdownAreGivenUpWithinHalfTheShutdownsLimitAMinuteAtMost() throws {
        #expect(try ServiceSettings.fromEnvironment(base).dispatch.dispatcher.recordGiveUp == .seconds(15))
        let long = base.merging(["SHUTDOWN_TIMEOUT_MS": "600000"]) { $1 }
        #expect(try ServiceSettings.fromEnvironment(long).dispatch.dispatcher.recordGiveUp == .seconds(60))
    }

    @Test func librdkafkaPropertiesArePassedThroughByName() throws {
        var environment = base
        environment["KAFKA_PROPERTY_SECURITY_PROTOCOL"] = "SASL_SSL"
        environment["KAFKA_PROPERTY_SASL_MECHANISMS"] = "PLAIN"
        environment["KAFKA_PROPERTY_SASL_PASSWORD"] = "pa55word"
        let settings = try ServiceSettings.fromEnvironment(environment)
        #expect(
            settings.kafka.properties
                == ["security.protocol": "SASL_SSL", "sasl.mechanisms": "PLAIN", "sasl.password": "pa55word"])
        #expect(!settings.kafka.description.contains("pa55word"))
    }

    /// The consumer bounds librdkafka's read-ahead to about a batch in messages and half of
    /// one in bytes, and fetches again soon after ingest makes room; a pass-through
    /// property of the same name wins.
    @Test func theConsumerBoundsItsReadAheadAndRefillsItPromptly() throws {
        let settings = try ServiceSettings.fromEnvironment(base)
        #expect(settings.consumerClient.properties["queued.min.messages"] == "2500")
        #expect(settings.consumerClient.properties["queued.max.messages.kbytes"] == "2048")
        var sized = base
        sized["INGEST_BATCH_SIZE"] = "800"
        sized["INGEST_BATCH_BYTES"] = "3145728"
        let sizedSettings = try ServiceSettings.fromEnvironment(sized)
        #expect(sizedSettings.consumerClient.properties["queued.min.messages"] == "800")
        #expect(sizedSettings.consumerClient.properties["queued.max.messages.kbytes"] == "1536")
        #expect(settings.consumerClient.properties["fetch.queue.backoff.ms"] == "20")
        #expect(settings.kafka.properties["fetch.queue.backoff.ms"] == nil, "the producer's client is left alone")
        var environment = base
        environment["KAFKA_PROPERTY_FETCH_QUEUE_BACKOFF_MS"] = "250"
        let chosen = try ServiceSettings.fromEnvironment(environment)
        #expect(chosen.consumerClient.properties["fetch.queue.backoff.ms"] == "250")
    }

    @Test func aRefusedPropertyValueIsNotShown() {
        var environment = base
        environment["KAFKA_PROPERTY_SECURITY_PROTOCOL"] = "s3cret-protocol"
        let error = #expect(throws: ServiceSettings.Invalid.self) { try ServiceSettings.fromEnvironment(environment) }
        #expect(error?.variable == "KAFKA_PROPERTY_SECURITY_PROTOCOL")
        #expect(error?.description.contains("s3cret") == false)
    }

    @Test func theAPIDefaultsToLoopbackWithTheV1EndpointsOff() throws {
        let settings = try ServiceSettings.fromEnvironment(base)
        #expect(settings.api.enabled)
        #expect(settings.api.host == "127.0.0.1")
        #expect(settings.api.port == 8080)
        #expect(settings.api.token == nil)
        #expect(settings.api.assignmentGrace == .seconds(60))
        let withToken = try ServiceSettings.fromEnvironment(base.merging(["API_TOKEN": "t0ken-never-shown-1"]) { $1 })
        #expect(withToken.api.token == "t0ken-never-shown-1")
        #expect(!"\(withToken)".contains("t0ken-never-shown-1"))
    }

    @Test func theDatabasePasswordNeverShows() throws {
        var environment = base
        environment["DATABASE_URL"] = "postgres://svc:s3cret@db:5432/app"
        let settings = try ServiceSettings.fromEnvironment(environment)
        #expect(!settings.database.description.contains("s3cret"))
    }

    @Test(arguments: [
        (["SMTP_HOST": "mail.example.org"], "SMTP_FROM"),
        (["FCM_PROJECT_ID": "p"], "FCM_ACCESS_TOKEN"),
        (["APNS_TOPIC": "com.example"], "APNS_AUTH_TOKEN"),
        (["SMS_ACCOUNT_SID": "AC1", "SMS_AUTH_TOKEN": "t"], "SMS_FROM"),
        (["SMTP_HOST": "mail.example.org", "SMTP_FROM": "a@example.org", "SMTP_USERNAME": "u"], "SMTP_PASSWORD"),
        (["SMTP_HOST": "mail example", "SMTP_FROM": "a@example.org"], "SMTP_HOST"),
        (["SENDGRID_API_KEY": "SG.k3y-never-shown"], "SENDGRID_FROM"),
        (["SENDGRID_API_KEY": "SG.k3y-never-shown", "SENDGRID_FROM": "reminders"], "SENDGRID_FROM"),
        (
            ["SENDGRID_API_KEY": "SG.k3y-never-shown", "SENDGRID_FROM": "a@example.org", "SENDGRID_FROM_NAME": "A\nB"],
            "SENDGRID_FROM_NAME"
        ),
        (["SENDGRID_API_KEY": "SG.k3y never-shown", "SENDGRID_FROM": "a@example.org"], "SENDGRID_API_KEY"),
    ])
    func aProviderMissingASettingNamesIt(given: [String: String], missing: String) {
        let environment = base.merging(given) { $1 }
        let error = #expect(throws: ServiceSettings.Invalid.self) { try ServiceSettings.fromEnvironment(environment) }
        #expect(error?.variable == missing)
        #expect(error.map { !"\($0)".contains("k3y") } == true, "the SendGrid key never shows")
    }

    @Test func sendGridIsReadFromTheEnvironmentAndItsKeyNeverShows() throws {
        let settings = try ServiceSettings.fromEnvironment(
            base.merging([
                "SENDGRID_API_KEY": "SG.k3y-never-shown", "SENDGRID_FROM": "reminders@example.org",
                "SENDGRID_FROM_NAME": "Rappels", "SENDGRID_RATE_LIMIT": "100",
            ]) { $1 })
        let sendGrid = try #require(settings.delivery.sendGrid)
        #expect(sendGrid.baseURL == "https://api.sendgrid.com")
        #expect(sendGrid.apiKey == "SG.k3y-never-shown")
        #expect(sendGrid.fromAddress == "reminders@example.org" && sendGrid.fromName == "Rappels")
        #expect(settings.delivery.rateLimits["sendgrid"] == .init(rate: 100, burst: 100))
        #expect(!"\(sendGrid)".contains("k3y"))
        #expect(!"\(settings.delivery)".contains("k3y"))
        let own = try ServiceSettings.fromEnvironment(
            base.merging([
                "SENDGRID_API_KEY": "SG.k3y", "SENDGRID_FROM": "r@example.org",
                "SENDGRID_BASE_URL": "http://127.0.0.1:8025",
            ]) { $1 })
        #expect(own.delivery.sendGrid?.baseURL == "http://127.0.0.1:8025")
        #expect(try ServiceSettings.fromEnvironment(base).delivery.sendGrid == nil)
    }

    @Test func providersAndPoliciesAreReadFromTheEnvironment() throws {
        let settings = try ServiceSettings.fromEnvironment(
            base.merging([
                "SMTP_HOST": "mail.example.org", "SMTP_FROM": "reminders@example.org", "SMTP_STARTTLS": "opportunistic",
                "SMTP_MAX_CONNECTIONS": "12", "WEBHOOK_SIGNING_SECRET": "0123456789abcdef",
                "WEBHOOK_ALLOW_LOOPBACK": "true",
                "RETRY_INITIAL_MS": "1000", "WEBHOOK_RETRY_MAX_ATTEMPTS": "3", "WEBHOOK_RATE_LIMIT": "50",
                "WEBHOOK_BREAKERS_MAX": "50",
            ]) { $1 })
        #expect(settings.delivery.smtp?.startTLS == .opportunistic)
        #expect(settings.delivery.smtp?.maxConnections == 12)
        #expect(
            try ServiceSettings.fromEnvironment(
                base.merging(["SMTP_HOST": "mail.example.org", "SMTP_FROM": "r@example.org"]) { $1 }
            )
            .delivery.smtp?.maxConnections == 32)
        #expect(settings.delivery.webhook?.destinations.allowLoopback == true)
        #expect(settings.delivery.fcm == nil && settings.delivery.sms == nil)
        #expect(settings.dispatch.defaultRetry.initialDelay == .seconds(1))
        #expect(settings.dispatch.retryPolicies["webhook"]?.maximumAttempts == 3)
        #expect(settings.dispatch.retryPolicies["webhook"]?.initialDelay == .seconds(1))
        #expect(settings.dispatch.retryPolicies["email"] == nil)
        #expect(settings.delivery.rateLimits["webhook"] == .init(rate: 50, burst: 50))
        #expect(settings.dispatch.webhookBreakers == 50)
        #expect(settings.delivery.rateLimitInstances == 1)
    }

    @Test func eachPartCanBeSwitchedOffButNotAllOfThem() throws {
        let dispatchOnly = try ServiceSettings.fromEnvironment(
            base.merging(["INGEST_ENABLED": "false", "DEAD_LETTER_RELAY_ENABLED": "off"]) { $1 })
        #expect(!dispatchOnly.ingestEnabled && !dispatchOnly.relayEnabled && dispatchOnly.dispatch.enabled)
        let ingestOnly = try ServiceSettings.fromEnvironment(base.merging(["DISPATCH_ENABLED": "0"]) { $1 })
        #expect(ingestOnly.ingestEnabled && ingestOnly.relayEnabled && !ingestOnly.dispatch.enabled)
        let nothing = base.merging(
            ["INGEST_ENABLED": "false", "DEAD_LETTER_RELAY_ENABLED": "false", "DISPATCH_ENABLED": "false"]) { $1 }
        let error = #expect(throws: ServiceSettings.Invalid.self) { try ServiceSettings.fromEnvironment(nothing) }
        #expect(error?.variable == "INGEST_ENABLED")
    }

    @Test func tracingIsOffUntilAnOTLPEndpointIsSet() throws {
        #expect(try ServiceSettings.fromEnvironment(base).tracing.enabled == false)
        var environment = base
        environment["OTEL_EXPORTER_OTLP_ENDPOINT"] = "https://collector.internal:4318/otlp"
        let shared = try ServiceSettings.fromEnvironment(environment).tracing
        #expect(shared.tracesEndpoint?.absoluteString == "https://collector.internal:4318/otlp/v1/traces")
        #expect(shared.wireFormat == .protobuf)
        #expect(shared.serviceName == "notification-service")

        environment["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"] = "http://127.0.0.1:4318/custom?key=secret-key"
        environment["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/json"
        environment["OTEL_SERVICE_NAME"] = "reminders-eu"
        let own = try ServiceSettings.fromEnvironment(environment).tracing
        #expect(own.tracesEndpoint?.absoluteString == "http://127.0.0.1:4318/custom?key=secret-key")
        #expect(own.wireFormat == .json)
        #expect(own.serviceName == "reminders-eu")
        #expect(!"\(own)".contains("secret-key"), "the endpoint's query is not shown")

        environment["OTEL_TRACES_EXPORTER"] = "none"
        #expect(try ServiceSettings.fromEnvironment(environment).tracing.enabled == false)
        environment["OTEL_TRACES_EXPORTER"] = "otlp"
        environment["OTEL_SDK_DISABLED"] = "true"
        #expect(try ServiceSettings.fromEnvironment(environment).tracing.enabled == false)
    }

    // MARK: Push keys

    /// A folder with push key files made for the test, removed afterwards.
    struct KeyFolder {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("ns-push-keys-\(UUID())")

        init() throws {
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        }

        func write(_ name: String, _ text: String) throws -> String {
            let path = url.appendingPathComponent(name).path
            try Data(text.utf8).write(to: URL(fileURLWithPath: path))
            return path
        }

        func remove() { try? FileManager.default.removeItem(at: url) }

        static let rsaPEM = try! _RSA.Signing.PrivateKey(keySize: .bits2048).pkcs8PEMRepresentation

        func serviceAccount(privateKey: String = rsaPEM) throws -> String {
            let document: [String: Any] = [
                "type": "service_account", "project_id": "key-project", "private_key_id": "0123abcd",
                "private_key": privateKey, "client_email": "push@key-project.iam.gserviceaccount.com",
                "token_uri": "https://oauth2.googleapis.com/token",
            ]
            return try write(
                "account-\(UUID()).json",
                String(decoding: try JSONSerialization.data(withJSONObject: document), as: UTF8.self))
        }
    }

    @Test func fcmTakesItsProjectFromTheServiceAccountKeyUnlessOneIsSet() throws {
        let folder = try KeyFolder()
        defer { folder.remove() }
        var environment = base
        environment["FCM_SERVICE_ACCOUNT_FILE"] = try folder.serviceAccount()
        let settings = try ServiceSettings.fromEnvironment(environment)
        let fcm = try #require(settings.delivery.fcm)
        #expect(fcm.projectID == "key-project")
        #expect(!"\(fcm)".contains("PRIVATE KEY") && !"\(fcm)".contains("push@"))
        #expect(!"\(settings)".contains("push@"), "the settings as a whole show nothing of the key either")
        environment["FCM_PROJECT_ID"] = "other-project"
        #expect(try ServiceSettings.fromEnvironment(environment).delivery.fcm?.projectID == "other-project")
    }

    @Test func apnsSignsWithAP8KeyFile() throws {
        let folder = try KeyFolder()
        defer { folder.remove() }
        let pem = P256.Signing.PrivateKey().pemRepresentation
        let environment = base.merging([
            "APNS_TOPIC": "com.example.app", "APNS_KEY_FILE": try folder.write("AuthKey.p8", pem),
            "APNS_KEY_ID": "ABCDE12345", "APNS_TEAM_ID": "TEAM123456",
        ]) { $1 }
        let settings = try ServiceSettings.fromEnvironment(environment)
        let apns = try #require(settings.delivery.apns)
        #expect(apns.topic == "com.example.app")
        #expect("\(apns)".contains("ABCDE12345") && !"\(apns)".contains("PRIVATE KEY"))
        // A fixed development token is not shown either.
        let fixed = try ServiceSettings.fromEnvironment(
            base.merging(["APNS_TOPIC": "com.example.app", "APNS_AUTH_TOKEN": "dev-provider-token"]) { $1 })
        #expect(!"\(fixed)".contains("dev-provider-token"))
    }

    @Test func aBadPushKeySettingStopsStartUpNamingItAndQuotingNoKey() throws {
        let folder = try KeyFolder()
        defer { folder.remove() }
        let p256 = P256.Signing.PrivateKey().pemRepresentation
        let apns = [
            "APNS_TOPIC": "com.example.app", "APNS_KEY_FILE": try folder.write("AuthKey.p8", p256),
            "APNS_KEY_ID": "ABCDE12345", "APNS_TEAM_ID": "TEAM123456",
        ]
        let cases: [([String: String], String)] = [
            (["FCM_SERVICE_ACCOUNT_FILE": "/nonexistent/account.json"], "FCM_SERVICE_ACCOUNT_FILE"),
            (
                ["FCM_SERVICE_ACCOUNT_FILE": try folder.write("bad.json", "{\"private_key\": ")],
                "FCM_SERVICE_ACCOUNT_FILE"
            ),
            (["FCM_SERVICE_ACCOUNT_FILE": try folder.serviceAccount(privateKey: p256)], "FCM_SERVICE_ACCOUNT_FILE"),
            (["FCM_SERVICE_ACCOUNT_FILE": try folder.serviceAccount(), "FCM_ACCESS_TOKEN": "t"], "FCM_ACCESS_TOKEN"),
            (apns.merging(["APNS_KEY_FILE": "/nonexistent/AuthKey.p8"]) { $1 }, "APNS_KEY_FILE"),
            (
                apns.merging(["APNS_KEY_FILE": try folder.write("p384.p8", P384.Signing.PrivateKey().pemRepresentation)]
                ) {
                    $1
                }, "APNS_KEY_FILE"
            ),
            (apns.merging(["APNS_KEY_FILE": try folder.write("rsa.p8", KeyFolder.rsaPEM)]) { $1 }, "APNS_KEY_FILE"),
            (apns.merging(["APNS_KEY_ID": "ABC"]) { $1 }, "APNS_KEY_ID"),
            (apns.filter { $0.key != "APNS_KEY_ID" }, "APNS_KEY_ID"),
            (apns.merging(["APNS_TEAM_ID": "TEAM-12345"]) { $1 }, "APNS_TEAM_ID"),
            (apns.merging(["APNS_AUTH_TOKEN": "jwt"]) { $1 }, "APNS_AUTH_TOKEN"),
            (apns.filter { $0.key != "APNS_TOPIC" }, "APNS_TOPIC"),
        ]
        for (given, variable) in cases {
            let environment = base.merging(given) { $1 }
            let error = #expect(throws: ServiceSettings.Invalid.self) {
                try ServiceSettings.fromEnvironment(environment)
            }
            #expect(error?.variable == variable, "\(given.keys.sorted())")
            #expect(error?.description.contains("BEGIN") == false && error?.description.contains("MII") == false)
        }
    }
}
