import NIOCore
import NIOPosix
import Synchronization
import Testing

@testable import Delivery

/// The requests' limits: each request ends once its deadline has passed, never before and
/// never after it was left, and the sweeps run only while requests are in flight.
@Suite struct RequestDeadlinesTests {
    let start = NIODeadline.uptimeNanoseconds(1_000_000_000)

    @Test func aRequestEndsAtItsDeadlineNotBeforeAndOnce() {
        var table = RequestDeadlineTable<String>()
        _ = table.enter(deadline: start + .seconds(10), end: "first")
        _ = table.enter(deadline: start + .seconds(5), end: "second")
        #expect(table.expire(now: start + .seconds(4)).ended.isEmpty)
        let atFive = table.expire(now: start + .seconds(5))
        #expect(atFive.ended == ["second"])
        #expect(atFive.sweepAgain)
        #expect(table.expire(now: start + .seconds(9)).ended.isEmpty)
        let late = table.expire(now: start + .seconds(60))
        #expect(late.ended == ["first"])
        #expect(!late.sweepAgain)
        #expect(table.expire(now: start + .seconds(120)).ended.isEmpty)
        #expect(table.count == 0)
    }

    @Test func aRequestLeftBeforeItsDeadlineNeverEnds() {
        var table = RequestDeadlineTable<Int>()
        var ids: [UInt64] = []
        for number in 0..<10 {
            ids.append(table.enter(deadline: start + .seconds(Int64(number)), end: number).id)
        }
        #expect(Set(ids).count == 10)
        for (number, id) in ids.enumerated() where number % 2 == 0 { table.leave(id) }
        table.leave(12_345)
        #expect(table.count == 5)
        let ended = table.expire(now: start + .seconds(100)).ended
        #expect(ended.sorted() == [1, 3, 5, 7, 9])
    }

    @Test func theSweepsStartWithTheFirstRequestAndStopWhenNoneIsLeft() {
        var table = RequestDeadlineTable<Int>()
        #expect(!table.sweeping)
        #expect(table.enter(deadline: start + .seconds(1), end: 1).startSweeping)
        let second = table.enter(deadline: start + .seconds(30), end: 2)
        #expect(!second.startSweeping)
        #expect(table.expire(now: start + .seconds(2)).sweepAgain)
        table.leave(second.id)
        // Nothing in flight: the next sweep is the last.
        #expect(!table.expire(now: start + .seconds(3)).sweepAgain)
        #expect(!table.sweeping)
        #expect(table.enter(deadline: start + .seconds(40), end: 3).startSweeping)
        #expect(table.sweeping)
    }

    @Test func onAnEventLoopAPassedDeadlineEndsItsRequestAndTheSweepsStopWhenNoneIsLeft() async throws {
        let deadlines = RequestDeadlines(
            eventLoop: MultiThreadedEventLoopGroup.singleton.next(), interval: .milliseconds(10))
        let ended = Mutex<[String]>([])
        _ = deadlines.enter(deadline: .now() + .milliseconds(20)) { ended.withLock { $0.append("due") } }
        let left = deadlines.enter(deadline: .now() + .milliseconds(20)) { ended.withLock { $0.append("left") } }
        deadlines.leave(left)
        let far = deadlines.enter(deadline: .now() + .seconds(3_600)) { ended.withLock { $0.append("far") } }
        // Bounded: at most 5 s for a 20 ms deadline swept every 10 ms.
        for _ in 0..<500 {
            if !ended.withLock({ $0.isEmpty }) { break }
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(ended.withLock { $0 } == ["due"])
        #expect(deadlines.count == 1)
        #expect(deadlines.isSweeping)
        deadlines.leave(far)
        for _ in 0..<500 {
            if !deadlines.isSweeping { break }
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(!deadlines.isSweeping)
        #expect(ended.withLock { $0 } == ["due"])
    }
}
