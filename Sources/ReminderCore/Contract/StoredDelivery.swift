/// Reads back what ingest stored of a reminder for its delivery: the channel list and
/// the content, as the JSON the store keeps (the event's own shapes, checked again, so
/// a row changed by hand cannot send to an unchecked address).
public enum StoredDelivery {
    public static func channels(fromJSON text: String) throws(EventValidationError) -> [Channel] {
        let value = try parse(text, field: "channels")
        guard case .array(let items) = value, !items.isEmpty else {
            throw ReminderEventDecoder.invalid("channels", "must be a non-empty array")
        }
        var channels: [Channel] = []
        for (index, item) in items.enumerated() {
            channels.append(try ReminderEventDecoder.channel(item, path: "channels[\(index)]"))
        }
        return channels
    }

    public static func content(fromJSON text: String) throws(EventValidationError) -> Content {
        let fields = try Fields.object(try parse(text, field: "content"), path: "content")
        let title = try fields.string("title", required: true)!
        let body = try fields.string("body") ?? ""
        var data: String?
        if let value = fields.value("data"), value != .null { data = value.serialized }
        return Content(title: title, body: body, data: data)
    }

    private static func parse(_ text: String, field: String) throws(EventValidationError) -> JSONValue {
        do {
            return try JSONParser.parse(Array(text.utf8))
        } catch {
            throw ReminderEventDecoder.invalid(field, "is not readable JSON: \(error.message)")
        }
    }
}
