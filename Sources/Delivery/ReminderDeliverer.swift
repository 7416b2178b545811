import Logging
import ReminderCore

/// One delivery attempt of a reminder: its channels in the event's order through their
/// providers, as `DeliveryAttemptPlanner` decides (fallback on a permanent failure or
/// an open circuit, a retry later on a transient failure, dead letter when no channel
/// is left). Returns the decision and a record of every channel tried.
public struct ReminderDeliverer: Sendable {
    /// What the attempt came to.
    public enum Decision: Sendable, Equatable {
        case delivered(channel: Int)
        case retry(after: Duration)
        case deadLetter(DeadLetterReason, error: String)
    }

    /// One channel tried in the attempt; no personal data.
    public struct ChannelAttempt: Sendable, Equatable {
        public enum Outcome: String, Sendable, Equatable {
            case delivered, transient, permanent
            case circuitOpen = "circuit_open"
        }

        public let channelIndex: Int
        public let channel: String
        public let provider: String
        public let outcome: Outcome
        public let errorClass: String?
        /// The provider's answer ("HTTP 500", "550 5.1.1") or the local error.
        public let answer: String
        public let latency: Duration
    }

    public struct Report: Sendable, Equatable {
        public let decision: Decision
        public let progress: ChannelProgress
        public let attempts: [ChannelAttempt]
    }

    private let providers: ProviderDirectory
    private let random: @Sendable () -> Double

    /// `random`: a uniform draw in 0..<1 for retry jitter (injected for tests).
    public init(providers: ProviderDirectory, random: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) }) {
        self.providers = providers
        self.random = random
    }

    /// Runs one attempt over `channels`, resuming from `progress`.
    public func deliver(
        _ request: DeliveryRequest, channels: [Channel], progress: ChannelProgress, logger: Logger
    ) async -> Report {
        var planner = DeliveryAttemptPlanner(progress: progress, policies: channels.map(providers.retryPolicy(for:)))
        var attempts: [ChannelAttempt] = []
        var lastError = "no channel"
        var step = planner.start()
        while true {
            switch step {
            case .delivered(let channel):
                return Report(decision: .delivered(channel: channel), progress: planner.progress, attempts: attempts)
            case .retry(let delay):
                return Report(decision: .retry(after: delay), progress: planner.progress, attempts: attempts)
            case .deadLetter(let reason):
                return Report(
                    decision: .deadLetter(reason, error: lastError), progress: planner.progress, attempts: attempts)
            case .send(let index):
                let channel = channels[index]
                var single = request
                single.channel = channel
                let (result, attempt) = await send(single, index: index)
                attempts.append(attempt)
                if let errorClass = attempt.errorClass {
                    lastError = "\(channel.type) via \(attempt.provider): \(errorClass) (\(attempt.answer))"
                }
                logger.debug(
                    "channel attempt",
                    metadata: [
                        "channel": "\(channel.type)", "provider": "\(attempt.provider)",
                        "outcome": "\(attempt.outcome.rawValue)", "error_class": "\(attempt.errorClass ?? "")",
                    ])
                step = planner.record(result, on: index, random: random())
            }
        }
    }

    private func send(_ request: DeliveryRequest, index: Int) async -> (
        DeliveryAttemptPlanner.ChannelResult, ChannelAttempt
    ) {
        let type = request.channel.type
        guard let provider = providers.provider(for: request.channel) else {
            let attempt = ChannelAttempt(
                channelIndex: index, channel: type, provider: "none", outcome: .permanent,
                errorClass: "not_configured", answer: "no provider is configured for this channel", latency: .zero)
            return (.permanentFailure, attempt)
        }
        let (result, latency) = await provider.send(request)
        switch result {
        case .delivered(let receipt):
            return (
                .delivered,
                ChannelAttempt(
                    channelIndex: index, channel: type, provider: provider.name, outcome: .delivered, errorClass: nil,
                    answer: receipt.answer, latency: latency)
            )
        case .failed(let failure):
            let attempt = ChannelAttempt(
                channelIndex: index, channel: type, provider: provider.name,
                outcome: failure.kind == .permanent ? .permanent : .transient, errorClass: failure.errorClass,
                answer: failure.answer, latency: latency)
            return (
                failure.kind == .permanent ? .permanentFailure : .transientFailure(retryAfter: failure.retryAfter),
                attempt
            )
        case .circuitOpen(let retryAfter):
            let attempt = ChannelAttempt(
                channelIndex: index, channel: type, provider: provider.name, outcome: .circuitOpen,
                errorClass: "circuit_open", answer: "the provider's circuit is open", latency: .zero)
            return (.circuitOpen(retryAfter: retryAfter), attempt)
        }
    }
}
