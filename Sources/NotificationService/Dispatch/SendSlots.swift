/// The dispatcher's sends in flight and the outcomes waiting for their group commit, and
/// how many reminders the claim loop may claim. A send's slot frees when its provider
/// answers, so the next sends need not wait for the database; what the database has not
/// taken yet is bounded separately (`backlogLimit`): when the outcome statements fall
/// behind, claiming stops until they catch up, so at most `concurrency + backlogLimit`
/// reminders are ever sent and not recorded — what a crash sends a second time.
struct SendSlots: Sendable, Hashable {
    let concurrency: Int
    /// With sends in flight, the loop claims no fewer than this at once.
    let minimumClaim: Int
    /// Outcomes waiting for their group commit at which claiming stops.
    let backlogLimit: Int
    /// Claimed and not answered by their provider.
    private(set) var sending = 0
    /// Answered and not yet recorded.
    private(set) var recording = 0
    /// The claim loop found no room and sleeps until a change makes some.
    private(set) var loopWaits = false

    init(concurrency: Int, minimumClaim: Int, backlogLimit: Int) {
        self.concurrency = concurrency
        self.minimumClaim = minimumClaim
        self.backlogLimit = backlogLimit
    }

    private var free: Int {
        let free = concurrency - sending
        guard recording < backlogLimit, sending == 0 || free >= minimumClaim else { return 0 }
        return free
    }

    /// How many the loop may claim now; when none, the loop is to wait until woken.
    mutating func room() -> Int {
        let free = self.free
        loopWaits = free == 0
        return free
    }

    mutating func claimed(_ count: Int) {
        sending += count
    }

    /// A send's provider answered; its outcome now waits to be recorded. Returns whether
    /// the waiting loop is to be woken.
    mutating func answered() -> Bool {
        sending -= 1
        recording += 1
        return wakesLoop()
    }

    /// A send's outcome is recorded (or given up). Returns whether the waiting loop is to
    /// be woken.
    mutating func recorded() -> Bool {
        recording -= 1
        return wakesLoop()
    }

    private mutating func wakesLoop() -> Bool {
        guard loopWaits, free > 0 else { return false }
        loopWaits = false
        return true
    }
}
