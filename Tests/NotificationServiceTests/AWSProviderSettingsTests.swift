import Delivery
import NotificationService
import Testing

/// SES and SNS settings: what enables each, what they require, and that the secret
/// never shows.
@Suite struct AWSProviderSettingsTests {
    private let base = [
        "NOTIFICATION_MIGRATIONS_DIR": "/tmp", "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE",
        "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI-s3cret-never-shown", "AWS_REGION": "eu-west-1",
    ]

    private func settings(_ given: [String: String]) throws -> ServiceSettings {
        try ServiceSettings.fromEnvironment(base.merging(given) { $1 })
    }

    @Test func credentialsAloneEnableNothing() throws {
        let settings = try settings([:])
        #expect(settings.delivery.ses == nil)
        #expect(settings.delivery.sns == nil)
    }

    @Test func sesFromEnablesSESWithTheSharedCredentials() throws {
        let settings = try settings([
            "SES_FROM": "reminders@example.org", "SES_FROM_NAME": "Reminders", "SES_CONFIGURATION_SET": "tracking",
            "AWS_SESSION_TOKEN": "session-t0ken",
        ])
        let ses = try #require(settings.delivery.ses)
        #expect(ses.from == SMTPMailbox(address: "reminders@example.org", displayName: "Reminders"))
        #expect(ses.configurationSet == "tracking")
        #expect(ses.region == "eu-west-1")
        #expect(ses.endpoint == "https://email.eu-west-1.amazonaws.com")
        #expect(ses.credentials.accessKeyID == "AKIDEXAMPLE")
        #expect(ses.credentials.sessionToken == "session-t0ken")
        #expect(settings.delivery.sns == nil)
        #expect(!"\(settings)".contains("s3cret-never-shown"))
        #expect(!"\(settings)".contains("session-t0ken"))
    }

    @Test func snsEnabledEnablesSNSWithItsOptions() throws {
        let settings = try settings([
            "SNS_ENABLED": "true", "SNS_SENDER_ID": "Reminders", "SNS_ORIGINATION_NUMBER": "+15555550100",
            "SNS_ENDPOINT": "http://127.0.0.1:4566", "SNS_RATE_LIMIT": "20", "SES_RATE_LIMIT": "14",
        ])
        let sns = try #require(settings.delivery.sns)
        #expect(sns.endpoint == "http://127.0.0.1:4566")
        #expect(sns.senderID == "Reminders")
        #expect(sns.originationNumber == "+15555550100")
        #expect(sns.region == "eu-west-1")
        #expect(settings.delivery.ses == nil)
        #expect(settings.delivery.rateLimits["sns"] == .init(rate: 20, burst: 20))
        #expect(settings.delivery.rateLimits["ses"] == .init(rate: 14, burst: 14))
    }

    @Test func theDefaultRegionStandsInForTheRegion() throws {
        var environment = base.merging(["SNS_ENABLED": "true", "AWS_DEFAULT_REGION": "us-west-2"]) { $1 }
        environment["AWS_REGION"] = nil
        let settings = try ServiceSettings.fromEnvironment(environment)
        #expect(settings.delivery.sns?.endpoint == "https://sns.us-west-2.amazonaws.com")
    }

    @Test(arguments: [
        (["SES_FROM": "a@example.org", "AWS_ACCESS_KEY_ID": ""], "AWS_ACCESS_KEY_ID"),
        (["SES_FROM": "a@example.org", "AWS_SECRET_ACCESS_KEY": ""], "AWS_SECRET_ACCESS_KEY"),
        (["SNS_ENABLED": "true", "AWS_REGION": ""], "AWS_REGION"),
        (["SNS_ENABLED": "true", "AWS_REGION": "eu west 1"], "AWS_REGION"),
        (["SES_FROM": "not-an-address"], "SES_FROM"),
        (["SES_FROM": "Name <a@example.org>"], "SES_FROM"),
        (["SES_FROM": "a@example.org", "SES_FROM_NAME": "two\nlines"], "SES_FROM_NAME"),
        (["SES_ENDPOINT": "ftp://email"], "SES_ENDPOINT"),
        (["SNS_ENDPOINT": "sns.local"], "SNS_ENDPOINT"),
        // A path, query or user would break every signature.
        (["SES_FROM": "a@example.org", "SES_ENDPOINT": "https://proxy.example.org/ses"], "SES_ENDPOINT"),
        (["SNS_ENABLED": "true", "SNS_ENDPOINT": "https://sns.example.org/?x=1"], "SNS_ENDPOINT"),
        (["SNS_ENABLED": "true", "SNS_ENDPOINT": "https://user@sns.example.org"], "SNS_ENDPOINT"),
        (["SNS_ENABLED": "true", "SNS_SENDER_ID": "TwelveLetter"], "SNS_SENDER_ID"),
        (["SNS_ENABLED": "true", "SNS_SENDER_ID": "12345"], "SNS_SENDER_ID"),
        (["SNS_ENABLED": "true", "SNS_SENDER_ID": "Rem inder"], "SNS_SENDER_ID"),
        (["SNS_ENABLED": "sometimes"], "SNS_ENABLED"),
        (["SNS_SENDER_ID": "Reminders"], "SNS_ENABLED"),
        (["SNS_ENABLED": "true", "SNS_ORIGINATION_NUMBER": "5550100"], "SNS_ORIGINATION_NUMBER"),
        (["SES_RATE_LIMIT": "-1"], "SES_RATE_LIMIT"),
    ])
    func aMissingOrWrongSettingStopsStartUpNamingIt(given: [String: String], variable: String) {
        let environment = base.merging(given) { $1 }
        let error = #expect(throws: ServiceSettings.Invalid.self) { try ServiceSettings.fromEnvironment(environment) }
        #expect(error?.variable == variable)
        #expect(error?.description.contains("s3cret-never-shown") == false)
    }
}
