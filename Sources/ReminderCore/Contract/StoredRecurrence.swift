/// The recurrence rule as the store keeps it (`reminders.recurrence`): compact JSON in
/// the contract's own shape, written here once and read back by the dispatcher.
public enum StoredRecurrence {
    public static func json(_ rule: RecurrenceRule) -> String {
        var members: [(key: String, value: JSONValue)] = [
            ("freq", .string(rule.frequency.rawValue)), ("interval", .number(String(rule.interval))),
        ]
        if !rule.weekdays.isEmpty { members.append(("by_day", .array(rule.weekdays.map { .string($0.rawValue) }))) }
        if !rule.monthDays.isEmpty {
            members.append(("by_month_day", .array(rule.monthDays.map { .number(String($0)) })))
        }
        switch rule.end {
        case .never: break
        case .count(let count): members.append(("count", .number(String(count))))
        case .until(let until): members.append(("until", .string(until.description)))
        }
        return JSONValue.object(members).serialized
    }

    public static func rule(fromJSON text: String) throws(EventValidationError) -> RecurrenceRule {
        let value: JSONValue
        do {
            value = try JSONParser.parse(Array(text.utf8))
        } catch {
            throw ReminderEventDecoder.invalid("recurrence", "is not readable JSON: \(error.message)")
        }
        guard case .string(let freq)? = value["freq"], let frequency = RecurrenceRule.Frequency(rawValue: freq) else {
            throw ReminderEventDecoder.invalid("recurrence.freq", "must be daily, weekly or monthly")
        }
        func integer(_ value: JSONValue?) -> Int? {
            guard case .number(let text)? = value else { return nil }
            return Int(text)
        }
        var rule = RecurrenceRule(frequency: frequency, interval: integer(value["interval"]) ?? 1)
        if case .array(let days)? = value["by_day"] {
            rule.weekdays = days.compactMap { if case .string(let day) = $0 { Weekday(rawValue: day) } else { nil } }
        }
        if case .array(let days)? = value["by_month_day"] { rule.monthDays = days.compactMap { integer($0) } }
        if let count = integer(value["count"]) {
            rule.end = .count(count)
        } else if case .string(let until)? = value["until"], let instant = RFC3339.parse(until) {
            rule.end = .until(instant)
        }
        return rule
    }
}
