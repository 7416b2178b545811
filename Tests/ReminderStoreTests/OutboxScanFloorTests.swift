import ReminderStore
import TestSupport
import Testing

/// The status relay's scan floor against a model of PostgreSQL's transactions: ids handed
/// out at a transaction's first write, sequence numbers at each insert, commits in any
/// order, snapshots with `xmin` and `xmax`. The floor never passes a record that is not
/// published yet, however late it commits.
@Suite struct OutboxScanFloorTests {
    @Test func aRecordCommittedAfterHigherOnesWerePublishedKeepsTheFloorBelowIt() {
        var floor = OutboxScanFloor()
        // Transaction 10 holds sequence 1, not committed; transaction 11 wrote 2 and
        // committed. A scan sees 2 (xmin 10: transaction 10 still runs; xmax 12).
        floor.scanned(from: floor.scanStart, sequences: [2], xmin: 10, xmax: 12)
        #expect(floor.floor == 0)
        // 2 is published; later scans while transaction 10 runs do not move the floor.
        floor.scanned(from: floor.scanStart, sequences: [], xmin: 10, xmax: 13)
        floor.scanned(from: floor.scanStart, sequences: [], xmin: 10, xmax: 14)
        #expect(floor.floor == 0)
        // Transaction 10 commits: the next scan reads 1 (from 0, the floor).
        #expect(floor.scanStart == 0)
        floor.scanned(from: floor.scanStart, sequences: [1], xmin: 14, xmax: 14)
        #expect(floor.floor == 0)
        // Once 1 is published, the floor moves past both.
        floor.scanned(from: floor.scanStart, sequences: [], xmin: 14, xmax: 14)
        #expect(floor.floor == 2)
        #expect(floor.scanStart == 2)
    }

    @Test func aRecordWhosePublishingFailedHoldsTheFloorBelowItUntilItIsPublished() {
        var floor = OutboxScanFloor()
        floor.scanned(from: 0, sequences: [1, 2, 3], xmin: 5, xmax: 5)
        // 2 failed and is read again; 1 and 3 are published.
        floor.scanned(from: floor.scanStart, sequences: [2], xmin: 6, xmax: 6)
        floor.scanned(from: floor.scanStart, sequences: [2], xmin: 6, xmax: 6)
        #expect(floor.floor == 0)
        floor.scanned(from: floor.scanStart, sequences: [], xmin: 6, xmax: 6)
        #expect(floor.floor == 3)
    }

    @Test func aScanFromTheBeginningThatFindsARecordBelowTheFloorLowersIt() {
        var floor = OutboxScanFloor(fullScanEvery: 4)
        floor.scanned(from: 0, sequences: [5, 6], xmin: 9, xmax: 9)
        floor.scanned(from: floor.scanStart, sequences: [], xmin: 9, xmax: 9)
        #expect(floor.floor == 6)
        for _ in 0..<3 {
            #expect(floor.scanStart == 6)
            floor.scanned(from: floor.scanStart, sequences: [], xmin: 9, xmax: 9)
        }
        // Every fourth scan starts from the beginning; it finds 4, committed late by a
        // transaction that took its sequence before its id.
        #expect(floor.scanStart == 0)
        floor.scanned(from: floor.scanStart, sequences: [4], xmin: 9, xmax: 9)
        #expect(floor.floor == 3)
        #expect(floor.scanStart == 3)
    }

    /// Random runs of the model: transactions begin (taking an id), insert records (taking
    /// sequence numbers), commit or roll back in any order; the relay scans from the floor
    /// (a batch of at most `limit`), publishes what it read except one in ten, and the
    /// floor takes the scan in. After every step, no record at or below the floor is
    /// committed and unpublished, or in a running transaction; a scan from the floor reads
    /// what a scan from the beginning would; at the end, with everything committed and
    /// published, the floor reaches the last sequence.
    @Test(arguments: 0..<40) func theFloorNeverPassesAnUnpublishedRecordInRandomRuns(seed: UInt64) {
        var random = SeededRandom(seed: seed)
        var floor = OutboxScanFloor(fullScanEvery: 1_000_000)
        var nextXid: Int64 = 100
        var nextSequence: Int64 = 1
        var running: [Int64: [Int64]] = [:]
        var committed = Set<Int64>()
        var published = Set<Int64>()
        let limit = Int.random(in: 1...6, using: &random)

        func scan() {
            let xmin = running.keys.min() ?? nextXid
            let visible = committed.subtracting(published).sorted()
            let start = floor.scanStart
            let read = Array(visible.filter { $0 > start }.prefix(limit))
            #expect(read == Array(visible.prefix(limit)), "seed \(seed): a scan from \(start) missed a record")
            floor.scanned(from: start, sequences: read, xmin: xmin, xmax: nextXid)
            for sequence in read where Int.random(in: 0..<10, using: &random) > 0 { published.insert(sequence) }
        }

        for _ in 0..<400 {
            switch Int.random(in: 0..<10, using: &random) {
            case 0, 1:
                running[nextXid] = []
                nextXid += 1
            case 2, 3, 4:
                if let xid = running.keys.randomElement(using: &random) {
                    running[xid]!.append(nextSequence)
                    nextSequence += 1
                }
            case 5:
                if let xid = running.keys.randomElement(using: &random) {
                    committed.formUnion(running.removeValue(forKey: xid)!)
                }
            case 6:
                if let xid = running.keys.randomElement(using: &random) { running[xid] = nil }
            default:
                scan()
            }
            let unsettled = running.values.joined().filter { $0 <= floor.floor }
            #expect(unsettled.isEmpty, "seed \(seed): the floor \(floor.floor) passed running \(unsettled)")
            let unpublished = committed.subtracting(published).filter { $0 <= floor.floor }
            #expect(unpublished.isEmpty, "seed \(seed): the floor \(floor.floor) passed \(unpublished.sorted())")
        }
        for xid in running.keys { committed.formUnion(running[xid]!) }
        running = [:]
        for _ in 0..<(committed.count + 10) { scan() }
        #expect(published == committed, "seed \(seed)")
        #expect(committed.isEmpty || floor.floor == committed.max()!, "seed \(seed): floor \(floor.floor)")
    }
}
