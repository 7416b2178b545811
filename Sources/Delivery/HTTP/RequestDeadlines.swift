import NIOCore
import Synchronization

/// The time limits of the HTTP requests in flight, kept by one timer for all of them.
///
/// AsyncHTTPClient's own limit arms a timer on an event loop for every request and
/// cancels it when the answer comes: both from the sender's thread, so each takes the
/// loop's lock, wakes it, and (the cancel) searches its queue of timers. With a hundred
/// sends in flight that was about a twentieth of the service's CPU in the herd (perf,
/// issue 19). Here a request is entered with its deadline and how to end it, and left
/// when it is done; a sweep every `interval`, on one event loop, ends those whose
/// deadline has passed. A limit is therefore kept to within an interval, late by at most
/// that much, never early. The sweeps run only while requests are in flight.
final class RequestDeadlines: Sendable {
    typealias End = @Sendable () -> Void

    private let table = Mutex(RequestDeadlineTable<End>())
    private let eventLoop: any EventLoop
    let interval: TimeAmount

    init(eventLoop: any EventLoop, interval: TimeAmount = .milliseconds(100)) {
        self.eventLoop = eventLoop
        self.interval = interval
    }

    /// Enters a request: `end` runs once `deadline` has passed, unless it is left before.
    func enter(deadline: NIODeadline, end: @escaping End) -> UInt64 {
        let (id, startSweeping) = table.withLock { $0.enter(deadline: deadline, end: end) }
        if startSweeping { scheduleSweep() }
        return id
    }

    /// The request is done: its `end` will not run.
    func leave(_ id: UInt64) {
        table.withLock { $0.leave(id) }
    }

    /// Requests in flight.
    var count: Int { table.withLock { $0.count } }

    /// Whether a sweep is scheduled.
    var isSweeping: Bool { table.withLock { $0.sweeping } }

    private func scheduleSweep() {
        eventLoop.scheduleTask(in: interval) { self.sweep() }
    }

    private func sweep() {
        let (ended, sweepAgain) = table.withLock { $0.expire(now: .now()) }
        for end in ended { end() }
        if sweepAgain { scheduleSweep() }
    }
}

/// `RequestDeadlines`' bookkeeping: the requests in flight with their deadlines, and
/// whether the sweeps run.
struct RequestDeadlineTable<End> {
    private var nextID: UInt64 = 0
    private var running: [UInt64: (deadline: NIODeadline, end: End)] = [:]
    /// Whether a sweep is scheduled.
    private(set) var sweeping = false

    var count: Int { running.count }

    /// Enters a request; `startSweeping`: no sweep was scheduled, the caller schedules one.
    mutating func enter(deadline: NIODeadline, end: End) -> (id: UInt64, startSweeping: Bool) {
        nextID &+= 1
        running[nextID] = (deadline, end)
        defer { sweeping = true }
        return (nextID, !sweeping)
    }

    mutating func leave(_ id: UInt64) {
        running.removeValue(forKey: id)
    }

    /// Takes out the requests whose deadline is `now` or before, and returns how to end
    /// them; `sweepAgain`: some are still in flight, the caller schedules the next sweep
    /// (when none are, the sweeps stop until the next `enter`).
    mutating func expire(now: NIODeadline) -> (ended: [End], sweepAgain: Bool) {
        var ended: [End] = []
        for (id, request) in running.filter({ $0.value.deadline <= now }) {
            ended.append(request.end)
            running.removeValue(forKey: id)
        }
        sweeping = !running.isEmpty
        return (ended, sweeping)
    }
}
