import Foundation

/// The `recurrence` member of a schedule: its shape (also what the store's copy is checked
/// against, `StoredDelivery.rule(fromJSON:)`), then what it must agree with in the rest of
/// the schedule.
extension ReminderEventDecoder {
    /// The members a rule may have. Unlike the rest of the event, a rule refuses members it
    /// does not know: one from a later RRULE subset (BYSETPOS, BYHOUR, WKST) or a misspelt
    /// `byday` would change which occurrences exist, and guessing would send reminders
    /// nobody asked for.
    static let recurrenceMembers: Set<String> = ["freq", "interval", "by_day", "by_month_day", "count", "until"]

    /// The rule of a `recurrence` object, canonical (BYDAY Monday first, BYMONTHDAY
    /// ascending), checked on its own: members, types, ranges, which members go with
    /// which frequency. Not what needs the schedule (`checkRecurrence`).
    static func recurrence(_ value: JSONDocument.Node, path: String) throws(EventValidationError) -> RecurrenceRule {
        let fields = try Fields.object(value, path: path)
        for key in value.keys ?? [] where !recurrenceMembers.contains(key) {
            // The member's name goes into the path only when it looks like a name: an error
            // never repeats text of arbitrary shape from the event.
            let named = key.utf8.count <= 40 && key.utf8.allSatisfy(isNameByte)
            throw invalid(
                named ? fields.fieldPath(key) : path,
                "is not a member of a recurrence rule (freq, interval, by_day, by_month_day, count, until)")
        }
        let frequencyName = try fields.string("freq", required: true)!
        guard let frequency = RecurrenceRule.Frequency(rawValue: frequencyName) else {
            throw invalid(fields.fieldPath("freq"), "must be \"daily\", \"weekly\" or \"monthly\"")
        }
        var interval = 1
        if let member = fields.value("interval") {
            interval = try integer(member, path: fields.fieldPath("interval"), in: 1...RecurrenceRule.maximumInterval)
        }

        var weekdays: [Weekday] = []
        if let items = try fields.array("by_day") {
            let field = fields.fieldPath("by_day")
            guard frequency == .weekly else { throw invalid(field, "is allowed only with freq \"weekly\"") }
            guard !items.isEmpty else { throw invalid(field, "must list at least one day") }
            for (index, item) in items.enumerated() {
                guard let name = item.string, let weekday = Weekday(rawValue: name) else {
                    throw invalid("\(field)[\(index)]", "must be one of MO, TU, WE, TH, FR, SA, SU")
                }
                guard !weekdays.contains(weekday) else {
                    throw invalid("\(field)[\(index)]", "repeats a day listed before it")
                }
                weekdays.append(weekday)
            }
        }

        var monthDays: [Int] = []
        if let items = try fields.array("by_month_day") {
            let field = fields.fieldPath("by_month_day")
            guard frequency == .monthly else { throw invalid(field, "is allowed only with freq \"monthly\"") }
            guard !items.isEmpty else { throw invalid(field, "must list at least one day") }
            for (index, item) in items.enumerated() {
                let day = try integer(item, path: "\(field)[\(index)]", in: -31...31)
                guard day != 0 else { throw invalid("\(field)[\(index)]", "must be 1 to 31 or -31 to -1, not 0") }
                guard !monthDays.contains(day) else {
                    throw invalid("\(field)[\(index)]", "repeats a day listed before it")
                }
                monthDays.append(day)
            }
        }

        var end = RecurrenceRule.End.never
        if let member = fields.value("count") {
            end = .count(
                try integer(member, path: fields.fieldPath("count"), in: 1...RecurrenceRule.maximumOccurrences))
        }
        if let text = try fields.string("until") {
            guard case .never = end else { throw invalid(fields.fieldPath("until"), "must not be given with count") }
            guard let until = RFC3339.parse(text) else {
                throw invalid(fields.fieldPath("until"), "must be an RFC 3339 date-time with an offset")
            }
            end = .until(until)
        }
        return RecurrenceRule(
            frequency: frequency, interval: interval, weekdays: weekdays.sorted(), monthDays: monthDays.sorted(),
            end: end)
    }

    /// What a rule must agree with in its schedule: the first occurrence is
    /// `deliver_at_local` (an instant has no wall-clock time to repeat), it is one of the
    /// rule's own days (RFC 5545 leaves a DTSTART off the pattern undefined), and UNTIL
    /// does not end the series before it begins.
    static func checkRecurrence(
        _ rule: RecurrenceRule, deliverAt: DeliveryTime, zone: TimeZone?
    ) throws(EventValidationError) {
        guard case .local(let start) = deliverAt, let zone else {
            throw invalid(
                "recurrence",
                "requires deliver_at_local (the first occurrence on the user's wall clock), not deliver_at")
        }
        if !RecurrenceCalculator.isSynchronized(rule, start: start.date) {
            if rule.frequency == .weekly {
                throw invalid(
                    "recurrence.by_day",
                    "must include the weekday of deliver_at_local, the first occurrence (\(Weekday(of: start.date).rawValue))"
                )
            }
            let fromEnd = start.date.day - CivilDate.daysIn(month: start.date.month, year: start.date.year) - 1
            throw invalid(
                "recurrence.by_month_day",
                "must include the day of deliver_at_local, the first occurrence (\(start.date.day), or \(fromEnd) from the month's end)"
            )
        }
        if case .until(let until) = rule.end, until < DeliveryTimeCalculator.instant(of: start, in: zone) {
            throw invalid("recurrence.until", "is before the first occurrence (deliver_at_local read in timezone)")
        }
    }

    /// An integer in `range`, written as a JSON number (`2` or `2.0`, as JSON Schema's
    /// `integer` takes it).
    private static func integer(_ value: JSONDocument.Node, path: String, in range: ClosedRange<Int>)
        throws(EventValidationError) -> Int
    {
        let bounds = "an integer from \(range.lowerBound) to \(range.upperBound)"
        guard let text = value.number, let number = Double(text) else {
            throw invalid(path, "must be \(bounds), not \(value.kindName)")
        }
        guard number.rounded() == number, number >= Double(range.lowerBound), number <= Double(range.upperBound)
        else { throw invalid(path, "must be \(bounds)") }
        return Int(number)
    }

    private static func isNameByte(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
            || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: "_")
    }
}
