import Foundation

/// Decodes and validates the bytes of a message on the `reminders` topic against
/// version 1 of the event contract. Unknown fields are ignored (but inside `recurrence`:
/// see `recurrenceMembers`); everything else that does not follow the contract is an
/// `EventValidationError` naming the field.
public enum ReminderEventDecoder {
    public static let maximumMessageBytes = 1_048_576
    public static let maximumDataBytes = 16_384
    public static let maximumChannels = 10
    /// `content.html`, counted in bytes of UTF-8. Gmail clips a message whose HTML is
    /// larger than about 102 KB, so more would not be seen. With every other part at its
    /// limit too, an event written plainly stays under 180 KB, far below
    /// `maximumMessageBytes` (which still applies first, to escaped text too).
    public static let maximumHTMLBytes = 100_000
    /// `content.unsubscribe_url`, in characters (all ASCII).
    public static let maximumUnsubscribeURLLength = 2_000

    public static func decode(_ bytes: [UInt8]?) throws(EventValidationError) -> ReminderEvent {
        guard let bytes, !bytes.isEmpty else { throw invalid("$", "the message has no value") }
        guard bytes.count <= maximumMessageBytes else {
            throw invalid("$", "the message is \(bytes.count) bytes, more than the limit of \(maximumMessageBytes)")
        }
        let document: JSONDocument.Node
        do {
            document = try JSONParser.document(bytes).root
        } catch {
            throw invalid(error.path, "not valid JSON: \(error.message) at byte \(error.offset)")
        }
        guard document.kind == .object else {
            throw invalid("$", "must be a JSON object, not \(document.kindName)")
        }
        let fields = Fields(document, path: "")

        guard try fields.number("schema_version", required: true) == 1 else {
            throw invalid("schema_version", "must be 1")
        }
        let type = try fields.string("type", required: true)!
        let idempotencyKey = try fields.string("idempotency_key", required: true, length: 1...255)!
        let reminderID = try fields.string("reminder_id", required: true, length: 1...128)!
        let userID = try fields.string("user_id", required: true, length: 1...128)!
        let correlationID = try fields.string("correlation_id", length: 1...128)
        let action: ReminderEvent.Action
        switch type {
        case "schedule": action = .schedule(try schedule(fields))
        case "cancel": action = .cancel
        default: throw invalid("type", "must be \"schedule\" or \"cancel\"")
        }
        return ReminderEvent(
            idempotencyKey: idempotencyKey, reminderID: reminderID, userID: userID, correlationID: correlationID,
            action: action)
    }

    private static func schedule(_ fields: Fields) throws(EventValidationError) -> ReminderSchedule {
        let zoneName = try fields.string("timezone", length: 1...64)
        let deliverAt = try fields.string("deliver_at")
        let deliverAtLocal = try fields.string("deliver_at_local")
        let quietHoursValue = fields.value("quiet_hours")
        if let zoneName, !TimeZones.isKnown(zoneName) {
            throw invalid("timezone", "is not a time zone of the IANA database")
        }
        if zoneName == nil {
            if deliverAtLocal != nil { throw invalid("timezone", "is required with deliver_at_local") }
            if quietHoursValue != nil { throw invalid("timezone", "is required with quiet_hours") }
        }
        let time: DeliveryTime
        switch (deliverAt, deliverAtLocal) {
        case (let text?, nil):
            guard let instant = RFC3339.parse(text) else {
                throw invalid(
                    "deliver_at", "must be an RFC 3339 date-time with an offset, e.g. 2026-03-29T09:30:00+02:00")
            }
            time = .instant(instant)
        case (nil, let text?):
            guard let local = LocalDateTime(parsing: text) else {
                throw invalid("deliver_at_local", "must be a date and time without offset, YYYY-MM-DDTHH:MM[:SS]")
            }
            time = .local(local)
        case (nil, nil):
            throw invalid("deliver_at", "is required (or deliver_at_local) for a schedule")
        case (.some, .some):
            throw invalid("deliver_at_local", "must not be given together with deliver_at")
        }

        let channelValues = try fields.array("channels", required: true)!
        guard !channelValues.isEmpty else { throw invalid("channels", "must list at least one channel") }
        guard channelValues.count <= maximumChannels else {
            throw invalid("channels", "must list at most \(maximumChannels) channels")
        }
        var channels: [Channel] = []
        for (index, value) in channelValues.enumerated() {
            channels.append(try channel(value, path: "channels[\(index)]"))
        }

        guard let contentValue = fields.value("content") else { throw invalid("content", "is required for a schedule") }
        let contentFields = try Fields.object(contentValue, path: "content")
        let title = try contentFields.string("title", required: true, length: 1...200)!
        let body = try contentFields.string("body", required: true, length: 0...4000)!
        var data: String?
        if let dataValue = contentFields.value("data") {
            guard dataValue.kind == .object else {
                throw invalid("content.data", "must be an object, not \(dataValue.kindName)")
            }
            let text = dataValue.serialized
            guard text.utf8.count <= maximumDataBytes else {
                throw invalid("content.data", "is larger than \(maximumDataBytes) bytes as JSON")
            }
            data = text
        }
        let html = try Self.html(contentFields)
        let unsubscribeURL = try Self.unsubscribeURL(contentFields)

        var quietHours: QuietHours?
        if let quietHoursValue {
            let quiet = try Fields.object(quietHoursValue, path: "quiet_hours")
            let startText = try quiet.string("start", required: true)!
            let endText = try quiet.string("end", required: true)!
            guard let start = LocalTime(parsing: startText) else { throw invalid("quiet_hours.start", "must be HH:MM") }
            guard let end = LocalTime(parsing: endText) else { throw invalid("quiet_hours.end", "must be HH:MM") }
            quietHours = QuietHours(start: start, end: end)
        }

        var expiresAt: Instant?
        if let text = try fields.string("expires_at") {
            guard let instant = RFC3339.parse(text) else {
                throw invalid("expires_at", "must be an RFC 3339 date-time with an offset")
            }
            expiresAt = instant
        }

        var recurrence: RecurrenceRule?
        if let value = fields.value("recurrence") {
            let rule = try Self.recurrence(value, path: "recurrence")
            try checkRecurrence(rule, deliverAt: time, zone: zoneName.flatMap(TimeZones.zone(named:)))
            recurrence = rule
        }
        return ReminderSchedule(
            timeZone: zoneName ?? "UTC", deliverAt: time, channels: channels,
            content: Content(title: title, body: body, data: data, html: html, unsubscribeURL: unsubscribeURL),
            quietHours: quietHours, expiresAt: expiresAt, recurrence: recurrence)
    }

    /// `content.html`: 1 to `maximumHTMLBytes` bytes of UTF-8; not checked as HTML (mail
    /// programs render what they can, and the text body is always sent beside it).
    static func html(_ content: Fields) throws(EventValidationError) -> String? {
        guard let html = try content.string("html") else { return nil }
        let bytes = html.utf8.count
        guard (1...maximumHTMLBytes).contains(bytes) else {
            throw invalid("content.html", "must be 1 to \(maximumHTMLBytes) bytes of UTF-8, not \(bytes)")
        }
        return html
    }

    /// `content.unsubscribe_url`: an https or mailto URL of printable ASCII. It goes into
    /// the `List-Unsubscribe` header between angle brackets, so nothing that could end
    /// the line or the bracket (space, control characters, `<`, `>`, `"`) is allowed.
    static func unsubscribeURL(_ content: Fields) throws(EventValidationError) -> String? {
        guard let url = try content.string("unsubscribe_url", length: 1...maximumUnsubscribeURLLength) else {
            return nil
        }
        guard ContactFormats.isUnsubscribeURL(url) else {
            throw invalid(
                "content.unsubscribe_url",
                "must be an https://host/… or mailto:local@domain URL of printable ASCII without spaces, <, > or \"")
        }
        return url
    }

    static func channel(_ value: JSONDocument.Node, path: String) throws(EventValidationError) -> Channel {
        let fields = try Fields.object(value, path: path)
        switch try fields.string("type", required: true)! {
        case "email":
            let address = try fields.string("to", required: true, length: 3...254)!
            guard ContactFormats.isEmailAddress(address) else {
                throw invalid("\(path).to", "must be an email address")
            }
            return .email(to: address)
        case "sms":
            let number = try fields.string("to", required: true)!
            guard ContactFormats.isE164(number) else {
                throw invalid("\(path).to", "must be an E.164 phone number (+ and up to 15 digits)")
            }
            return .sms(to: number)
        case "push":
            let platformName = try fields.string("platform", required: true)!
            guard let platform = Channel.PushPlatform(rawValue: platformName) else {
                throw invalid("\(path).platform", "must be \"fcm\" or \"apns\"")
            }
            let token = try fields.string("token", required: true, length: 1...4096)!
            return .push(platform: platform, token: token)
        case "webhook":
            let url = try fields.string("url", required: true, length: 9...2048)!
            guard ContactFormats.isHTTPSURL(url) else { throw invalid("\(path).url", "must be an https URL") }
            return .webhook(url: url)
        default:
            throw invalid("\(path).type", "must be one of \"email\", \"sms\", \"push\", \"webhook\"")
        }
    }

    static func invalid(_ field: String, _ message: String) -> EventValidationError {
        EventValidationError(field: field.hasPrefix("$.") ? String(field.dropFirst(2)) : field, message: message)
    }
}

/// Typed access to the members of one JSON object, with errors that name the member.
struct Fields {
    let value: JSONDocument.Node
    let path: String

    init(_ value: JSONDocument.Node, path: String) {
        self.value = value
        self.path = path
    }

    static func object(_ value: JSONDocument.Node, path: String) throws(EventValidationError) -> Fields {
        guard value.kind == .object else {
            throw ReminderEventDecoder.invalid(path, "must be an object, not \(value.kindName)")
        }
        return Fields(value, path: path)
    }

    func fieldPath(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    /// The member, treating `null` as absent.
    func value(_ key: String) -> JSONDocument.Node? {
        guard let member = value[key], member.kind != .null else { return nil }
        return member
    }

    func string(_ key: String, required: Bool = false, length: ClosedRange<Int>? = nil)
        throws(EventValidationError) -> String?
    {
        guard let member = value(key) else {
            if required { throw ReminderEventDecoder.invalid(fieldPath(key), "is required") }
            return nil
        }
        guard let text = member.string else {
            throw ReminderEventDecoder.invalid(fieldPath(key), "must be a string, not \(member.kindName)")
        }
        if let length {
            // JSON Schema counts characters as Unicode code points. A scalar is one to
            // four UTF-8 bytes, so there are between a quarter of the byte count and the
            // byte count of them: when both bounds fall in the range, the count does too.
            let bytes = text.utf8.count
            if bytes <= length.upperBound && (bytes + 3) / 4 >= length.lowerBound { return text }
            let count = text.unicodeScalars.count
            guard length.contains(count) else {
                throw ReminderEventDecoder.invalid(
                    fieldPath(key), "must be \(length.lowerBound) to \(length.upperBound) characters long, not \(count)"
                )
            }
        }
        return text
    }

    func number(_ key: String, required: Bool = false) throws(EventValidationError) -> Double? {
        guard let member = value(key) else {
            if required { throw ReminderEventDecoder.invalid(fieldPath(key), "is required") }
            return nil
        }
        guard let text = member.number, let number = Double(text) else {
            throw ReminderEventDecoder.invalid(fieldPath(key), "must be a number, not \(member.kindName)")
        }
        return number
    }

    func array(_ key: String, required: Bool = false) throws(EventValidationError) -> [JSONDocument.Node]? {
        guard let member = value(key) else {
            if required { throw ReminderEventDecoder.invalid(fieldPath(key), "is required") }
            return nil
        }
        guard let items = member.items else {
            throw ReminderEventDecoder.invalid(fieldPath(key), "must be an array, not \(member.kindName)")
        }
        return items
    }
}

extension ReminderEventDecoder {
    /// The `user_id` of a message that is not a valid event, when it still has one: a JSON
    /// object whose `user_id` is a string of 1–128 characters. Erasure finds the user's
    /// dead letters by it; nil for anything else (not JSON, too large, no such member).
    public static func userID(ofInvalid bytes: [UInt8]?) -> String? {
        guard let bytes, !bytes.isEmpty, bytes.count <= maximumMessageBytes,
            let document = try? JSONParser.document(bytes), let userID = document.root["user_id"]?.string,
            (1...128).contains(userID.unicodeScalars.count)
        else { return nil }
        return userID
    }
}
