import Foundation
import ReminderCore
import TestSupport
import Testing

/// Every zone of the system's tz database is a zone an event may name, links and `Etc/`
/// zones included, with the same DST policy; names no tz database has are refused.
@Suite struct TimeZonesTests {
    /// An event scheduling a local time in `zone`.
    private func event(in zone: String, local: String = "2026-03-08T02:30") -> [UInt8] {
        var event = EventFixtures.fullEvent()
        event["timezone"] = zone
        event["deliver_at"] = nil
        event["deliver_at_local"] = local
        return EventFixtures.json(event)
    }

    private func dueInstant(in zone: String, local: String) throws -> String? {
        let event = try ReminderEventDecoder.decode(event(in: zone, local: local))
        guard case .schedule(let schedule) = event.action else { return nil }
        return DeliveryTimeCalculator.dueInstant(for: schedule)?.description
    }

    @Test func theDatabaseIsTheSystemsTzdataWithItsVersion() {
        let database = TimeZones.database
        #expect(database.directory == (ProcessInfo.processInfo.environment["TZDIR"] ?? "/usr/share/zoneinfo"))
        // Debian's tzdata has about 600 names with its links; Foundation's list has 443.
        #expect(database.zoneCount > 500, "\(database)")
        #expect(database.namesVersion?.count == 5, "a release such as 2025b: \(database)")
        #expect(!database.rulesVersion.isEmpty)
    }

    @Test func everyNameInTheDatabaseIsAccepted() throws {
        var refused: [String] = []
        for zone in TimeZones.knownNames where (try? ReminderEventDecoder.decode(event(in: zone))) == nil {
            refused.append(zone)
        }
        #expect(refused.isEmpty, "refused: \(refused)")
        #expect(TimeZones.knownNames.contains("UTC"))
        // Every name of the directory (UTC among them, or besides them).
        #expect(TimeZones.knownNames.count >= TimeZones.database.zoneCount)
        #expect(TimeZones.knownNames.count <= TimeZones.database.zoneCount + 1)
    }

    @Test(arguments: [
        // Canonical names Foundation's list leaves out.
        "Asia/Kolkata", "Europe/Kyiv", "America/Ciudad_Juarez", "Pacific/Kanton",
        // Links kept for old names.
        "US/Eastern", "Asia/Calcutta", "Europe/Kiev", "America/Godthab", "GB", "Navajo",
        // Etc/ and the fixed-offset zones.
        "Etc/UTC", "Etc/GMT+5", "Etc/GMT-14", "GMT", "GMT0", "UTC", "EST5EDT",
    ])
    func zonesFoundationsListLeavesOutAreAccepted(zone: String) throws {
        #expect(throws: Never.self) { try ReminderEventDecoder.decode(event(in: zone)) }
    }

    @Test(arguments: [
        // Abbreviations and offsets Foundation would take, but no tz database has.
        "PST", "GMT+0530", "UTC+1", "GMT+05:30",
        // Names in another case, paths out of the database, and files that are not zones.
        "europe/berlin", "../zoneinfo/Europe/Berlin", "/usr/share/zoneinfo/Europe/Berlin", "posix/Europe/Berlin",
        "right/Europe/Berlin", "posixrules", "localtime", "zone.tab", "tzdata.zi", "Mars/Olympus_Mons", "",
    ])
    func namesNoTzDatabaseHasAreRefusedNamingTheField(zone: String) {
        let error = #expect(throws: EventValidationError.self) { try ReminderEventDecoder.decode(event(in: zone)) }
        #expect(error?.field == "timezone", "\(String(describing: error))")
    }

    @Test(arguments: [
        ("US/Eastern", "America/New_York"), ("Asia/Calcutta", "Asia/Kolkata"), ("GB", "Europe/London"),
        ("Europe/Kiev", "Europe/Kyiv"),
    ])
    func aLinkFollowsItsTargetsRulesAcrossDST(link: String, target: String) throws {
        // Both gaps and overlaps of 2026 in the northern zones, and an ordinary day.
        for local in [
            "2026-03-08T02:30", "2026-03-29T01:30", "2026-10-25T01:30", "2026-11-01T01:30", "2026-07-01T09:00",
        ] {
            let viaLink = try dueInstant(in: link, local: local)
            #expect(viaLink != nil)
            #expect(viaLink == (try dueInstant(in: target, local: local)), "\(link) at \(local)")
        }
    }

    @Test func anEtcZoneHasTheInvertedSignOfPOSIX() throws {
        // Etc/GMT+5 is five hours behind UTC, as the tz database defines it.
        #expect(try dueInstant(in: "Etc/GMT+5", local: "2026-01-15T09:00") == "2026-01-15T14:00:00Z")
    }
}
