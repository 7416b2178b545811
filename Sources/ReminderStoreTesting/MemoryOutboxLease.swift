import ReminderStore
import Synchronization

/// An outbox's lease in memory, for the memory stores of the relays' outboxes: held by
/// whoever asked first until released, or until the test expires it. The memory stores
/// answer the lease's calls with one (`OutboxLeaseForwarding`).
public final class MemoryOutboxLease: OutboxLeaseStoring {
    private let lease = Mutex<(holder: String?, expired: Bool)>((nil, false))

    public init() {}

    /// Who holds the lease (nil: nobody).
    public var holder: String? {
        lease.withLock { $0.expired ? nil : $0.holder }
    }

    /// The lease runs out, as when its holder stopped renewing it.
    public func expire() {
        lease.withLock { $0.expired = true }
    }

    public func askLease(_ holder: String, for duration: Duration) async throws(StoreError) -> Bool {
        lease.withLock { lease in
            guard lease.holder == nil || lease.holder == holder || lease.expired else { return false }
            lease = (holder, false)
            return true
        }
    }

    public func releaseLease(_ holder: String) async throws(StoreError) {
        lease.withLock { lease in
            if lease.holder == holder { lease = (nil, false) }
        }
    }
}

extension OutboxLeaseForwarding where Lease == MemoryOutboxLease {
    /// Who holds the lease (nil: nobody).
    public var leaseHolder: String? { outboxLease.holder }

    /// The lease runs out, as when its holder stopped renewing it.
    public func expireLease() { outboxLease.expire() }
}
