/// A recurring reminder's rule as the store keeps it (the `recurrence` column): the
/// contract's own `recurrence` object, written in one canonical form so that the same rule
/// is always the same text, whichever store wrote it and however the event spelt it.
extension StoredDelivery {
    /// Compact JSON, members in a fixed order (`freq`, `interval`, `by_day`,
    /// `by_month_day`, `count`, `until`), each left out when it says nothing: `interval`
    /// when 1, `by_day` and `by_month_day` when empty, `count` and `until` for a rule that
    /// runs to the cap. BYDAY is written Monday first and BYMONTHDAY ascending (the order
    /// of a list does not change the rule); UNTIL in UTC, to the microsecond.
    public static func json(_ rule: RecurrenceRule) -> String {
        var members: [(key: String, value: JSONValue)] = [("freq", .string(rule.frequency.rawValue))]
        if rule.interval != 1 { members.append(("interval", .number(String(rule.interval)))) }
        if !rule.weekdays.isEmpty {
            members.append(("by_day", .array(rule.weekdays.sorted().map { .string($0.rawValue) })))
        }
        if !rule.monthDays.isEmpty {
            members.append(("by_month_day", .array(rule.monthDays.sorted().map { .number(String($0)) })))
        }
        switch rule.end {
        case .never: break
        case .count(let count): members.append(("count", .number(String(count))))
        case .until(let until): members.append(("until", .string(until.description)))
        }
        return JSONValue.object(members).serialized
    }

    /// The rule written by `json(_:)`, checked again as the event's `recurrence` is (a row
    /// changed by hand cannot hold a rule the contract refuses). What needs the schedule
    /// (the first occurrence on the rule's days, UNTIL not before it) was checked at
    /// ingest.
    public static func rule(fromJSON text: String) throws(EventValidationError) -> RecurrenceRule {
        try ReminderEventDecoder.recurrence(try parse(text, field: "recurrence"), path: "recurrence")
    }
}
