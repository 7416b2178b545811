import Foundation
import ReminderStore
import Synchronization
import TestSupport
import Testing

/// Ingest's hand-off of new reminders' status records to the relay: which handed records
/// the relay publishes, what the hand-off keeps, and, against a model of PostgreSQL's
/// transactions with scans, hand-offs and failed publishes, that every record is
/// published, each reminder's records in order, and the scan floor never passes one that
/// is not.
@Suite struct StatusHandOffTests {
    static func record(_ sequence: Int64, _ reminder: String) -> StatusEventStore.Record {
        StatusEventStore.Record(
            id: UUID(), sequence: sequence, type: "scheduled", reminderID: reminder, userID: "user-1",
            correlationID: nil, occurrence: nil, attempt: 0, channel: nil, provider: nil, willRetry: nil,
            dueAt: nil, reason: nil, error: nil, detail: nil, at: "2027-01-03T08:00:00.000000Z")
    }

    @Test func aHandedRecordAScanCouldHaveReadIsLeftToTheScansWithItsRemindersLaterOnes() {
        let handed = [
            Self.record(8, "a"), Self.record(9, "b"), Self.record(10, "b"), Self.record(12, "a"),
            Self.record(13, "c"), Self.record(14, "b"),
        ]
        // Scans have read up to 9: b's 9 and so its 10 and 14 are left; a's 8 too, and its 12.
        #expect(StatusHandOff.publishable(handed, scannedThrough: 9).map(\.sequence) == [13])
        #expect(StatusHandOff.publishable(handed, scannedThrough: 7).map(\.sequence) == [8, 9, 10, 12, 13, 14])
        #expect(StatusHandOff.publishable(handed, scannedThrough: 12).map(\.sequence) == [13])
        #expect(StatusHandOff.publishable(handed, scannedThrough: 14).isEmpty)
        // Every threshold: a record is published exactly when it and its reminder's earlier
        // handed records are all above it.
        for threshold in Int64(0)...15 {
            let published = Set(StatusHandOff.publishable(handed, scannedThrough: threshold).map(\.sequence))
            for (index, record) in handed.enumerated() {
                let earlier = handed[...index].filter { $0.reminderID == record.reminderID }
                #expect(published.contains(record.sequence) == earlier.allSatisfy { $0.sequence > threshold })
            }
        }
    }

    @Test func itKeepsAndTakesOffersWholeOnlyWhileOpenAndWithinItsCapacityOldestFirst() {
        let handOff = StatusHandOff(capacity: 5)
        handOff.offer([Self.record(1, "a")])
        #expect(handOff.isEmpty && !handOff.isOpen)
        handOff.setOpen(true)
        handOff.offer([Self.record(1, "a"), Self.record(2, "b"), Self.record(3, "a")])
        handOff.offer([Self.record(4, "c"), Self.record(5, "c"), Self.record(6, "d")])  // 6 > 5: dropped whole
        handOff.offer([Self.record(7, "e"), Self.record(8, "e")])
        // Offers are never split: two records asked for, the first offer's three come.
        #expect(handOff.take(upTo: 2).map(\.sequence) == [1, 2, 3])
        handOff.offer([Self.record(9, "f"), Self.record(10, "f")])
        handOff.offer([Self.record(11, "g")])
        #expect(handOff.take(upTo: 4).map(\.sequence) == [7, 8, 9, 10])
        #expect(handOff.take(upTo: 4).map(\.sequence) == [11])
        #expect(handOff.isEmpty && handOff.take(upTo: 10).isEmpty)
        handOff.offer([Self.record(12, "h")])
        handOff.setOpen(false)
        #expect(handOff.isEmpty)
        handOff.setOpen(true)
        // Never empty, taken an offer at a time, well past its capacity in all.
        handOff.offer([Self.record(99, "h")])
        var taken: [Int64] = []
        for round in Int64(0)..<100 {
            handOff.offer((0..<2).map { Self.record(100 + round * 2 + $0, "h\(round)") })
            taken += handOff.take(upTo: 2).map(\.sequence)
        }
        taken += handOff.take(upTo: 1_000).map(\.sequence)
        #expect(taken == Array(99..<300))
        // Full: what does not fit is dropped.
        handOff.offer((0..<5).map { Self.record(400 + $0, "i") })
        handOff.offer([Self.record(405, "j")])
        #expect(handOff.take(upTo: 100).map(\.sequence) == Array(400..<405))
    }

    /// The relay waits for offers instead of an idle interval: it hears of each offer kept,
    /// however often the hand-off is shut and opened again, and of no offer dropped.
    @Test func itTellsOfEveryOfferItKeepsAndOfNoOther() {
        let told = Mutex(0)
        let handOff = StatusHandOff(capacity: 3)
        handOff.whenOffered { told.withLock { $0 += 1 } }
        handOff.offer([Self.record(1, "a")])  // shut
        #expect(told.withLock { $0 } == 0)
        handOff.setOpen(true)
        handOff.offer([Self.record(2, "b"), Self.record(3, "b")])
        handOff.offer([Self.record(4, "c"), Self.record(5, "c")])  // full
        handOff.offer([])
        #expect(told.withLock { $0 } == 1)
        handOff.offer([Self.record(6, "d")])
        #expect(told.withLock { $0 } == 2)
        handOff.setOpen(false)
        handOff.setOpen(true)
        handOff.offer([Self.record(7, "e"), Self.record(8, "e"), Self.record(9, "e")])
        #expect(told.withLock { $0 } == 3)
        #expect(handOff.take(upTo: 10).map(\.sequence) == [7, 8, 9])
    }

    /// The model: transactions take ids when they start and sequence numbers as they write;
    /// an ingest transaction writes the records of reminders it creates and, once committed,
    /// hands them over (some steps later, or never when the hand-off is closed or full); a
    /// later transaction writes one record of a reminder whose creation has committed and
    /// that no other running transaction writes (as dispatch or a cancel does, holding the
    /// reminder's row). The relay scans (reading what a scan from the floor reads,
    /// a batch at most) or publishes from the hand-off while its last scan was complete and
    /// nothing failed since; one publish in twelve fails, holding back its reminder's later
    /// records in the batch, and closes the hand-off until a complete scan. After every
    /// step the floor has passed no record that is running or unpublished; at the end every
    /// record is published, and for each reminder the last copy of each record follows the
    /// last copies of its earlier records.
    @Test(arguments: 0..<300) func scansAndHandOffsTogetherPublishEveryRecordInOrderPerReminder(seed: UInt64) {
        var random = SeededRandom(seed: seed)
        var floor = OutboxScanFloor(fullScanEvery: 1_000_000)
        let limit = Int.random(in: 2...8, using: &random)
        let handOff = StatusHandOff(capacity: Int.random(in: 3...30, using: &random))
        var nextXid: Int64 = 100
        var nextSequence: Int64 = 1
        var nextReminder = 0
        // Running transactions: their records and whether they create reminders.
        var running: [Int64: (records: [StatusEventStore.Record], ingest: Bool)] = [:]
        var committed: [Int64: StatusEventStore.Record] = [:]
        var created: [String] = []  // reminders whose creation committed
        var published = Set<Int64>()  // marked published: deleted from the outbox
        var topic: [StatusEventStore.Record] = []
        var offers: [[StatusEventStore.Record]] = []  // committed, not handed over yet
        var complete = false

        // Publishes a batch: each record goes out unless it fails; marked are those that
        // went out and have no earlier failed record of their reminder in the batch.
        func publish(_ batch: [StatusEventStore.Record]) -> (marked: [Int64], failed: Bool) {
            var held = Set<String>()
            var marked: [Int64] = []
            for record in batch {
                if Int.random(in: 0..<12, using: &random) == 0 {
                    held.insert(record.reminderID)
                    continue
                }
                topic.append(record)
                if !held.contains(record.reminderID) { marked.append(record.sequence) }
            }
            published.formUnion(marked)
            return (marked, !held.isEmpty)
        }

        func scan() {
            let xmin = running.keys.min() ?? nextXid
            let visible = committed.keys.filter { !published.contains($0) }.sorted()
            let start = floor.scanStart
            let read = Array(visible.filter { $0 > start }.prefix(limit))
            #expect(read == Array(visible.prefix(limit)), "seed \(seed): a scan from \(start) missed a record")
            floor.scanned(from: start, sequences: read, xmin: xmin, xmax: nextXid)
            let (_, failed) = publish(read.map { committed[$0]! })
            complete = read.count < limit && !failed
            handOff.setOpen(complete)
        }

        func relayHandedOff() {
            let handed = handOff.take(upTo: limit)
            let (marked, failed) = publish(StatusHandOff.publishable(handed, scannedThrough: floor.scannedThrough))
            floor.handedOff(published: marked)
            if failed {
                complete = false
                handOff.setOpen(false)
            }
        }

        for _ in 0..<600 {
            switch Int.random(in: 0..<14, using: &random) {
            case 0, 1:
                running[nextXid] = ([], Bool.random(using: &random) || created.isEmpty)
                nextXid += 1
            case 2, 3, 4:
                // A write: a new reminder's records, or a record of a created reminder.
                guard let xid = running.keys.sorted().randomElement(using: &random) else { break }
                if running[xid]!.ingest {
                    // A new reminder, or another record of one it created (a replace or a
                    // cancel in the same batch), other transactions' sequences between.
                    var reminder = "r\(nextReminder)"
                    if let own = running[xid]!.records.randomElement(using: &random), Bool.random(using: &random) {
                        reminder = own.reminderID
                    } else {
                        nextReminder += 1
                    }
                    running[xid]!.records.append(Self.record(nextSequence, reminder))
                    nextSequence += 1
                } else if let reminder = created.randomElement(using: &random),
                    running.allSatisfy({ $0.key == xid || !$0.value.records.contains { $0.reminderID == reminder } })
                {
                    // The writer holds the reminder's row until it ends, as dispatch's claim and
                    // ingest's lock do: one writer of a reminder's records at a time.
                    running[xid]!.records.append(Self.record(nextSequence, reminder))
                    nextSequence += 1
                }
            case 5, 6:
                guard let xid = running.keys.sorted().randomElement(using: &random) else { break }
                let (records, ingest) = running.removeValue(forKey: xid)!
                for record in records { committed[record.sequence] = record }
                if ingest {
                    created += Set(records.map(\.reminderID)).sorted()
                    offers.append(records)
                }
            case 7:
                if let xid = running.keys.sorted().randomElement(using: &random) { running[xid] = nil }  // rolled back
            case 8:
                if !offers.isEmpty { handOff.offer(offers.removeFirst()) }
            case 9, 10:
                if complete && !handOff.isEmpty { relayHandedOff() } else { scan() }
            default:
                scan()
            }
            let unsettled = running.values.flatMap(\.records).map(\.sequence).filter { $0 <= floor.floor }
            #expect(unsettled.isEmpty, "seed \(seed): the floor \(floor.floor) passed running \(unsettled)")
            let unpublished = committed.keys.filter { !published.contains($0) && $0 <= floor.floor }
            #expect(unpublished.isEmpty, "seed \(seed): the floor \(floor.floor) passed \(unpublished.sorted())")
        }
        for xid in running.keys.sorted() {
            let (records, ingest) = running.removeValue(forKey: xid)!
            for record in records { committed[record.sequence] = record }
            if ingest { offers.append(records) }
        }
        for offer in offers {
            handOff.offer(offer)
            if complete && !handOff.isEmpty { relayHandedOff() }
        }
        for _ in 0..<(committed.count * 2 + 20) where Set(committed.keys) != published { scan() }
        #expect(Set(committed.keys) == published, "seed \(seed): every record published")
        var last: [Int64: Int] = [:]
        for (index, record) in topic.enumerated() { last[record.sequence] = index }
        let byReminder = Dictionary(grouping: committed.values, by: \.reminderID)
        for (reminder, records) in byReminder {
            let order = records.map(\.sequence).sorted().map { last[$0]! }
            #expect(order == order.sorted(), "seed \(seed): \(reminder)'s records out of order")
        }
    }
}
