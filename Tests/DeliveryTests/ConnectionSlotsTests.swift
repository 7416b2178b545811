import Synchronization
import Testing

@testable import Delivery

@Suite(.timeLimit(.minutes(6)))
struct ConnectionSlotsTests {
    @Test func aSendBeyondTheLimitWaitsAndTheLongestWaitingGetsTheNextSlot() async {
        let slots = ConnectionSlots(limit: 2)
        #expect(await slots.acquire())
        #expect(await slots.acquire())
        #expect(slots.free == 0)
        let order = Arrivals()
        let first = Task {
            order.append(await slots.acquire() ? 1 : -1)
        }
        while slots.waiting < 1 { await Task.yield() }
        let second = Task {
            order.append(await slots.acquire() ? 2 : -2)
        }
        while slots.waiting < 2 { await Task.yield() }
        #expect(order.entries.isEmpty)
        #expect(slots.use == ConnectionSlots.Use(inUse: 2, waiting: 2))

        slots.release()
        await first.value
        #expect(order.entries == [1])
        #expect(slots.waiting == 1)
        slots.release()
        await second.value
        #expect(order.entries == [1, 2])

        // Four taken, four given back: both free again.
        slots.release()
        slots.release()
        #expect(slots.free == 2)
        #expect(slots.waiting == 0)
        #expect(slots.use == ConnectionSlots.Use(inUse: 0, waiting: 0))
    }

    @Test func aCancelledWaiterLeavesTheQueueWithoutASlot() async {
        let slots = ConnectionSlots(limit: 1)
        #expect(await slots.acquire())
        let cancelled = Task { await slots.acquire() }
        while slots.waiting < 1 { await Task.yield() }
        let behind = Task { await slots.acquire() }
        while slots.waiting < 2 { await Task.yield() }

        cancelled.cancel()
        #expect(await cancelled.value == false)
        #expect(slots.waiting == 1)
        // The slot goes to the send behind it, not to the cancelled one.
        slots.release()
        #expect(await behind.value)
        slots.release()
        #expect(slots.free == 1)
    }

    @Test func aTaskCancelledBeforeItWaitsGetsNoSlot() async {
        let slots = ConnectionSlots(limit: 1)
        #expect(await slots.acquire())
        let gate = Gate()
        let late = Task {
            await gate.wait()
            return await slots.acquire()
        }
        late.cancel()
        gate.open()
        #expect(await late.value == false)
        #expect(slots.waiting == 0)
        slots.release()
        #expect(slots.free == 1)
    }

    @Test func aLimitBelowOneIsOne() async {
        let slots = ConnectionSlots(limit: 0)
        #expect(slots.limit == 1)
        #expect(await slots.acquire())
        #expect(slots.free == 0)
        slots.release()
        #expect(slots.free == 1)
    }
}

/// What the waiting tasks got, in order.
private final class Arrivals: Sendable {
    private let log = Mutex<[Int]>([])
    var entries: [Int] { log.withLock { $0 } }
    func append(_ entry: Int) { log.withLock { $0.append(entry) } }
}

/// Holds a task until opened (without a cancellable wait, so a cancelled task passes it
/// only once it is opened).
private final class Gate: Sendable {
    private let isOpen = Atomic<Bool>(false)
    func open() { isOpen.store(true, ordering: .releasing) }
    func wait() async {
        while !isOpen.load(ordering: .acquiring) { await Task.yield() }
    }
}
