import Delivery
import ReminderCore
import Testing

/// Which provider serves a channel.
@Suite struct ProviderDirectoryTests {
    struct Named: NotificationProvider {
        let name: String
        func send(_ request: DeliveryRequest) async throws(DeliveryFailure) -> DeliveryReceipt {
            DeliveryReceipt(answer: name)
        }
    }

    static func guarded(_ name: String) -> GuardedProvider {
        GuardedProvider(provider: Named(name: name), breaker: .default, rateLimit: nil)
    }

    @Test func sendGridServesEmailOnlyWhenSMTPIsNotConfigured() {
        let email = Channel.email(to: "ada@example.com")
        #expect(ProviderDirectory(sendgrid: Self.guarded("sendgrid")).provider(for: email)?.name == "sendgrid")
        let both = ProviderDirectory(email: Self.guarded("smtp"), sendgrid: Self.guarded("sendgrid"))
        #expect(both.provider(for: email)?.name == "smtp")
        #expect(both.all.map(\.name) == ["smtp", "sendgrid"])
        #expect(ProviderDirectory(sendgrid: Self.guarded("sendgrid")).provider(for: .sms(to: "+15550001111")) == nil)
    }
}
