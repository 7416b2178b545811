import Foundation
import PostgresNIO
import ReminderStore
import TestSupport
import Testing

/// The shared token buckets in PostgreSQL: created full, refilled by the database's
/// clock, and never handing out more than the burst plus the rate over the time taken,
/// however many clients take at once.
@Suite(.timeLimit(.minutes(6)))
struct RateLimitStoreTests {
    @Test func aBucketStartsFullAndGivesWholeTokensUpToWhatIsThere() async throws {
        try await TestDatabase.withDatabase { client, _ in
            let store = RateLimitStore(client: client, logger: TestDatabase.logger)
            let first = try await store.take(3, from: "webhook", rate: 0.001, burst: 10)
            #expect(first.granted == 3)
            #expect(abs(first.remaining - 7) < 0.01)
            let second = try await store.take(20, from: "webhook", rate: 0.001, burst: 10)
            #expect(second.granted == 7)
            #expect(second.remaining < 1)
            let empty = try await store.take(1, from: "webhook", rate: 0.001, burst: 10)
            #expect(empty.granted == 0)
            // Another name is another account's bucket.
            #expect(try await store.take(5, from: "sms", rate: 0.001, burst: 10).granted == 5)
        }
    }

    @Test func manyClientsTakingAtOnceGetNoMoreThanTheBurstPlusTheRate() async throws {
        try await TestDatabase.withDatabase { client, _ in
            let (rate, burst) = (40.0, 5.0)
            let start = ContinuousClock.now
            // Eight takers of two tokens at a time, each stopping after 60 takes: about
            // 0.7 s of takes at the limit.
            let granted = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<8 {
                    group.addTask {
                        let store = RateLimitStore(client: client, logger: TestDatabase.logger)
                        var total = 0
                        for _ in 0..<60 {
                            total += try await store.take(2, from: "shared", rate: rate, burst: burst).granted
                            try await Task.sleep(for: .milliseconds(10))
                        }
                        return total
                    }
                }
                return try await group.reduce(0, +)
            }
            let seconds = (ContinuousClock.now - start) / .seconds(1)
            #expect(granted > 0)
            // The database's clock ran no longer than this test's: at most burst + rate × that.
            #expect(Double(granted) <= burst + rate * seconds + 0.001, "\(granted) tokens in \(seconds) s")
            // Not starved: more than the burst was granted, so the bucket refilled and was
            // taken from again. (How close to the rate it gets depends on the machine's
            // load: the benchmark measures that, not a test.)
            #expect(Double(granted) > burst, "\(granted) tokens in \(seconds) s")
        }
    }
}
