import Foundation
import PostgresNIO
import ReminderCore
import ReminderStore
import TestSupport
import Testing

@Suite(.timeLimit(.minutes(6)))
struct DispatchStoreTests {
    /// Stores one schedule per reminder id, delivered at `deliverAt`.
    private func store(_ reminders: Range<Int>, deliverAt: String, client: PostgresClient) async throws {
        let records = reminders.map { index -> IngestRecord in
            let bytes = Array(
                """
                {"schema_version":1,"type":"schedule","idempotency_key":"k-\(index)","reminder_id":"r-\(index)",\
                "user_id":"user-1","deliver_at":"\(deliverAt)","channels":[{"type":"email","to":"a@b.co"}],\
                "content":{"title":"t","body":"b"}}
                """.utf8)
            return IngestRecord(
                topic: "reminders", partition: 0, offset: Int64(index), key: Array("user-1".utf8), value: bytes,
                headers: [], decoded: .valid(try! ReminderEventDecoder.decode(bytes)))
        }
        _ = try await IngestStore(client: client, logger: TestDatabase.logger).ingest(records)
    }

    @Test func twoClaimersTakeEveryDueReminderOnceBetweenThem() async throws {
        try await TestDatabase.withDatabase { client, _ in
            try await store(0..<300, deliverAt: "2020-01-01T00:00:00Z", client: client)
            try await store(300..<310, deliverAt: "2099-01-01T00:00:00Z", client: client)
            let dispatch = DispatchStore(client: client, logger: TestDatabase.logger)
            let taken = try await withThrowingTaskGroup(of: [DispatchStore.Claimed].self) { group in
                for _ in 0..<2 {
                    group.addTask {
                        var mine: [DispatchStore.Claimed] = []
                        for _ in 0..<100 {
                            let batch = try await dispatch.claim(limit: 7, lease: .seconds(60))
                            if batch.isEmpty { break }
                            mine += batch
                        }
                        return mine
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            let all = taken.flatMap { $0 }
            #expect(all.count == 300)
            #expect(Set(all.map(\.reminderID)).count == 300)
            #expect(!all.contains { Int($0.reminderID.dropFirst(2))! >= 300 })
            #expect(all.allSatisfy { $0.attempt == 1 && $0.previousState == .scheduled && $0.leaseUntil > Date() })
            let claims = try await TestDatabase.count(
                client, "SELECT count(*)::int8 FROM reminder_history WHERE event = 'claim' AND to_state = 'SENDING'"
            )
            #expect(claims == 300)
            let sending = try await TestDatabase.count(
                client, "SELECT count(*)::int8 FROM reminders WHERE state = 'SENDING'")
            #expect(sending == 300)
        }
    }

    @Test func aLeaseThatRunsOutMakesTheReminderClaimableAgainAndALiveOneDoesNot() async throws {
        try await TestDatabase.withDatabase { client, _ in
            try await store(0..<1, deliverAt: "2020-01-01T00:00:00Z", client: client)
            let dispatch = DispatchStore(client: client, logger: TestDatabase.logger)
            let first = try await dispatch.claim(limit: 10, lease: .milliseconds(1))
            #expect(first.map(\.reminderID) == ["r-0"])
            try await Task.sleep(for: .milliseconds(20))
            let again = try await dispatch.claim(limit: 10, lease: .seconds(60))
            #expect(again.map(\.reminderID) == ["r-0"])
            #expect(again.first?.previousState == .sending)
            #expect(again.first?.attempt == 2)
            #expect(try await dispatch.claim(limit: 10, lease: .seconds(60)).isEmpty)
        }
    }

    @Test func theNextDueTimeIsTheEarliestScheduledOne() async throws {
        try await TestDatabase.withDatabase { client, _ in
            let dispatch = DispatchStore(client: client, logger: TestDatabase.logger)
            #expect(try await dispatch.nextDueTime() == nil)
            try await store(0..<1, deliverAt: "2099-01-01T00:00:00Z", client: client)
            try await store(1..<2, deliverAt: "2098-06-01T12:00:00Z", client: client)
            let next = try await dispatch.nextDueTime()
            #expect(next == ISO8601DateFormatter().date(from: "2098-06-01T12:00:00Z"))
        }
    }
}
