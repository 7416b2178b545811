import Foundation

extension Instant {
    /// The instant of `date`, to the microsecond (the database's and the contract's
    /// precision).
    public init(_ date: Date) {
        self.init(microsecondsSinceEpoch: Int64((date.timeIntervalSince1970 * 1_000_000).rounded()))
    }

    /// The same instant as Foundation's `Date`.
    public var date: Date { Date(timeIntervalSince1970: Double(microsecondsSinceEpoch) / 1_000_000) }

    /// The system's wall clock, now.
    public static var now: Instant { Instant(Date()) }
}
