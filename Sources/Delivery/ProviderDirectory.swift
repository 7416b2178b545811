import ReminderCore

/// The providers of one instance, by channel, with each channel's retry policy.
public struct ProviderDirectory: Sendable {
    public var email: GuardedProvider?
    public var sms: GuardedProvider?
    public var fcm: GuardedProvider?
    public var apns: GuardedProvider?
    public var webhook: GuardedProvider?
    /// Email through SendGrid: serves the email channel when `email` (SMTP) is not
    /// configured. Failover between the two is not decided here.
    public var sendgrid: GuardedProvider?
    /// Retry policies by channel type (`email`, `sms`, `push`, `webhook`); others use
    /// `defaultRetryPolicy`.
    public var retryPolicies: [String: RetryPolicy]
    public var defaultRetryPolicy: RetryPolicy

    public init(
        email: GuardedProvider? = nil, sms: GuardedProvider? = nil, fcm: GuardedProvider? = nil,
        apns: GuardedProvider? = nil, webhook: GuardedProvider? = nil, sendgrid: GuardedProvider? = nil,
        retryPolicies: [String: RetryPolicy] = [:], defaultRetryPolicy: RetryPolicy = .default
    ) {
        self.email = email
        self.sms = sms
        self.fcm = fcm
        self.apns = apns
        self.webhook = webhook
        self.sendgrid = sendgrid
        self.retryPolicies = retryPolicies
        self.defaultRetryPolicy = defaultRetryPolicy
    }

    /// The provider that serves `channel`, nil when none is configured.
    public func provider(for channel: Channel) -> GuardedProvider? {
        switch channel {
        case .email: email ?? sendgrid
        case .sms: sms
        case .push(.fcm, _): fcm
        case .push(.apns, _): apns
        case .webhook: webhook
        }
    }

    public func retryPolicy(for channel: Channel) -> RetryPolicy {
        retryPolicies[channel.type] ?? defaultRetryPolicy
    }

    /// Every configured provider (for metrics and logs).
    public var all: [GuardedProvider] { [email, sms, fcm, apns, webhook, sendgrid].compactMap { $0 } }
}
