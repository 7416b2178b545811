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
        // Checked again like the channels: the unsubscribe URL goes into a mail header.
        let html = try ReminderEventDecoder.html(fields)
        let unsubscribeURL = try ReminderEventDecoder.unsubscribeURL(fields)
        return Content(title: title, body: body, data: data, html: html, unsubscribeURL: unsubscribeURL)
    }

    /// The channel list as the store keeps it, read back by `channels(fromJSON:)`: written
    /// here once, so that every store (PostgreSQL's, the in-memory one) keeps the same text.
    public static func json(_ channels: [Channel]) -> String {
        // Written directly, not through a `JSONValue` tree: ingest writes it for every event.
        var text = "["
        text.reserveCapacity(64 * channels.count)
        func member(_ key: String, _ value: String) { JSONValue.append(member: key, string: value, to: &text) }
        for (index, channel) in channels.enumerated() {
            text += index == 0 ? #"{"type":"# : #",{"type":"#
            switch channel {
            case .email(let to):
                text += #""email""#
                member("to", to)
            case .sms(let to):
                text += #""sms""#
                member("to", to)
            case .push(let platform, let token):
                text += #""push""#
                member("platform", platform.rawValue)
                member("token", token)
            case .webhook(let url):
                text += #""webhook""#
                member("url", url)
            }
            text += "}"
        }
        return text + "]"
    }

    /// The content as the store keeps it, read back by `content(fromJSON:)`. `data` is
    /// already compact JSON text: it goes in as it is, not parsed again. `html` and
    /// `unsubscribe_url` appear only when the event has them, so content without them is
    /// stored as before.
    public static func json(_ content: Content) -> String {
        var text =
            #"{"title":"# + JSONValue.string(content.title).serialized + #","body":"#
            + JSONValue.string(content.body).serialized
        if let data = content.data { text += #","data":"# + data }
        if let html = content.html { text += #","html":"# + JSONValue.string(html).serialized }
        if let url = content.unsubscribeURL { text += #","unsubscribe_url":"# + JSONValue.string(url).serialized }
        return text + "}"
    }

    private static func parse(_ text: String, field: String) throws(EventValidationError) -> JSONValue {
        do {
            return try JSONParser.parse(Array(text.utf8))
        } catch {
            throw ReminderEventDecoder.invalid(field, "is not readable JSON: \(error.message)")
        }
    }
}
