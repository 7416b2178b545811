import ReminderCore
import Testing

@Suite struct DeliveryAttemptPlannerTests {
    let policy = RetryPolicy(
        initialDelay: .seconds(1), multiplier: 2, maximumDelay: .seconds(8), maximumAttempts: 3, jitter: 0)

    func planner(channels: Int, progress: ChannelProgress? = nil) -> DeliveryAttemptPlanner {
        DeliveryAttemptPlanner(
            progress: progress ?? ChannelProgress(channelCount: channels),
            policies: Array(repeating: policy, count: channels))
    }

    @Test func transientFailuresRetryTheSameChannelThenItSucceeds() {
        var progress = ChannelProgress(channelCount: 1)
        var delays: [Duration] = []
        for _ in 0..<2 {
            var attempt = planner(channels: 1, progress: progress)
            #expect(attempt.start() == .send(channel: 0))
            guard case .retry(let delay) = attempt.record(.transient(retryAfter: nil), on: 0, random: 0) else {
                Issue.record("expected a retry")
                return
            }
            delays.append(delay)
            progress = attempt.progress
        }
        #expect(delays == [.seconds(1), .seconds(2)])
        var last = planner(channels: 1, progress: progress)
        #expect(last.start() == .send(channel: 0))
        #expect(last.record(.accepted, on: 0, random: 0) == .delivered(channel: 0))
    }

    @Test func permanentFailureFallsBackToTheNextChannel() {
        var attempt = planner(channels: 2)
        #expect(attempt.start() == .send(channel: 0))
        #expect(attempt.record(.permanent, on: 0, random: 0) == .send(channel: 1))
        #expect(attempt.record(.accepted, on: 1, random: 0) == .delivered(channel: 1))
        #expect(attempt.progress.statusCodes == "po")
    }

    @Test func aClosedChannelIsSkippedOnTheNextAttempt() {
        let progress = ChannelProgress(channelCount: 3, failures: [0, 2], statuses: "po")
        var attempt = planner(channels: 3, progress: progress)
        #expect(attempt.start() == .send(channel: 1))
        #expect(attempt.progress.failures == [0, 2, 0])
    }

    @Test func everyChannelFailingPermanentlyIsAPermanentFailure() {
        var attempt = planner(channels: 2)
        _ = attempt.start()
        _ = attempt.record(.permanent, on: 0, random: 0)
        #expect(attempt.record(.permanent, on: 1, random: 0) == .deadLetter(.permanentFailure))
    }

    @Test func exhaustingTheLastChannelsAttemptsIsDeliveryExhausted() {
        let progress = ChannelProgress(channelCount: 2, failures: [0, 2], statuses: "po")
        var attempt = planner(channels: 2, progress: progress)
        #expect(attempt.start() == .send(channel: 1))
        #expect(attempt.record(.transient(retryAfter: nil), on: 1, random: 0) == .deadLetter(.deliveryExhausted))
        #expect(attempt.progress.statusCodes == "px")
        #expect(attempt.progress.failures == [0, 3])
    }

    @Test func anExhaustedChannelFallsBackWithinTheSameAttempt() {
        let progress = ChannelProgress(channelCount: 2, failures: [2, 0], statuses: "oo")
        var attempt = planner(channels: 2, progress: progress)
        _ = attempt.start()
        #expect(attempt.record(.transient(retryAfter: nil), on: 0, random: 0) == .send(channel: 1))
    }

    @Test func retryAfterLongerThanTheBackoffIsHonouredUpToTheLongestDelay() {
        var attempt = planner(channels: 1)
        _ = attempt.start()
        #expect(
            attempt.record(.transient(retryAfter: .seconds(5)), on: 0, random: 0) == .retry(after: .seconds(5)))
        var capped = planner(channels: 1)
        _ = capped.start()
        #expect(
            capped.record(.transient(retryAfter: .seconds(3_600)), on: 0, random: 0)
                == .retry(after: .seconds(8)))
    }

    @Test func anOpenCircuitUsesUpNoAttempts() {
        var progress = ChannelProgress(channelCount: 1)
        for _ in 0..<10 {
            var attempt = planner(channels: 1, progress: progress)
            #expect(attempt.start() == .send(channel: 0))
            #expect(
                attempt.record(.circuitOpen(retryAfter: .seconds(2)), on: 0, random: 0) == .retry(after: .seconds(2)))
            progress = attempt.progress
        }
        #expect(progress.failures == [0] && progress.statusCodes == "o")
    }

    @Test func anOpenCircuitMovesOnAndRetriesLaterWhenNothingElseWorks() {
        var attempt = planner(channels: 2)
        _ = attempt.start()
        #expect(attempt.record(.circuitOpen(retryAfter: .zero), on: 0, random: 0) == .send(channel: 1))
        #expect(attempt.record(.permanent, on: 1, random: 0) == .retry(after: .seconds(1)))
        #expect(attempt.progress.statusCodes == "op")
    }

    @Test func anOpenCircuitBeforeAWorkingChannelDelivers() {
        var attempt = planner(channels: 2)
        _ = attempt.start()
        _ = attempt.record(.circuitOpen(retryAfter: .zero), on: 0, random: 0)
        #expect(attempt.record(.accepted, on: 1, random: 0) == .delivered(channel: 1))
    }

    @Test func progressRoundTripsThroughItsPersistedForm() {
        let progress = ChannelProgress(channelCount: 3, failures: [1, 0, 4], statuses: "oxp")
        let restored = ChannelProgress(channelCount: 3, failures: progress.failures, statuses: progress.statusCodes)
        #expect(restored == progress)
        #expect(ChannelProgress(channelCount: 2, failures: [], statuses: "") == ChannelProgress(channelCount: 2))
    }
}

/// The provider's answers the tests feed the planner, by what they mean to it.
extension SendOutcome {
    fileprivate static let accepted = Self.delivered(DeliveryReceipt(answer: "250 2.0.0 accepted"))
    fileprivate static let permanent = Self.failed(.permanent("smtp_550", "550 5.1.1 no such mailbox"))

    fileprivate static func transient(retryAfter: Duration?) -> Self {
        .failed(.transient("http_503", "HTTP 503", retryAfter: retryAfter))
    }
}
