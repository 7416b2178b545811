import Instrumentation
import Logging
import ReminderCore
import ServiceContextModule
import Tracing

/// One delivery attempt of a reminder: its channels in the event's order, as
/// `DeliveryAttemptPlanner` decides (fallback on a permanent failure or an open circuit,
/// a retry later on a transient failure, dead letter when no channel is left), each
/// through its providers in order as `ProviderFailover` decides. Returns the outcome and
/// a record of every provider asked.
public struct ReminderDeliverer: Sendable {
    public struct Report: Sendable, Equatable {
        /// What the attempt came to, for `CompletionPlanner`.
        public let outcome: CompletionPlanner.Outcome
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
            case .delivered:
                return Report(outcome: .delivered, progress: planner.progress, attempts: attempts)
            case .retry(let delay):
                return Report(outcome: .retry(after: delay), progress: planner.progress, attempts: attempts)
            case .deadLetter(let reason):
                return Report(
                    outcome: .deadLetter(reason, error: lastError), progress: planner.progress, attempts: attempts)
            case .send(let index):
                let channel = channels[index]
                var single = request
                single.channel = channel
                let (result, tries) = await send(single, index: index, logger: logger)
                attempts += tries
                for attempt in tries {
                    if let errorClass = attempt.errorClass {
                        lastError = "\(channel.type) via \(attempt.provider): \(errorClass) (\(attempt.answer))"
                    }
                }
                step = planner.record(result, on: index, random: random())
            }
        }
    }

    /// Sends over one channel through its providers in order, handing the send to the
    /// next one as `ProviderFailover` decides; a record of each provider asked.
    private func send(_ request: DeliveryRequest, index: Int, logger: Logger) async -> (SendOutcome, [ChannelAttempt]) {
        let candidates = providers.providers(for: request.channel)
        var failover = ProviderFailover(providers: candidates.count)
        var tries: [ChannelAttempt] = []
        var step = failover.start()
        while true {
            switch step {
            case .finished(let result):
                if tries.isEmpty {
                    tries.append(
                        ChannelAttempt(
                            channelIndex: index, channel: request.channel.type, provider: "none", sent: result,
                            latency: .zero))
                }
                return (result, tries)
            case .send(let position):
                let (result, attempt) = await send(request, index: index, through: candidates[position])
                tries.append(attempt)
                logger.debug(
                    "channel attempt",
                    metadata: [
                        "channel": "\(request.channel.type)", "provider": "\(attempt.provider)",
                        "outcome": "\(attempt.outcome.rawValue)", "error_class": "\(attempt.errorClass ?? "")",
                    ])
                step = failover.record(result)
            }
        }
    }

    private func send(_ request: DeliveryRequest, index: Int, through provider: GuardedProvider) async -> (
        SendOutcome, ChannelAttempt
    ) {
        // A client span per provider asked, in the delivery attempt's trace (the task's
        // service context); none with the no-op tracer, which would keep nothing. No
        // address, answer text or content goes into it.
        let span: (any Span)? =
            InstrumentationSystem.tracer is NoOpTracer
            ? nil : startSpan("send \(request.channel.type)", ofKind: .client)
        // The send runs in the span's context: a webhook request names this span as its
        // parent.
        let (result, latency) =
            if let span {
                await ServiceContext.withValue(span.context) { await provider.send(request) }
            } else {
                await provider.send(request)
            }
        let attempt = ChannelAttempt(
            channelIndex: index, channel: request.channel.type, provider: provider.name, sent: result, latency: latency)
        guard let span else { return (result, attempt) }
        if span.isRecording {
            span.updateAttributes { attributes in
                attributes["notification.channel"] = request.channel.type
                attributes["notification.provider"] = provider.name
                attributes["notification.outcome"] = attempt.outcome.rawValue
            }
            if let failure = result.failure {
                span.attributes["error.type"] = failure.errorClass
                span.setStatus(SpanStatus(code: .error, message: failure.errorClass))
            }
        }
        span.end()
        return (result, attempt)
    }
}
