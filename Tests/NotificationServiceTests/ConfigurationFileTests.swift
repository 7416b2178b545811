import NotificationService
import Testing

@Suite struct ConfigurationFileTests {
    @Test func settingsAreReadWithCommentsExportsAndQuotes() throws {
        let settings = try ConfigurationFile.parse(
            """
            # Kafka
            KAFKA_BOOTSTRAP_SERVERS=broker-1:9092,broker-2:9092
            export KAFKA_GROUP_ID = reminders-eu
              DATABASE_URL="postgres://svc:p%40ss@db:5432/app"\r
            SMTP_FROM='Reminders <no-reply@example.org>'

            EMPTY=
            """, name: "service.env")
        #expect(
            settings == [
                "KAFKA_BOOTSTRAP_SERVERS": "broker-1:9092,broker-2:9092", "KAFKA_GROUP_ID": "reminders-eu",
                "DATABASE_URL": "postgres://svc:p%40ss@db:5432/app", "SMTP_FROM": "Reminders <no-reply@example.org>",
                "EMPTY": "",
            ])
    }

    @Test(arguments: [
        ("A=1\njust words\n", "service.env:2"),
        ("lower_case=1\n", "service.env:1"),
        ("A=1\n# c\nA=2\n", "A (service.env:3)"),
        ("=value\n", "service.env:1"),
    ])
    func aBadLineIsNamedByFileAndLine(text: String, place: String) {
        let error = #expect(throws: ServiceSettings.Invalid.self) {
            try ConfigurationFile.parse(text, name: "service.env")
        }
        #expect(error?.variable == place)
    }

    @Test func aMissingFileIsNamed() {
        let error = #expect(throws: ServiceSettings.Invalid.self) {
            try ConfigurationFile.load("/nonexistent/service.env")
        }
        #expect(error?.variable == "--config")
        #expect(error?.description.contains("/nonexistent/service.env") == true)
    }

    @Test func theFileFeedsTheSameValidation() throws {
        let file = try ConfigurationFile.parse("HTTP_PORT=9090\nNOTIFICATION_MIGRATIONS_DIR=/tmp\n", name: "f")
        #expect(try ServiceSettings.fromEnvironment(file).api.port == 9090)
        let bad = try ConfigurationFile.parse("HTTP_PORT=ninety\nNOTIFICATION_MIGRATIONS_DIR=/tmp\n", name: "f")
        let error = #expect(throws: ServiceSettings.Invalid.self) { try ServiceSettings.fromEnvironment(bad) }
        #expect(error?.variable == "HTTP_PORT")
    }
}
