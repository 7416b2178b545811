import Foundation

/// Turns a schedule's delivery time into the UTC instant the dispatcher may send at:
/// a wall-clock time is read in the user's zone (a time in a spring-forward gap moves
/// forward by the gap; one in an autumn overlap takes the earlier instant), then an
/// instant inside quiet hours moves to their end, in the user's zone.
public enum DeliveryTimeCalculator {
    /// Nil only when the zone is not in the tz database (the decoder refuses such events).
    public static func dueInstant(for schedule: ReminderSchedule) -> Instant? {
        guard let zone = TimeZones.zone(named: schedule.timeZone) else { return nil }
        let requested: Instant =
            switch schedule.deliverAt {
            case .instant(let instant): instant
            case .local(let local): instant(of: local, in: zone)
            }
        guard let quietHours = schedule.quietHours else { return requested }
        return deferred(requested, outOf: quietHours, in: zone)
    }

    /// The instant at which the wall clock of `zone` shows `local`.
    public static func instant(of local: LocalDateTime, in zone: TimeZone) -> Instant {
        let wall = local.wallSeconds
        // The offsets in force a day either side cover every transition near `wall`.
        let candidates = Set([offset(zone, at: wall - 86_400), offset(zone, at: wall), offset(zone, at: wall + 86_400)])
        let matching = candidates.map { wall - $0 }.filter { offset(zone, at: $0) == wall - $0 }
        if let earliest = matching.min() {
            return Instant(secondsSinceEpoch: earliest)
        }
        // A gap: read the time with the offset from before the transition, which lands
        // as far after the transition as the time was after the gap's start.
        let before = offset(zone, at: wall - 86_400)
        return Instant(secondsSinceEpoch: wall - before)
    }

    /// `instant`, or the end of the quiet hours it falls in, on the right day.
    public static func deferred(_ instant: Instant, outOf quiet: QuietHours, in zone: TimeZone) -> Instant {
        guard quiet.start != quiet.end else { return instant }
        let seconds = instant.microsecondsSinceEpoch.floorDivided(by: 1_000_000)
        let local = LocalDateTime(wallSeconds: seconds + offset(zone, at: seconds))
        let minute = local.time.minuteOfDay
        let start = quiet.start.minuteOfDay
        let end = quiet.end.minuteOfDay
        let endDate: CivilDate
        if start < end {
            guard minute >= start && minute < end else { return instant }
            endDate = local.date
        } else {
            // Crosses midnight: quiet from `start` today to `end` tomorrow.
            if minute >= start {
                endDate = local.date.adding(days: 1)
            } else if minute < end {
                endDate = local.date
            } else {
                return instant
            }
        }
        let resumed = self.instant(of: LocalDateTime(date: endDate, time: quiet.end), in: zone)
        return max(resumed, instant)
    }

    private static func offset(_ zone: TimeZone, at seconds: Int64) -> Int64 {
        Int64(zone.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(seconds))))
    }
}
