import Delivery
import Foundation
import NotificationService
import PostgresNIO
import TestSupport
import Testing

/// Failover within a channel through the service's own wiring (settings →
/// `DeliveryProviders` → dispatcher → SQL): email through SMTP first, then Amazon SES
/// (moto on loopback).
@Suite(.serialized, .timeLimit(.minutes(6)))
struct ProviderFailoverDispatchTests {
    static func settings(smtpPort: Int, moto: MotoServer) throws -> ServiceSettings {
        try ServiceSettings.fromEnvironment([
            "NOTIFICATION_MIGRATIONS_DIR": "/tmp", "SMTP_HOST": "127.0.0.1", "SMTP_PORT": String(smtpPort),
            "SMTP_FROM": "reminders@example.org", "SMTP_STARTTLS": "off", "SMTP_CONNECT_TIMEOUT_MS": "2000",
            "SES_FROM": "reminders@example.org", "SES_ENDPOINT": moto.endpoint, "AWS_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            "EMAIL_PROVIDERS": "smtp,ses",
        ])
    }

    @Test func anEmailTheSMTPRelayCannotTakeGoesOutThroughSESInTheSameAttempt() async throws {
        let moto = try await MotoServer(verifiedSenders: ["reminders@example.org"], lifetime: 170)
        // A port nobody listens on: the relay is down.
        let closed = try ReservedPort()
        let providers = try await DeliveryProviders(
            settings: try Self.settings(smtpPort: closed.port, moto: moto), logger: DispatchHarness.logger)
        do {
            #expect(providers.directory.email.map(\.name) == ["smtp", "ses"])
            try await TestDatabase.withDatabase { client, configuration in
                try await DueReminders.store(
                    client, count: 3, prefix: "failover", channels: [["type": "email", "to": "ada@example.com"]])
                let harness = try DispatchHarness(
                    database: client, configuration: configuration, caFile: TestCertificate.shared.certificateFile
                ) { _ in providers.directory }
                do {
                    try await eventually(.seconds(90), "the reminders to be delivered through SES") {
                        try await DispatchHarness.states(client) == ["DELIVERED": 3]
                    }
                } catch {
                    await harness.stop()
                    throw error
                }
                await harness.stop()
                // Each attempt asked SMTP, then SES: one attempt, two records, no retry.
                var tries: [String] = []
                let rows = try await client.query(
                    """
                    SELECT provider || ':' || outcome || ':' || coalesce(error_class, '') || ':' || attempt
                    FROM delivery_attempts ORDER BY reminder_id, id
                    """, logger: DispatchHarness.logger)
                for try await text in rows.decode(String.self) { tries.append(text) }
                #expect(
                    tries
                        == Array(repeating: ["smtp:transient:connection:1", "ses:delivered::1"], count: 3).flatMap {
                            $0
                        })
                let sent = try await moto.records(service: "ses", model: "Message")
                #expect(sent.count == 3)
                #expect(
                    sent.allSatisfy {
                        ($0["destinations"] as? [String: [String]])?["ToAddresses"] == ["ada@example.com"]
                    })
            }
        } catch {
            await providers.shutdown()
            await moto.stop()
            throw error
        }
        await providers.shutdown()
        await moto.stop()
        _ = closed
    }
}
