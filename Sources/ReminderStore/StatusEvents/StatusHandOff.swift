import Synchronization

/// The status records of new reminders, handed by ingest to its instance's status relay
/// once their transaction has committed, so that the relay publishes them without reading
/// them back from the outbox. The outbox still holds every record: what the relay does
/// not take from here (it is not the lease holder, it is behind, a publish failed, the
/// hand-off was full) its scans publish, as before.
///
/// Only a new reminder's records are handed: nothing of that reminder can be in the
/// outbox before them, so publishing them ahead of what the scans have not read yet keeps
/// each reminder's records in order. Which handed records the relay may publish is
/// `publishable`'s rule.
public final class StatusHandOff: Sendable {
    private struct State {
        /// The offers not taken yet, from `start` on.
        var offers: [[StatusEventStore.Record]] = []
        var start = 0
        /// How many records they hold.
        var count = 0
        var open = false
        /// Told of every offer kept (`whenOffered`).
        var onOffer: (@Sendable () -> Void)?
    }

    private let state = Mutex(State())
    /// How many records it holds at most; an offer that does not fit is dropped whole.
    public let capacity: Int

    public init(capacity: Int) {
        self.capacity = capacity
    }

    /// Whether the relay takes records now (it holds the lease and is not behind): while
    /// it does not, ingest does not build them.
    public var isOpen: Bool { state.withLock { $0.open } }

    /// Opens it, or closes it and drops what it holds.
    public func setOpen(_ open: Bool) {
        state.withLock { state in
            state.open = open
            if !open { (state.offers, state.start, state.count) = ([], 0, 0) }
        }
    }

    /// Calls `action` (on ingest's task, soon after the commit) whenever it keeps an offer:
    /// the relay waits for it instead of an idle interval, in which ingest would commit
    /// more than the hand-off holds.
    public func whenOffered(_ action: @escaping @Sendable () -> Void) {
        state.withLock { $0.onOffer = action }
    }

    /// Ingest's committed records of new reminders, in outbox order. Kept whole or
    /// dropped whole, and taken whole: `publishable` must see all of a reminder's handed
    /// records at once, or a part could go out ahead of an earlier record left to the reads.
    public func offer(_ records: [StatusEventStore.Record]) {
        guard !records.isEmpty else { return }
        let tell = state.withLock { state -> (@Sendable () -> Void)? in
            guard state.open, state.count + records.count <= capacity else { return nil }
            state.offers.append(records)
            state.count += records.count
            return state.onOffer
        }
        tell?()
    }

    /// Whole offers, oldest first, as many as fit in `limit` records, and at least one.
    public func take(upTo limit: Int) -> [StatusEventStore.Record] {
        state.withLock { state in
            var taken: [StatusEventStore.Record] = []
            while state.start < state.offers.count
                && (taken.isEmpty || taken.count + state.offers[state.start].count <= limit)
            {
                taken += state.offers[state.start]
                state.offers[state.start] = []
                state.start += 1
            }
            state.count -= taken.count
            if state.start == state.offers.count {
                state.offers.removeAll(keepingCapacity: true)
                state.start = 0
            } else if state.start >= 64 {
                state.offers.removeFirst(state.start)
                state.start = 0
            }
            return taken
        }
    }

    public var isEmpty: Bool { state.withLock { $0.count == 0 } }

    /// Which handed records the relay publishes now, in order: those after every sequence
    /// a scan has read (`scannedThrough`) — a scan that read a record published it or
    /// holds it for a retry, and a record it did not read yet is left to the next scan —
    /// except a reminder's records after one of its own that is left, which the scans
    /// publish after it.
    public static func publishable(
        _ records: [StatusEventStore.Record], scannedThrough: Int64
    ) -> [StatusEventStore.Record] {
        var left = Set<String>()
        var publishable: [StatusEventStore.Record] = []
        publishable.reserveCapacity(records.count)
        for record in records {
            if record.sequence > scannedThrough && !left.contains(record.reminderID) {
                publishable.append(record)
            } else {
                left.insert(record.reminderID)
            }
        }
        return publishable
    }
}
