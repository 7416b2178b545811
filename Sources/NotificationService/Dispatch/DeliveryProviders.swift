import Delivery
import Logging

/// The providers one instance sends through, built from the settings; `shutdown()`
/// closes their connections after the dispatcher has stopped.
public struct DeliveryProviders: Sendable {
    public let directory: ProviderDirectory
    private let transport: HTTPTransport

    public init(settings: ServiceSettings, logger: Logger) async throws {
        let delivery = settings.delivery
        let transport = try HTTPTransport(configuration: delivery.http)
        func guarded(
            _ provider: any NotificationProvider, limit name: String, circuits: ProviderCircuits.Scope = .provider
        ) -> GuardedProvider {
            GuardedProvider(
                provider: provider, breaker: settings.dispatch.breaker, circuits: circuits,
                rateLimit: delivery.rateLimits[name], logger: logger)
        }
        var directory = ProviderDirectory(
            retryPolicies: settings.dispatch.retryPolicies, defaultRetryPolicy: settings.dispatch.defaultRetry)
        if let smtp = delivery.smtp {
            do {
                directory.email = guarded(try SMTPProvider(configuration: smtp, logger: logger), limit: "smtp")
            } catch {
                try? await transport.shutdown()
                throw DeliverySettings.invalid(error)
            }
        }
        if let webhook = delivery.webhook {
            directory.webhook = guarded(
                WebhookProvider(transport: transport, configuration: webhook, logger: logger), limit: "webhook",
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
        if let sms = delivery.sms {
            directory.sms = guarded(SMSProvider(transport: transport, configuration: sms, logger: logger), limit: "sms")
        }
        self.directory = directory
        self.transport = transport
    }

    /// Closes the HTTP connections; call once, after the last send.
    public func shutdown() async {
        try? await transport.shutdown()
    }
}
