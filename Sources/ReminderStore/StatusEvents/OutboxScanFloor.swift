/// Where the status relay's scan of the outbox may start, so that it does not walk every
/// record published since the last vacuum. A published record is deleted (or moved to
/// the table of kept ones), but its entry stays in the outbox's key until a vacuum; a
/// scan from the first sequence steps over all of them, and the relay scans many times a
/// second.
///
/// Sequence numbers are handed out when a record is inserted, not when it commits: a
/// record can become visible after records with higher numbers were read and published.
/// The floor therefore only moves to a sequence once no transaction that may hold a lower
/// one can still be running: a scan proposes the highest sequence read so far with its
/// snapshot's `xmax` (the next transaction id then), and a later scan whose snapshot's `xmin` (the
/// oldest transaction still running) has reached that `xmax` moves the floor there — if
/// it read nothing unpublished at or below it (a record whose publishing failed keeps the
/// floor below it). This holds because every transaction that writes a status record has
/// an id before it takes a sequence number (the state change it describes is written
/// first in the same transaction). As a safety net, every `fullScanEvery`-th scan starts
/// from the beginning, and a record it finds below the floor lowers the floor again.
public struct OutboxScanFloor: Sendable, Equatable {
    struct Proposal: Sendable, Equatable {
        let sequence: Int64
        /// The next transaction id when the proposing scan ran.
        let horizon: Int64
    }

    /// Every record at or below it is published, or was never committed.
    public private(set) var floor: Int64 = 0
    private(set) var proposal: Proposal?
    /// The highest sequence any scan has read, or the relay published from ingest's
    /// hand-off (`handedOff`): what the next proposal proposes.
    private var highestRead: Int64 = 0
    /// The highest sequence any scan has read: a record above it was never read by one
    /// (`StatusHandOff.publishable`).
    public private(set) var scannedThrough: Int64 = 0
    private var scansSinceFull = 0
    let fullScanEvery: Int

    public init(fullScanEvery: Int = 100) {
        self.fullScanEvery = max(1, fullScanEvery)
    }

    /// The sequence the next scan reads after (0: from the beginning).
    public var scanStart: Int64 {
        scansSinceFull + 1 >= fullScanEvery ? 0 : floor
    }

    /// Takes in what a scan from `start` read: the sequences of the unpublished records it
    /// found, ascending, at a snapshot with `xmin` and `xmax` (64-bit transaction ids).
    public mutating func scanned(from start: Int64, sequences: [Int64], xmin: Int64, xmax: Int64) {
        scansSinceFull = start == 0 ? 0 : scansSinceFull + 1
        let lowest = sequences.first ?? .max
        if lowest <= floor {
            // Found by a scan from the beginning: the floor had passed it.
            floor = lowest - 1
            proposal = nil
        }
        if let proposal, xmin >= proposal.horizon, lowest > proposal.sequence {
            floor = max(floor, proposal.sequence)
            self.proposal = nil
        }
        highestRead = max(highestRead, sequences.last ?? 0)
        scannedThrough = max(scannedThrough, sequences.last ?? 0)
        if proposal == nil, highestRead > floor {
            // A transaction holding a lower sequence had its id before that sequence was
            // read, so before this scan: below `xmax`.
            proposal = Proposal(sequence: highestRead, horizon: xmax)
        }
    }

    /// Takes in records ingest handed over that the relay published and marked without a
    /// scan reading them (`StatusHandOff`). The next scan proposes them: a transaction
    /// holding a lower sequence had its id before the handed record's transaction
    /// committed, so before that scan.
    public mutating func handedOff(published sequences: [Int64]) {
        highestRead = max(highestRead, sequences.max() ?? 0)
    }
}
