import ReminderCore
import Testing

@Suite struct RetryPolicyTests {
    let policy = RetryPolicy(
        initialDelay: .seconds(10), multiplier: 2, maximumDelay: .seconds(60), maximumAttempts: 4, jitter: 0.5)

    @Test func delaysDoubleUntilTheCapWithoutJitterAtTheTopOfTheDraw() {
        let delays = (1...6).map { policy.delay(afterFailures: $0, random: 0) }
        #expect(delays == [.seconds(10), .seconds(20), .seconds(40), .seconds(60), .seconds(60), .seconds(60)])
    }

    @Test func jitterTakesUpToItsShareOffTheDelay() {
        #expect(policy.delay(afterFailures: 2, random: 0.999_999) == .microseconds(10_000_010))
        #expect(policy.delay(afterFailures: 2, random: 0.5) == .seconds(15))
        #expect(policy.delay(afterFailures: 3, random: 0.25) == .seconds(35))
    }

    @Test func attemptsStopAtTheMaximum() {
        #expect(policy.allowsAttempt(afterFailures: 3))
        #expect(!policy.allowsAttempt(afterFailures: 4))
    }

    @Test func aHugeFailureCountStaysAtTheCap() {
        #expect(policy.delay(afterFailures: 10_000, random: 0) == .seconds(60))
    }

    @Test func unusablePoliciesAreNamed() {
        var bad = policy
        bad.maximumAttempts = 0
        #expect(bad.problem == "the maximum attempts are below 1")
        bad = policy
        bad.jitter = 1.5
        #expect(bad.problem == "the jitter is outside 0...1")
        bad = policy
        bad.maximumDelay = .seconds(1)
        #expect(bad.problem == "the maximum delay is below the initial delay")
        #expect(policy.problem == nil)
    }
}
