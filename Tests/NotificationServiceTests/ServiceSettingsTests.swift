import NotificationService
import Testing

@Suite struct ServiceSettingsTests {
    private let base = ["NOTIFICATION_MIGRATIONS_DIR": "/tmp"]

    @Test func defaultsPointAtTheLocalStack() throws {
        let settings = try ServiceSettings.fromEnvironment(base)
        #expect(settings.kafka.bootstrapServers == ["127.0.0.1:9092"])
        #expect(settings.groupID == "notification-service")
        #expect(settings.remindersTopic == "reminders")
        #expect(settings.deadLetterTopic == "reminders.dlq")
        #expect(settings.database.port == 5432)
        #expect(settings.batchSize == 2_500)
        #expect(settings.lanes == 2)
    }

    @Test(arguments: [
        ("KAFKA_BOOTSTRAP_SERVERS", "localhost"),
        ("DATABASE_URL", "mysql://x@y/z"),
        ("KAFKA_SESSION_TIMEOUT_MS", "soon"),
        ("INGEST_COMMIT_INTERVAL_MS", "0"),
        ("INGEST_BATCH_SIZE", "-1"),
        ("INGEST_LINGER_MS", "99999999"),
        ("INGEST_LANES", "0"),
        ("DEAD_LETTER_TOPIC", "reminders"),
    ])
    func aBadValueStopsStartUpNamingTheVariable(variable: String, value: String) {
        var environment = base
        environment[variable] = value
        let error = #expect(throws: ServiceSettings.Invalid.self) { try ServiceSettings.fromEnvironment(environment) }
        #expect(error?.variable == variable)
        #expect(error?.description.hasPrefix(variable) == true)
    }

    @Test func theDatabasePasswordNeverShows() throws {
        var environment = base
        environment["DATABASE_URL"] = "postgres://svc:s3cret@db:5432/app"
        let settings = try ServiceSettings.fromEnvironment(environment)
        #expect(!settings.database.description.contains("s3cret"))
    }
}
