import Delivery
import Logging
import ReminderStore

/// The providers one instance sends through, built from the settings; `shutdown()`
/// closes their connections after the dispatcher has stopped.
public struct DeliveryProviders: Sendable {
    public let directory: ProviderDirectory
    private let transport: HTTPTransport

    /// `rateLimits`: where the rate limits are shared with the other instances; nil to
    /// count them in this process alone.
    public init(settings: ServiceSettings, logger: Logger, rateLimits: (any RateLimitStoring)? = nil) async throws {
        let delivery = settings.delivery
        let transport = try HTTPTransport(configuration: delivery.http)
        func guarded(
            _ provider: any NotificationProvider, limit name: String, circuits: ProviderCircuits.Scope = .provider
        ) -> GuardedProvider {
            let limiter: (any RateLimiting)? = delivery.rateLimits[name].map { limit in
                guard let rateLimits else { return LocalRateLimit(limit) }
                return SharedRateLimit(
                    configuration: .init(name: name, limit: limit, instances: delivery.rateLimitInstances),
                    store: rateLimits, logger: logger)
            }
            return GuardedProvider(
                provider: provider, breaker: settings.dispatch.breaker, circuits: circuits, limiter: limiter,
                logger: logger)
        }
        var directory = ProviderDirectory(
            retryPolicies: settings.dispatch.retryPolicies, defaultRetryPolicy: settings.dispatch.defaultRetry)
        // Email and SMS providers by name, then in the order a send tries them.
        var email: [String: GuardedProvider] = [:]
        var sms: [String: GuardedProvider] = [:]
        if let smtp = delivery.smtp {
            do {
                email["smtp"] = guarded(try SMTPProvider(configuration: smtp, logger: logger), limit: "smtp")
            } catch {
                try? await transport.shutdown()
                throw DeliverySettings.invalid(error)
            }
        }
        if let twilio = delivery.sms {
            sms["twilio"] = guarded(
                SMSProvider(transport: transport, configuration: twilio, logger: logger), limit: "twilio")
        }
        if let ses = delivery.ses {
            email["ses"] = guarded(SESProvider(transport: transport, configuration: ses, logger: logger), limit: "ses")
        }
        if let sns = delivery.sns {
            sms["sns"] = guarded(SNSProvider(transport: transport, configuration: sns, logger: logger), limit: "sns")
        }
        if let sendGrid = delivery.sendGrid {
            email["sendgrid"] = guarded(
                SendGridProvider(transport: transport, configuration: sendGrid, logger: logger), limit: "sendgrid")
        }
        directory.email = delivery.emailProviders.compactMap { email[$0] }
        directory.sms = delivery.smsProviders.compactMap { sms[$0] }
        if let webhook = delivery.webhook {
            directory.webhook = guarded(
                WebhookProvider(transport: transport, configuration: webhook), limit: "webhook",
                circuits: .destinationOrigin(maximum: settings.dispatch.webhookBreakers))
        }
        if let fcm = delivery.fcm {
            directory.fcm = guarded(
                PushProvider(transport: transport, service: .fcm(fcm), logger: logger), limit: "fcm")
        }
        if let apns = delivery.apns {
            directory.apns = guarded(
                PushProvider(transport: transport, service: .apns(apns), logger: logger), limit: "apns")
        }
        self.directory = directory
        self.transport = transport
    }

    /// Closes the HTTP connections; call once, after the last send.
    public func shutdown() async {
        try? await transport.shutdown()
    }
}
