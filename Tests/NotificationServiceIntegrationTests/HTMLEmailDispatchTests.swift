import Delivery
import Foundation
import PostgresNIO
import ReminderCore
import ReminderStore
import TestSupport
import Testing

/// An event's HTML body and unsubscribe URL, from ingest through PostgreSQL to the email
/// providers: what arrives at aiosmtpd and at the SendGrid stand-in.
@Suite(.timeLimit(.minutes(6)))
struct HTMLEmailDispatchTests {
    static let html = "<p>Dentist <b>tomorrow</b> at 9:30 — \"Dr. Lee\"</p>"
    static let unsubscribeURL = "https://example.com/unsubscribe?u=42&t=abc"

    /// One schedule due now for `ada@example.com`, stored through the ingest path.
    static func storeReminder(_ client: PostgresClient) async throws {
        let bytes = EventFixtures.json([
            "schema_version": 1, "type": "schedule", "idempotency_key": "html-key", "reminder_id": "html-1",
            "user_id": "user-1", "deliver_at": RFC3339Text.format(Date()),
            "channels": [["type": "email", "to": "ada@example.com"]],
            "content": [
                "title": "Dentist", "body": "Tomorrow at 9:30", "html": html, "unsubscribe_url": unsubscribeURL,
            ],
        ])
        let record = IngestRecord(
            topic: "reminders", partition: 0, offset: 0, key: Array("user-1".utf8), value: bytes, headers: [],
            decoded: .valid(try ReminderEventDecoder.decode(bytes)))
        _ = try await IngestStore(client: client, logger: TestDatabase.logger).ingest([record])
    }

    static func providers(_ client: PostgresClient) async throws -> [String] {
        var providers: [String] = []
        let rows = try await client.query(
            "SELECT provider || ':' || outcome FROM delivery_attempts ORDER BY id", logger: DispatchHarness.logger)
        for try await provider in rows.decode(String.self) { providers.append(provider) }
        return providers
    }

    @Test func smtpSendsTheStoredHTMLAsTheSecondAlternativeWithListUnsubscribe() async throws {
        let mail = try await SMTPSink()
        try #require(mail.port > 0)
        try await TestDatabase.withDatabase { client, configuration in
            try await Self.storeReminder(client)
            let harness = try DispatchHarness(
                database: client, configuration: configuration, caFile: TestCertificate.shared.certificateFile
            ) { _ in
                ProviderDirectory(email: [
                    DispatchHarness.guarded(
                        try SMTPProvider(
                            configuration: SMTPConfiguration(
                                host: "127.0.0.1", port: mail.port, from: SMTPMailbox(address: "reminders@example.org"),
                                startTLS: .off),
                            logger: DispatchHarness.logger))
                ])
            }
            // A harness left running would outlive the test (and its HTTP client abort it).
            do {
                try await eventually(.seconds(60), "the reminder to be delivered by email") {
                    try await DispatchHarness.states(client) == ["DELIVERED": 1]
                }
            } catch {
                await harness.stop()
                throw error
            }
            await harness.stop()
            let messages = try mail.received()
            try #require(messages.count == 1)
            #expect(messages[0].defects.isEmpty)
            #expect(messages[0].contentType == "multipart/alternative")
            #expect(messages[0].parts.map(\.text) == ["Tomorrow at 9:30", Self.html])
            #expect(messages[0].headers["List-Unsubscribe"] == "<\(Self.unsubscribeURL)>")
            #expect(messages[0].headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click")
            #expect(try await Self.providers(client) == ["smtp:delivered"])
        }
    }

    /// Without SMTP, the email channel goes to SendGrid.
    @Test func sendGridServesTheEmailChannelWhenSMTPIsNotConfigured() async throws {
        let sink = try await ProviderSink(lifetime: 180, arguments: ["--sendgrid-key", "SG.dispatch-key"])
        do {
            try await deliverThroughSendGrid(sink)
        } catch {
            await sink.stop()
            throw error
        }
        await sink.stop()
    }

    func deliverThroughSendGrid(_ sink: ProviderSink) async throws {
        try await TestDatabase.withDatabase { client, configuration in
            try await Self.storeReminder(client)
            let harness = try DispatchHarness(database: client, configuration: configuration, caFile: sink.caFile) {
                transport in
                ProviderDirectory(email: [
                    DispatchHarness.guarded(
                        SendGridProvider(
                            transport: transport,
                            configuration: .init(
                                baseURL: sink.baseURL, apiKey: "SG.dispatch-key", fromAddress: "reminders@example.org"),
                            logger: DispatchHarness.logger))
                ])
            }
            do {
                try await eventually(.seconds(60), "the reminder to be delivered through SendGrid") {
                    try await DispatchHarness.states(client) == ["DELIVERED": 1]
                }
            } catch {
                await harness.stop()
                throw error
            }
            await harness.stop()
            let json = try #require(try await sink.requests(path: "/v3/mail/send").first?.json)
            #expect(
                json["content"] as? [[String: String]] == [
                    ["type": "text/plain", "value": "Tomorrow at 9:30"], ["type": "text/html", "value": Self.html],
                ])
            #expect((json["headers"] as? [String: String])?["List-Unsubscribe"] == "<\(Self.unsubscribeURL)>")
            #expect(json["custom_args"] as? [String: String] == ["reminder_id": "html-1"])
            #expect(try await Self.providers(client) == ["sendgrid:delivered"])
        }
    }
}
