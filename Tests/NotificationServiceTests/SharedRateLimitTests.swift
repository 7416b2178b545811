import Delivery
import Foundation
import Logging
import ReminderStore
import ReminderStoreTesting
import Testing

@testable import NotificationService

/// Instances sharing a rate limit through the store: together within the limit, nothing
/// dropped, and at their own share when the store does not answer.
@Suite(.timeLimit(.minutes(6))) struct SharedRateLimitTests {
    static let logger: Logger = {
        var logger = Logger(label: "shared-rate-limit")
        logger.logLevel = .critical
        return logger
    }()

    static func limiter(
        _ store: MemoryRateLimitStore, rate: Double, burst: Double, instances: Int = 3
    ) -> SharedRateLimit {
        SharedRateLimit(
            configuration: .init(
                name: "webhook", limit: .init(rate: rate, burst: burst), instances: instances,
                storeTimeout: .milliseconds(500)),
            store: store, logger: logger)
    }

    @Test func aBatchIsATenthOfASecondOfTheRateAtMostTheBurst() {
        let configuration = SharedRateLimit.Configuration(
            name: "w", limit: .init(rate: 50, burst: 10), instances: 3)
        #expect(configuration.batch == 5)
        #expect(
            SharedRateLimit.Configuration(name: "w", limit: .init(rate: 1_000, burst: 20), instances: 1).batch == 20)
        #expect(SharedRateLimit.Configuration(name: "w", limit: .init(rate: 2, burst: 2), instances: 1).batch == 1)
        #expect(configuration.localShare == .init(rate: 50.0 / 3, burst: 10.0 / 3))
    }

    @Test func threeInstancesTogetherTakeNoMoreThanTheBurstPlusTheRateAndEverySendGoes() async {
        let store = MemoryRateLimitStore()
        let (rate, burst) = (100.0, 5.0)
        let limiters = (0..<3).map { _ in Self.limiter(store, rate: rate, burst: burst) }
        let start = ContinuousClock.now
        await withTaskGroup(of: Void.self) { group in
            for limiter in limiters {
                for _ in 0..<20 { group.addTask { await limiter.acquire() } }
            }
        }
        let elapsed = ContinuousClock.now - start
        let takes = store.takes
        #expect(takes.reduce(0) { $0 + $1.granted } == 60)
        // 55 tokens beyond the burst at 100 a second.
        #expect(elapsed >= .milliseconds(540))
        // Over any stretch between two takes, no more than the burst plus the rate over it.
        for (index, first) in takes.enumerated() {
            var granted = 0
            for take in takes[index...] {
                granted += take.granted
                let seconds = (take.at - first.at).inSeconds
                #expect(Double(granted) <= burst + rate * seconds + 0.001)
            }
        }
        // One statement per batch, not one per send.
        #expect(takes.count < 60)
    }

    @Test func withoutTheStoreAnInstanceSendsAtItsShareOfTheLimit() async {
        let store = MemoryRateLimitStore()
        store.failNext(1_000)
        // 100 a second shared by 2: 50 a second here, a burst of 2.
        let limiter = Self.limiter(store, rate: 100, burst: 4, instances: 2)
        let start = ContinuousClock.now
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<12 { group.addTask { await limiter.acquire() } }
        }
        // 10 tokens beyond the local burst at 50 a second.
        #expect(ContinuousClock.now - start >= .milliseconds(190))
        #expect(store.takes.isEmpty)
    }

    @Test func afterTheStoreAnswersAgainTokensComeFromItAgain() async {
        let store = MemoryRateLimitStore()
        store.failNext(1)
        let limiter = Self.limiter(store, rate: 1_000, burst: 10, instances: 1)
        for _ in 0..<5 { await limiter.acquire() }
        #expect(store.takes.reduce(0) { $0 + $1.granted } >= 4)
    }

    @Test func aSendCancelledWhileItWaitsStopsWaiting() async {
        let store = MemoryRateLimitStore()
        // One token, then one every 100 s.
        let limiter = Self.limiter(store, rate: 0.01, burst: 1, instances: 1)
        await limiter.acquire()
        let waiting = Task { await limiter.acquire() }
        try? await Task.sleep(for: .milliseconds(50))
        waiting.cancel()
        // Without the cancellation this would wait 100 s, past the suite's time limit.
        await waiting.value
        #expect(store.takes.reduce(0) { $0 + $1.granted } == 1)
    }
}
