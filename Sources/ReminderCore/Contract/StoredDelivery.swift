/// Reads back what ingest stored of a reminder for its delivery: the channel list and
/// the content, as the JSON the store keeps (the event's own shapes, checked again, so
/// a row changed by hand cannot send to an unchecked address).
public enum StoredDelivery {
    public static func channels(fromJSON text: String) throws(EventValidationError) -> [Channel] {
        let value = try parse(text, field: "channels")
        guard let items = value.items, !items.isEmpty else {
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
        if let value = fields.value("data") { data = value.serialized }
        // Checked again like the channels: the unsubscribe URL goes into a mail header.
        let html = try ReminderEventDecoder.html(fields)
        let unsubscribeURL = try ReminderEventDecoder.unsubscribeURL(fields)
        return Content(title: title, body: body, data: data, html: html, unsubscribeURL: unsubscribeURL)
    }

    /// The channel list as the store keeps it, read back by `channels(fromJSON:)`: written
    /// here once, so that every store (PostgreSQL's, the in-memory one) keeps the same text.
    public static func json(_ channels: [Channel]) -> String {
        String(decoding: jsonBytes(channels), as: UTF8.self)
    }

    /// `json(_:)`'s text as UTF-8 bytes, the form PostgreSQL's store binds: written as
    /// bytes, not appended to a `String` piece by piece (that was about 4% of the service's
    /// CPU while ingesting; perf, issue 19), and not through a `JSONValue` tree.
    public static func jsonBytes(_ channels: [Channel]) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(2 + 96 * channels.count)
        append("[", to: &bytes)
        for (index, channel) in channels.enumerated() {
            append(index == 0 ? #"{"type":"# : #",{"type":"#, to: &bytes)
            switch channel {
            case .email(let to):
                append(#""email""#, to: &bytes)
                JSONValue.append(nextMember: "to", string: to, to: &bytes)
            case .sms(let to):
                append(#""sms""#, to: &bytes)
                JSONValue.append(nextMember: "to", string: to, to: &bytes)
            case .push(let platform, let token):
                append(#""push""#, to: &bytes)
                JSONValue.append(nextMember: "platform", string: platform.rawValue, to: &bytes)
                JSONValue.append(nextMember: "token", string: token, to: &bytes)
            case .webhook(let url):
                append(#""webhook""#, to: &bytes)
                JSONValue.append(nextMember: "url", string: url, to: &bytes)
            }
            append("}", to: &bytes)
        }
        append("]", to: &bytes)
        return bytes
    }

    /// The content as the store keeps it, read back by `content(fromJSON:)`. `data` is
    /// already compact JSON text: it goes in as it is, not parsed again. `html` and
    /// `unsubscribe_url` appear only when the event has them, so content without them is
    /// stored as before.
    public static func json(_ content: Content) -> String {
        String(decoding: jsonBytes(content), as: UTF8.self)
    }

    /// `json(_:)`'s text as UTF-8 bytes, as the channels' (`jsonBytes(_:)` of channels).
    public static func jsonBytes(_ content: Content) -> [UInt8] {
        var bytes: [UInt8] = []
        // The fields, and 64 bytes for the keys, the quotes and a few escapes.
        bytes.reserveCapacity(
            64 + content.title.utf8.count + content.body.utf8.count + (content.data?.utf8.count ?? 0)
                + (content.html?.utf8.count ?? 0) + (content.unsubscribeURL?.utf8.count ?? 0))
        append(#"{"title":"#, to: &bytes)
        JSONValue.append(string: content.title, to: &bytes)
        JSONValue.append(nextMember: "body", string: content.body, to: &bytes)
        if let data = content.data {
            append(#","data":"#, to: &bytes)
            bytes += data.utf8
        }
        if let html = content.html { JSONValue.append(nextMember: "html", string: html, to: &bytes) }
        if let url = content.unsubscribeURL { JSONValue.append(nextMember: "unsubscribe_url", string: url, to: &bytes) }
        append("}", to: &bytes)
        return bytes
    }

    private static func append(_ literal: StaticString, to bytes: inout [UInt8]) {
        JSONValue.append(literal: literal, to: &bytes)
    }

    static func parse(_ text: String, field: String) throws(EventValidationError) -> JSONDocument.Node {
        do {
            return try JSONParser.document(Array(text.utf8)).root
        } catch {
            throw ReminderEventDecoder.invalid(field, "is not readable JSON: \(error.message)")
        }
    }
}
