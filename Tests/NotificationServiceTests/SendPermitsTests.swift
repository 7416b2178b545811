import Synchronization
import Testing

@testable import NotificationService

@Suite(.timeLimit(.minutes(6))) struct SendPermitsTests {
    @Test func aSendBeyondTheLimitWaitsForAPermitAndTheLongestWaitingGetsTheNextOne() async throws {
        let permits = SendPermits(2)
        await permits.acquire()
        await permits.acquire()
        #expect(permits.available == 0)
        let order = OrderLog()
        let first = Task {
            await permits.acquire()
            order.append(1)
        }
        while permits.waiting < 1 { await Task.yield() }
        let second = Task {
            await permits.acquire()
            order.append(2)
        }
        while permits.waiting < 2 { await Task.yield() }
        #expect(order.entries.isEmpty)

        permits.release()
        await first.value
        #expect(order.entries == [1])
        #expect(permits.waiting == 1)
        permits.release()
        await second.value
        #expect(order.entries == [1, 2])

        // Four permits taken, four given back: both free again.
        permits.release()
        permits.release()
        #expect(permits.available == 2)
        #expect(permits.waiting == 0)
    }

    @Test func aLimitBelowOneStillLetsOneSendThrough() async {
        let permits = SendPermits(0)
        #expect(permits.available == 1)
        await permits.acquire()
        #expect(permits.available == 0)
        permits.release()
        #expect(permits.available == 1)
    }
}

/// What the waiting tasks did, in order.
private final class OrderLog: Sendable {
    private let log = Mutex<[Int]>([])
    var entries: [Int] { log.withLock { $0 } }
    func append(_ entry: Int) { log.withLock { $0.append(entry) } }
}
