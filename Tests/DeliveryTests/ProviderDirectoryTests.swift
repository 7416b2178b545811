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

    @Test func eachChannelHasItsProvidersInFailoverOrder() {
        let directory = ProviderDirectory(
            email: ["sendgrid", "smtp", "ses"].map(Self.guarded), sms: ["sns", "twilio"].map(Self.guarded),
            fcm: Self.guarded("fcm"), webhook: Self.guarded("webhook"))
        #expect(directory.providers(for: .email(to: "ada@example.com")).map(\.name) == ["sendgrid", "smtp", "ses"])
        #expect(directory.providers(for: .sms(to: "+15550001111")).map(\.name) == ["sns", "twilio"])
        #expect(directory.providers(for: .push(platform: .fcm, token: "t")).map(\.name) == ["fcm"])
        #expect(directory.providers(for: .push(platform: .apns, token: "t")).isEmpty)
        #expect(directory.providers(for: .webhook(url: "https://example.com/h")).map(\.name) == ["webhook"])
        #expect(directory.all.map(\.name) == ["sendgrid", "smtp", "ses", "sns", "twilio", "fcm", "webhook"])
        #expect(ProviderDirectory().providers(for: .email(to: "ada@example.com")).isEmpty)
    }
}
