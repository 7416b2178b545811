import Foundation
import Synchronization

/// The IANA time zones of the system's tz database. Making a `TimeZone` reads and
/// parses a tz file, so each zone is made once and kept.
enum TimeZones {
    private static let known: Set<String> = Set(TimeZone.knownTimeZoneIdentifiers).union(["UTC"])
    private static let cache = Mutex<[String: TimeZone]>([:])

    static func isKnown(_ name: String) -> Bool {
        zone(named: name) != nil
    }

    /// The zone, or nil when the database has no zone of that name.
    static func zone(named name: String) -> TimeZone? {
        if let zone = cache.withLock({ $0[name] }) { return zone }
        guard known.contains(name), let zone = TimeZone(identifier: name) else { return nil }
        cache.withLock { $0[name] = zone }
        return zone
    }
}
