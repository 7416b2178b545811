import ReminderCore
import Testing

@Suite struct ExponentialBackoffTests {
    let backoff = ExponentialBackoff(
        initialDelay: .milliseconds(100), multiplier: 3, maximumDelay: .seconds(2), jitter: 0.2)

    @Test func delaysGrowByTheMultiplierUntilTheCap() {
        let delays = (1...5).map { backoff.delay(afterFailures: $0, random: 0) }
        #expect(delays == [.milliseconds(100), .milliseconds(300), .milliseconds(900), .seconds(2), .seconds(2)])
    }

    @Test func jitterOnlyShortensADelayByUpToItsShare() {
        #expect(backoff.delay(afterFailures: 1, random: 0.5) == .milliseconds(90))
        #expect(backoff.delay(afterFailures: 4, random: 0.999_999) == .microseconds(1_600_000))
        // A draw outside 0..<1 is clamped rather than trusted.
        #expect(backoff.delay(afterFailures: 1, random: 7) == .milliseconds(80))
        #expect(backoff.delay(afterFailures: 1, random: -1) == .milliseconds(100))
    }

    @Test func aFailureCountBelowOneWaitsTheInitialDelay() {
        #expect(backoff.delay(afterFailures: 0, random: 0) == .milliseconds(100))
    }

    @Test func aMultiplierOfOneKeepsTheDelayConstant() {
        var constant = backoff
        constant.multiplier = 1
        #expect(
            (1...4).map { constant.delay(afterFailures: $0, random: 0) }
                == Array(repeating: .milliseconds(100), count: 4))
    }

    @Test func unusableBackoffsAreNamed() {
        #expect(backoff.problem == nil)
        var bad = backoff
        bad.initialDelay = .milliseconds(-1)
        #expect(bad.problem == "the initial delay is negative")
        bad = backoff
        bad.multiplier = 0.5
        #expect(bad.problem == "the multiplier is below 1")
        bad = backoff
        bad.maximumDelay = .milliseconds(10)
        #expect(bad.problem == "the maximum delay is below the initial delay")
        bad = backoff
        bad.jitter = -0.1
        #expect(bad.problem == "the jitter is outside 0...1")
    }

    @Test func aRetryPolicyWaitsAsItsBackoffDoes() {
        let policy = RetryPolicy(
            initialDelay: .milliseconds(100), multiplier: 3, maximumDelay: .seconds(2), maximumAttempts: 5, jitter: 0.2)
        #expect(policy.backoff == backoff)
        for failures in 1...6 {
            #expect(
                policy.delay(afterFailures: failures, random: 0.3)
                    == backoff.delay(afterFailures: failures, random: 0.3))
        }
    }
}
