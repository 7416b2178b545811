import ReminderCore

/// The providers of one instance, by channel, with each channel's retry policy. Email
/// and SMS may have several providers, in the order a send tries them
/// (`ProviderFailover`); a push platform and webhooks have one each.
public struct ProviderDirectory: Sendable {
    /// Email providers in failover order (`EMAIL_PROVIDERS`).
    public var email: [GuardedProvider]
    /// SMS providers in failover order (`SMS_PROVIDERS`).
    public var sms: [GuardedProvider]
    public var fcm: GuardedProvider?
    public var apns: GuardedProvider?
    public var webhook: GuardedProvider?
    /// Retry policies by channel type (`email`, `sms`, `push`, `webhook`); others use
    /// `defaultRetryPolicy`.
    public var retryPolicies: [String: RetryPolicy]
    public var defaultRetryPolicy: RetryPolicy

    public init(
        email: [GuardedProvider] = [], sms: [GuardedProvider] = [], fcm: GuardedProvider? = nil,
        apns: GuardedProvider? = nil, webhook: GuardedProvider? = nil, retryPolicies: [String: RetryPolicy] = [:],
        defaultRetryPolicy: RetryPolicy = .default
    ) {
        self.email = email
        self.sms = sms
        self.fcm = fcm
        self.apns = apns
        self.webhook = webhook
        self.retryPolicies = retryPolicies
        self.defaultRetryPolicy = defaultRetryPolicy
    }

    /// The providers that serve `channel`, in the order a send tries them; empty when
    /// none is configured.
    public func providers(for channel: Channel) -> [GuardedProvider] {
        switch channel {
        case .email: email
        case .sms: sms
        case .push(.fcm, _): fcm.map { [$0] } ?? []
        case .push(.apns, _): apns.map { [$0] } ?? []
        case .webhook: webhook.map { [$0] } ?? []
        }
    }

    public func retryPolicy(for channel: Channel) -> RetryPolicy {
        retryPolicies[channel.type] ?? defaultRetryPolicy
    }

    /// Every configured provider (for metrics and logs).
    public var all: [GuardedProvider] { email + sms + [fcm, apns, webhook].compactMap { $0 } }
}
