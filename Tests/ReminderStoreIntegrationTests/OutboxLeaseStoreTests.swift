import Foundation
import PostgresNIO
import ReminderStore
import TestSupport
import Testing

/// The outboxes' leases in PostgreSQL (`outbox_leases`, migrations 0015 and 0016), as the
/// status and the dead-letter store ask for them.
@Suite(.timeLimit(.minutes(3)))
struct OutboxLeaseStoreTests {
    /// The lease in PostgreSQL: one holder at a time, renewed by it, refused to others
    /// while it runs, taken by whoever asks once it has expired or been given up; of
    /// relays asking at once for a free lease, exactly one gets it.
    @Test(arguments: ["status_events", "dead_letters"])
    func theLeaseHasOneHolderUntilItExpiresOrIsGivenUp(outbox: String) async throws {
        try await TestDatabase.withDatabase { client, _ in
            let store = Self.store(outbox, client)
            #expect(try await store.askLease("a", for: .seconds(30)))
            #expect(try await !store.askLease("b", for: .seconds(30)))
            #expect(try await store.askLease("a", for: .seconds(60)))
            #expect(try await !store.askLease("b", for: .seconds(30)))
            // Renewed for a millisecond and not again: expired for the next asker, who holds
            // it from then on. (A refusal is only checked against leases of a minute or
            // half, which a slow machine cannot outlast between two statements.)
            #expect(try await store.askLease("a", for: .milliseconds(1)))
            try await Task.sleep(for: .milliseconds(50))
            #expect(try await store.askLease("b", for: .seconds(30)))
            #expect(try await !store.askLease("a", for: .seconds(30)))
            // Given up by someone who does not hold it: nothing changes.
            try await store.releaseLease("a")
            #expect(try await !store.askLease("a", for: .seconds(30)))
            try await store.releaseLease("b")
            let askers = (0..<8).map { "relay-\($0)" }
            let granted = try await withThrowingTaskGroup(of: String?.self) { group in
                for asker in askers {
                    group.addTask { try await store.askLease(asker, for: .seconds(30)) ? asker : nil }
                }
                return try await group.reduce(into: [String]()) { if let asker = $1 { $0.append(asker) } }
            }
            #expect(granted.count == 1)
            for asker in askers {
                #expect(try await store.askLease(asker, for: .seconds(30)) == (asker == granted.first))
            }
            // The other outbox's lease is its own.
            let other = Self.store(outbox == "status_events" ? "dead_letters" : "status_events", client)
            #expect(try await other.askLease("other", for: .seconds(30)))
            #expect(try await !store.askLease("other", for: .seconds(30)))
        }
    }

    /// The outbox's store, which asks for its lease.
    static func store(_ outbox: String, _ client: PostgresClient) -> any OutboxLeaseStoring {
        outbox == "status_events"
            ? StatusEventStore(client: client, logger: TestDatabase.logger)
            : DeadLetterStore(client: client, logger: TestDatabase.logger)
    }
}
