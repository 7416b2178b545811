import Delivery
import Testing

@Suite struct TokenBucketTests {
    let start = ContinuousClock.now

    @Test func theBurstIsFreeAndTheRestWaitsInOrderAtTheRate() {
        var bucket = TokenBucket(configuration: .init(rate: 10, burst: 2), now: start)
        #expect(bucket.take(at: start) == .zero)
        #expect(bucket.take(at: start) == .zero)
        #expect(bucket.take(at: start) == .milliseconds(100))
        #expect(bucket.take(at: start) == .milliseconds(200))
    }

    @Test func tokensComeBackWithTimeUpToTheBurst() {
        var bucket = TokenBucket(configuration: .init(rate: 10, burst: 2), now: start)
        _ = bucket.take(at: start)
        _ = bucket.take(at: start)
        #expect(bucket.take(at: start + .seconds(60)) == .zero)
        #expect(bucket.take(at: start + .seconds(60)) == .zero)
        #expect(bucket.take(at: start + .seconds(60)) == .milliseconds(100))
    }

    @Test func overAMinuteOfDemandTheRateHolds() {
        var bucket = TokenBucket(configuration: .init(rate: 5, burst: 1), now: start)
        var lastWait = Duration.zero
        for _ in 0..<301 { lastWait = bucket.take(at: start) }
        // 301 sends: one from the burst, 300 at 5 a second.
        #expect(lastWait == .seconds(60))
    }
}
