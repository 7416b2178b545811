import Foundation
import Synchronization

/// The time zones an event may name: every zone of the system's tz database (Debian's
/// `tzdata` in `/usr/share/zoneinfo`, or `$TZDIR`), its links (`US/Eastern`,
/// `Asia/Calcutta`) and `Etc/` zones included, plus `UTC`. Foundation's own list
/// (`TimeZone.knownTimeZoneIdentifiers`) holds only some canonical names (not even
/// `Asia/Kolkata`), while `TimeZone(identifier:)` also takes names no tz database has
/// (`PST`, `GMT+0530`): the database's file names decide which names are zones.
///
/// The rules themselves (offsets, DST) are Foundation's, from the ICU data of the Swift
/// runtime (`TimeZone.timeZoneDataVersion`); a name that runtime does not know is refused
/// like any unknown zone. `TimeZones.database` says which versions are in use.
///
/// Making a `TimeZone` reads and parses zone data, so each zone is made once and kept.
public enum TimeZones {
    /// Which tz database the service reads names from and which rules it applies.
    public struct Database: Sendable, Equatable {
        /// The directory the zone names come from.
        public let directory: String
        /// How many zone names it holds (links included).
        public let zoneCount: Int
        /// The tzdata release of that directory (`2025b`), from its `tzdata.zi`; nil when
        /// the directory does not say.
        public let namesVersion: String?
        /// The tzdata release of the rules Foundation applies.
        public let rulesVersion: String
    }

    private struct Names: Sendable {
        let directory: String
        let names: Set<String>
        let version: String?
    }

    private static let names: Names = {
        let environment = ProcessInfo.processInfo.environment["TZDIR"]
        let directory = environment.flatMap { $0.isEmpty ? nil : $0 } ?? "/usr/share/zoneinfo"
        return Names(directory: directory, names: zoneNames(in: directory), version: version(of: directory))
    }()

    private static let cache = Mutex<[String: TimeZone]>([:])

    /// The tz database in use, for the start-up log and the documentation's promise.
    public static var database: Database {
        Database(
            directory: names.directory, zoneCount: names.names.count, namesVersion: names.version,
            rulesVersion: TimeZone.timeZoneDataVersion)
    }

    /// Every zone name an event may use, sorted.
    public static var knownNames: [String] { names.names.union(["UTC"]).sorted() }

    static func isKnown(_ name: String) -> Bool {
        zone(named: name) != nil
    }

    /// The zone, or nil when the tz database has no zone of that name (or the runtime's
    /// rules do not know it).
    static func zone(named name: String) -> TimeZone? {
        if let zone = cache.withLock({ $0[name] }) { return zone }
        guard name == "UTC" || names.names.contains(name), let zone = TimeZone(identifier: name) else { return nil }
        cache.withLock { $0[name] = zone }
        return zone
    }

    /// The zone names under `directory`: the paths of its TZif files, without `posix/` and
    /// `right/` (the same zones again, with other leap-second handling) and without
    /// `localtime` and `posixrules` (copies of a zone, not names of one).
    static func zoneNames(in directory: String) -> Set<String> {
        let files = FileManager.default
        guard let walk = files.enumerator(atPath: directory) else { return [] }
        var names: Set<String> = []
        for case let path as String in walk {
            if path == "posix" || path == "right" {
                walk.skipDescendants()
                continue
            }
            guard path != "localtime", path != "posixrules", isZoneFile(directory + "/" + path) else { continue }
            names.insert(path)
        }
        return names
    }

    /// Whether the file starts as a compiled zone does (RFC 8536: the magic `TZif`).
    private static func isZoneFile(_ path: String) -> Bool {
        guard let handle = FileHandle(forReadingAtPath: path) else { return false }
        defer { try? handle.close() }
        guard let magic = try? handle.read(upToCount: 4) else { return false }
        return magic.elementsEqual("TZif".utf8)
    }

    /// The release named on the first line of `tzdata.zi` (`# version 2025b`).
    private static func version(of directory: String) -> String? {
        guard let handle = FileHandle(forReadingAtPath: directory + "/tzdata.zi") else { return nil }
        defer { try? handle.close() }
        guard let head = try? handle.read(upToCount: 64), let text = String(bytes: head, encoding: .utf8),
            let line = text.split(separator: "\n").first, line.hasPrefix("# version ")
        else { return nil }
        return String(line.dropFirst("# version ".count))
    }
}
