/// One channel tried in a delivery attempt, as the history keeps it (`delivery_attempts`)
/// and `GET /v1/reminders/{id}` shows it. No personal data: the channel's type, never its
/// address.
public struct ChannelAttempt: Sendable, Equatable {
    /// How the send over the channel went. The raw values are what the database stores.
    public enum Outcome: String, Sendable, Equatable {
        case delivered, transient, permanent
        /// Not sent: the provider's circuit was open.
        case circuitOpen = "circuit_open"
    }

    /// The channel's position in the event's channel list.
    public let channelIndex: Int
    /// The channel's type (`email`, `sms`, `push`, `webhook`).
    public let channel: String
    public let provider: String
    public let outcome: Outcome
    public let errorClass: String?
    /// The provider's answer ("HTTP 500", "550 5.1.1") or the local error.
    public let answer: String
    /// Time spent in the provider.
    public let latency: Duration

    public init(
        channelIndex: Int, channel: String, provider: String, outcome: Outcome, errorClass: String?, answer: String,
        latency: Duration
    ) {
        self.channelIndex = channelIndex
        self.channel = channel
        self.provider = provider
        self.outcome = outcome
        self.errorClass = errorClass
        self.answer = answer
        self.latency = latency
    }

    /// The record of a send over the channel at `channelIndex` that ended as `sent`.
    public init(channelIndex: Int, channel: String, provider: String, sent: SendOutcome, latency: Duration) {
        switch sent {
        case .delivered(let receipt):
            self.init(
                channelIndex: channelIndex, channel: channel, provider: provider, outcome: .delivered, errorClass: nil,
                answer: receipt.answer, latency: latency)
        case .failed(let failure):
            self.init(
                channelIndex: channelIndex, channel: channel, provider: provider,
                outcome: failure.kind == .permanent ? .permanent : .transient, errorClass: failure.errorClass,
                answer: failure.answer, latency: latency)
        case .circuitOpen:
            self.init(
                channelIndex: channelIndex, channel: channel, provider: provider, outcome: .circuitOpen,
                errorClass: "circuit_open", answer: "the provider's circuit is open", latency: .zero)
        }
    }
}
