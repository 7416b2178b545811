import Foundation

/// Reminder events, valid and invalid, shared by the decoder tests and the test that
/// checks the JSON Schema agrees with the decoder. Each invalid one breaks one rule and
/// names the field the error must point at.
public struct EventFixture: Sendable, CustomStringConvertible {
    public let name: String
    public let bytes: [UInt8]?
    /// Nil for a valid event.
    public let invalidField: String?

    public var description: String { name }
}

public enum EventFixtures {
    /// A schedule that uses every field of the contract.
    public static func fullEvent() -> [String: Any] {
        [
            "schema_version": 1, "type": "schedule", "idempotency_key": "key-1", "reminder_id": "reminder-1",
            "user_id": "user-1", "timezone": "Europe/Berlin", "deliver_at": "2026-03-29T09:30:00+02:00",
            "channels": [
                ["type": "email", "to": "ada@example.com"],
                ["type": "sms", "to": "+4915112345678"],
                ["type": "push", "platform": "fcm", "token": "device-token"],
                ["type": "webhook", "url": "https://hooks.example.com/reminders?x=1"],
            ],
            "content": ["title": "Dentist", "body": "Tomorrow at 9:30", "data": ["room": 3, "tags": ["a"]]],
            "quiet_hours": ["start": "22:00", "end": "07:00"],
            "expires_at": "2026-03-30T00:00:00Z", "correlation_id": "corr-1",
        ]
    }

    public static func json(_ object: Any) -> [UInt8] {
        Array(try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]))
    }

    public static func changed(_ change: (inout [String: Any]) -> Void) -> [UInt8] {
        var event = fullEvent()
        change(&event)
        return json(event)
    }

    public static func channel(_ index: Int, _ change: @escaping (inout [String: Any]) -> Void) -> [UInt8] {
        changed { event in
            var channels = event["channels"] as! [[String: Any]]
            change(&channels[index])
            event["channels"] = channels
        }
    }

    public static func content(_ change: @escaping (inout [String: Any]) -> Void) -> [UInt8] {
        changed { event in
            var content = event["content"] as! [String: Any]
            change(&content)
            event["content"] = content
        }
    }

    /// The full event made recurring: first occurrence `local` (by default Monday
    /// 2027-01-04, 09:00) in Europe/Berlin, with `rule` as its `recurrence`.
    public static func recurring(
        _ rule: [String: Any], at local: String = "2027-01-04T09:00"
    ) -> [UInt8] {
        changed { event in
            event["deliver_at"] = nil
            event["deliver_at_local"] = local
            event["expires_at"] = nil
            event["recurrence"] = rule
        }
    }

    public static func valid(_ name: String, _ bytes: [UInt8]) -> EventFixture {
        EventFixture(name: name, bytes: bytes, invalidField: nil)
    }

    public static func invalid(_ name: String, _ field: String, _ bytes: [UInt8]?) -> EventFixture {
        EventFixture(name: name, bytes: bytes, invalidField: field)
    }

    public static let all: [EventFixture] = validOnes + invalidOnes

    public static let validOnes: [EventFixture] = [
        valid("every field", json(fullEvent())),
        valid(
            "minimal schedule",
            json([
                "schema_version": 1, "type": "schedule", "idempotency_key": "k", "reminder_id": "r", "user_id": "u",
                "deliver_at": "2026-01-01T00:00:00Z", "channels": [["type": "email", "to": "a@b.co"]],
                "content": ["title": "T", "body": ""],
            ])),
        valid(
            "local time in a zone",
            changed {
                $0["deliver_at"] = nil
                $0["deliver_at_local"] = "2026-10-25T02:30"
                $0["timezone"] = "America/New_York"
            }),
        valid(
            "cancel",
            json([
                "schema_version": 1, "type": "cancel", "idempotency_key": "k2", "reminder_id": "r", "user_id": "u",
            ])),
        valid(
            "unknown fields are ignored",
            changed {
                $0["future_field"] = ["x": 1]; $0["priority"] = "high"
            }),
        valid(
            "null optional fields",
            changed {
                $0["quiet_hours"] = NSNull(); $0["expires_at"] = NSNull(); $0["correlation_id"] = NSNull()
            }),
        valid(
            "schema_version written as 1.0",
            Array(
                String(decoding: json(fullEvent()), as: UTF8.self).replacingOccurrences(
                    of: "\"schema_version\":1", with: "\"schema_version\":1.0"
                ).utf8)),
        valid("title of 200 characters beyond ASCII", content { $0["title"] = String(repeating: "é", count: 200) }),
        valid("title of 200 characters of four bytes", content { $0["title"] = String(repeating: "😀", count: 200) }),
        valid("body of 4,000 characters", content { $0["body"] = String(repeating: "b", count: 4000) }),
        valid(
            "fractional seconds and a negative offset",
            changed { $0["deliver_at"] = "2026-03-29T01:45:00.123456-05:45" }),
        valid("Kathmandu", changed { $0["timezone"] = "Asia/Kathmandu" }),
        valid("email with dots in both parts", channel(0) { $0["to"] = "ada.l@mail.example.co.uk" }),
        valid("email beyond ASCII", channel(0) { $0["to"] = "zoë@exämple.de" }),
        valid(
            "HTML body and https unsubscribe URL",
            content {
                $0["html"] = "<p>Tomorrow at <b>9:30</b> — Dr. Lee's</p>"
                $0["unsubscribe_url"] = "https://example.com/unsubscribe?u=42&t=a%20b"
            }),
        valid(
            "mailto unsubscribe URL without HTML",
            content { $0["unsubscribe_url"] = "mailto:unsubscribe@example.com?subject=stop" }),
        valid(
            "unsubscribe URL with a port and a fragment",
            content { $0["unsubscribe_url"] = "https://lists.example.com:8443/u#42" }),
        valid(
            "unsubscribe URL of 2,000 characters",
            content {
                $0["unsubscribe_url"] = "https://example.com/" + String(repeating: "u", count: 2_000 - 20)
            }),
        valid(
            "HTML of 100,000 bytes beyond ASCII", content { $0["html"] = String(repeating: "é", count: 50_000) }),
        valid(
            "null html and unsubscribe_url",
            content {
                $0["html"] = NSNull(); $0["unsubscribe_url"] = NSNull()
            }),
        valid("daily recurrence", recurring(["freq": "daily"])),
        valid("every third day, ten times", recurring(["freq": "daily", "interval": 3, "count": 10])),
        valid("weekly on the first occurrence's weekday", recurring(["freq": "weekly"])),
        valid(
            "every other week on Monday, Wednesday and Friday",
            recurring(["freq": "weekly", "interval": 2, "by_day": ["FR", "MO", "WE"]])),
        valid(
            "monthly on the 31st", recurring(["freq": "monthly", "by_month_day": [31]], at: "2027-01-31T09:00")),
        valid(
            "monthly on the last day", recurring(["freq": "monthly", "by_month_day": [-1]], at: "2028-02-29T09:00")),
        valid(
            "monthly on the 31st and the last day",
            recurring(["freq": "monthly", "by_month_day": [31, -1]], at: "2027-04-30T09:00")),
        valid("monthly on the first occurrence's day", recurring(["freq": "monthly", "count": 1_000])),
        valid(
            "recurrence until an instant", recurring(["freq": "daily", "until": "2027-12-31T23:59:59.5+01:00"])),
        valid(
            "recurrence until its first occurrence", recurring(["freq": "daily", "until": "2027-01-04T08:00:00Z"])),
        valid(
            "recurrence until its first occurrence moved forward by the spring gap",
            recurring(["freq": "daily", "until": "2027-03-28T01:30:00Z"], at: "2027-03-28T02:30")),
        valid(
            "recurrence until its first occurrence at the earlier instant of the autumn overlap",
            recurring(["freq": "daily", "until": "2027-10-31T00:30:00Z"], at: "2027-10-31T02:30")),
        valid(
            "null recurrence members",
            recurring([
                "freq": "weekly", "interval": NSNull(), "by_day": NSNull(), "by_month_day": NSNull(),
                "count": NSNull(), "until": NSNull(),
            ])),
        valid("null recurrence", changed { $0["recurrence"] = NSNull() }),
        valid(
            "cancel carrying a recurrence (schedule fields are not read)",
            json([
                "schema_version": 1, "type": "cancel", "idempotency_key": "k3", "reminder_id": "r", "user_id": "u",
                "recurrence": ["freq": "yearly"],
            ])),
    ]

    public static let invalidOnes: [EventFixture] = [
        invalid("no value (tombstone)", "$", nil),
        invalid("empty value", "$", []),
        invalid("binary garbage", "$", [0x00, 0xFF, 0x13, 0x37, 0x80, 0x7F]),
        invalid(
            "invalid UTF-8 in a string", "content.title",
            Array(#"{"content":{"title":""#.utf8) + [0xC3, 0x28] + Array(#""}}"#.utf8)),
        invalid("truncated JSON", "$", Array(json(fullEvent()).dropLast(1))),
        invalid(
            "duplicated key", "$",
            Array(
                #"{"schema_version":1,"type":"cancel","idempotency_key":"a","idempotency_key":"b","reminder_id":"r","user_id":"u"}"#
                    .utf8)),
        invalid("byte order mark", "$", [0xEF, 0xBB, 0xBF] + json(fullEvent())),
        invalid("an array, not an object", "$", json([fullEvent()])),
        invalid("a 2 MiB value", "$", content { $0["body"] = String(repeating: "x", count: 2 * 1_048_576) }),
        invalid(
            "deeply nested data", "content.data",
            Array(
                #"{"schema_version":1,"type":"schedule","idempotency_key":"k","reminder_id":"r","user_id":"u","deliver_at":"2026-01-01T00:00:00Z","channels":[{"type":"email","to":"a@b.co"}],"content":{"title":"T","body":"","data":{"d":"#
                    .utf8) + Array(String(repeating: "[", count: 40).utf8)
                + Array(String(repeating: "]", count: 40).utf8) + Array("}}}".utf8)),
        invalid("schema_version missing", "schema_version", changed { $0["schema_version"] = nil }),
        invalid("schema_version 2", "schema_version", changed { $0["schema_version"] = 2 }),
        invalid("schema_version as a string", "schema_version", changed { $0["schema_version"] = "1" }),
        invalid("unknown type", "type", changed { $0["type"] = "remind" }),
        invalid("idempotency_key missing", "idempotency_key", changed { $0["idempotency_key"] = nil }),
        invalid("idempotency_key empty", "idempotency_key", changed { $0["idempotency_key"] = "" }),
        invalid(
            "idempotency_key of 256 characters", "idempotency_key",
            changed { $0["idempotency_key"] = String(repeating: "k", count: 256) }),
        invalid(
            "reminder_id of 129 characters", "reminder_id",
            changed { $0["reminder_id"] = String(repeating: "r", count: 129) }),
        invalid("user_id a number", "user_id", changed { $0["user_id"] = 42 }),
        invalid("unknown time zone", "timezone", changed { $0["timezone"] = "Mars/Olympus_Mons" }),
        invalid(
            "deliver_at_local without a zone", "timezone",
            changed {
                $0["deliver_at"] = nil; $0["timezone"] = nil; $0["quiet_hours"] = nil;
                $0["deliver_at_local"] = "2026-10-25T02:30"
            }),
        invalid("quiet hours without a zone", "timezone", changed { $0["timezone"] = nil }),
        invalid(
            "deliver_at and deliver_at_local both", "deliver_at_local",
            changed { $0["deliver_at_local"] = "2026-10-25T02:30" }),
        invalid("no delivery time", "deliver_at", changed { $0["deliver_at"] = nil }),
        invalid("deliver_at without offset", "deliver_at", changed { $0["deliver_at"] = "2026-03-29T09:30:00" }),
        invalid(
            "deliver_at on a day that does not exist", "deliver_at",
            changed { $0["deliver_at"] = "2026-02-30T09:30:00Z" }),
        invalid(
            "deliver_at_local with an offset", "deliver_at_local",
            changed {
                $0["deliver_at"] = nil; $0["deliver_at_local"] = "2026-10-25T02:30+01:00"
            }),
        invalid("no channels", "channels", changed { $0["channels"] = [Any]() }),
        invalid("channels not a list", "channels", changed { $0["channels"] = ["type": "email", "to": "a@b.co"] }),
        invalid(
            "eleven channels", "channels",
            changed { $0["channels"] = Array(repeating: ["type": "email", "to": "a@b.co"], count: 11) }),
        invalid("unknown channel type", "channels[0].type", channel(0) { $0["type"] = "pigeon" }),
        invalid("email without @", "channels[0].to", channel(0) { $0["to"] = "ada.example.com" }),
        invalid("email with two @", "channels[0].to", channel(0) { $0["to"] = "ada@x@example.com" }),
        invalid("email without local part", "channels[0].to", channel(0) { $0["to"] = "@example.com" }),
        invalid("email domain without dot", "channels[0].to", channel(0) { $0["to"] = "ada@localhost" }),
        invalid("email domain with an empty label", "channels[0].to", channel(0) { $0["to"] = "ada@example..com" }),
        invalid("email domain ending in a dot", "channels[0].to", channel(0) { $0["to"] = "ada@example.com." }),
        invalid("email with a space", "channels[0].to", channel(0) { $0["to"] = "ada lovelace@example.com" }),
        invalid("email with a no-break space", "channels[0].to", channel(0) { $0["to"] = "ada@example.com\u{A0}" }),
        invalid("sms not E.164", "channels[1].to", channel(1) { $0["to"] = "0151 12345678" }),
        invalid("push platform unknown", "channels[2].platform", channel(2) { $0["platform"] = "windows" }),
        invalid("push without token", "channels[2].token", channel(2) { $0["token"] = nil }),
        invalid("webhook over http", "channels[3].url", channel(3) { $0["url"] = "http://hooks.example.com/r" }),
        invalid("content missing", "content", changed { $0["content"] = nil }),
        invalid("title empty", "content.title", content { $0["title"] = "" }),
        invalid(
            "title of 201 characters", "content.title", content { $0["title"] = String(repeating: "t", count: 201) }),
        invalid(
            "title of 201 characters in 402 bytes", "content.title",
            content { $0["title"] = String(repeating: "é", count: 201) }),
        invalid("email of 2 characters in 8 bytes", "channels[0].to", channel(0) { $0["to"] = "😀😀" }),
        invalid(
            "body of 4,001 characters", "content.body", content { $0["body"] = String(repeating: "b", count: 4001) }),
        invalid("data an array", "content.data", content { $0["data"] = [1, 2] }),
        invalid(
            "data over 16 KiB", "content.data", content { $0["data"] = ["blob": String(repeating: "d", count: 17_000)] }
        ),
        invalid("html empty", "content.html", content { $0["html"] = "" }),
        invalid("html a number", "content.html", content { $0["html"] = 42 }),
        invalid(
            "html of 100,001 bytes in fewer characters", "content.html",
            content { $0["html"] = String(repeating: "é", count: 50_000) + "x" }),
        invalid(
            "html of 100,001 characters", "content.html",
            content { $0["html"] = String(repeating: "h", count: 100_001) }),
        invalid(
            "unsubscribe URL over http", "content.unsubscribe_url",
            content { $0["unsubscribe_url"] = "http://example.com/unsubscribe" }),
        invalid(
            "unsubscribe URL injecting a header", "content.unsubscribe_url",
            content { $0["unsubscribe_url"] = "https://example.com/u\r\nBcc: victim@example.com" }),
        invalid(
            "unsubscribe URL with a space", "content.unsubscribe_url",
            content { $0["unsubscribe_url"] = "https://example.com/un subscribe" }),
        invalid(
            "unsubscribe URL closing the angle bracket", "content.unsubscribe_url",
            content { $0["unsubscribe_url"] = "https://example.com/u>, <https://evil.example" }),
        invalid(
            "unsubscribe URL beyond ASCII", "content.unsubscribe_url",
            content { $0["unsubscribe_url"] = "https://exämple.com/u" }),
        invalid(
            "unsubscribe URL of 2,001 characters", "content.unsubscribe_url",
            content {
                $0["unsubscribe_url"] = "https://example.com/" + String(repeating: "u", count: 2_001 - 20)
            }),
        invalid(
            "unsubscribe URL without a host", "content.unsubscribe_url",
            content { $0["unsubscribe_url"] = "https:///unsubscribe" }),
        invalid(
            "unsubscribe URL relative", "content.unsubscribe_url", content { $0["unsubscribe_url"] = "/unsubscribe" }),
        invalid(
            "mailto unsubscribe URL without an address", "content.unsubscribe_url",
            content { $0["unsubscribe_url"] = "mailto:unsubscribe" }),
        invalid(
            "mailto unsubscribe URL with two @", "content.unsubscribe_url",
            content { $0["unsubscribe_url"] = "mailto:a@b@example.com" }),
        invalid(
            "unsubscribe URL an object", "content.unsubscribe_url",
            content { $0["unsubscribe_url"] = ["url": "https://example.com/u"] }),
        invalid(
            "quiet hours start 25:00", "quiet_hours.start",
            changed { $0["quiet_hours"] = ["start": "25:00", "end": "07:00"] }),
        invalid("expires_at not a date-time", "expires_at", changed { $0["expires_at"] = "tomorrow" }),
        invalid(
            "correlation_id of 129 characters", "correlation_id",
            changed { $0["correlation_id"] = String(repeating: "c", count: 129) }),
        invalid(
            "recurrence an array", "recurrence",
            changed {
                $0["deliver_at"] = nil; $0["deliver_at_local"] = "2027-01-04T09:00"; $0["recurrence"] = ["daily"]
            }),
        invalid("recurrence without freq", "recurrence.freq", recurring(["interval": 2])),
        invalid("recurrence yearly", "recurrence.freq", recurring(["freq": "yearly"])),
        invalid("recurrence freq in capitals", "recurrence.freq", recurring(["freq": "DAILY"])),
        invalid("recurrence interval 0", "recurrence.interval", recurring(["freq": "daily", "interval": 0])),
        invalid("recurrence interval 1001", "recurrence.interval", recurring(["freq": "daily", "interval": 1001])),
        invalid("recurrence interval 1.5", "recurrence.interval", recurring(["freq": "daily", "interval": 1.5])),
        invalid("recurrence interval a string", "recurrence.interval", recurring(["freq": "daily", "interval": "2"])),
        invalid("by_day empty", "recurrence.by_day", recurring(["freq": "weekly", "by_day": [String]()])),
        invalid("by_day not a list", "recurrence.by_day", recurring(["freq": "weekly", "by_day": "MO"])),
        invalid("by_day unknown day", "recurrence.by_day[1]", recurring(["freq": "weekly", "by_day": ["MO", "XX"]])),
        invalid("by_day in lower case", "recurrence.by_day[0]", recurring(["freq": "weekly", "by_day": ["mo"]])),
        invalid(
            "by_day with an ordinal", "recurrence.by_day[0]", recurring(["freq": "weekly", "by_day": ["1MO"]])),
        invalid(
            "by_day repeated", "recurrence.by_day[2]", recurring(["freq": "weekly", "by_day": ["MO", "WE", "MO"]])),
        invalid("by_day on a daily rule", "recurrence.by_day", recurring(["freq": "daily", "by_day": ["MO"]])),
        invalid("by_day on a monthly rule", "recurrence.by_day", recurring(["freq": "monthly", "by_day": ["MO"]])),
        invalid(
            "by_month_day on a weekly rule", "recurrence.by_month_day",
            recurring(["freq": "weekly", "by_month_day": [4]])),
        invalid(
            "by_month_day empty", "recurrence.by_month_day", recurring(["freq": "monthly", "by_month_day": [Int]()])),
        invalid(
            "by_month_day 0", "recurrence.by_month_day[1]", recurring(["freq": "monthly", "by_month_day": [4, 0]])),
        invalid(
            "by_month_day 32", "recurrence.by_month_day[0]", recurring(["freq": "monthly", "by_month_day": [32]])),
        invalid(
            "by_month_day -32", "recurrence.by_month_day[1]",
            recurring(["freq": "monthly", "by_month_day": [4, -32]])),
        invalid(
            "by_month_day a string", "recurrence.by_month_day[0]",
            recurring(["freq": "monthly", "by_month_day": ["4"]])),
        invalid(
            "by_month_day repeated", "recurrence.by_month_day[1]",
            recurring(["freq": "monthly", "by_month_day": [4, 4]])),
        invalid("count 0", "recurrence.count", recurring(["freq": "daily", "count": 0])),
        invalid("count 1001", "recurrence.count", recurring(["freq": "daily", "count": 1001])),
        invalid(
            "count and until both", "recurrence.until",
            recurring(["freq": "daily", "count": 3, "until": "2027-02-01T00:00:00Z"])),
        invalid(
            "until without offset", "recurrence.until", recurring(["freq": "daily", "until": "2027-02-01T00:00:00"])),
        invalid(
            "unknown member in recurrence", "recurrence.bysetpos", recurring(["freq": "weekly", "bysetpos": 1])),
        invalid("misspelt member in recurrence", "recurrence.byday", recurring(["freq": "weekly", "byday": ["MO"]])),
        invalid(
            "recurrence with deliver_at", "recurrence",
            changed {
                $0["expires_at"] = nil; $0["recurrence"] = ["freq": "daily"]
            }),
        invalid(
            "weekly by_day without the first occurrence's weekday", "recurrence.by_day",
            recurring(["freq": "weekly", "by_day": ["TU", "TH"]])),
        invalid(
            "monthly by_month_day without the first occurrence's day", "recurrence.by_month_day",
            recurring(["freq": "monthly", "by_month_day": [5, 31]])),
        invalid(
            "monthly on the last day from a day that is not the last", "recurrence.by_month_day",
            recurring(["freq": "monthly", "by_month_day": [-1]], at: "2027-02-27T09:00")),
        invalid(
            "until before the first occurrence", "recurrence.until",
            recurring(["freq": "daily", "until": "2027-01-04T07:59:59Z"])),
        invalid(
            "until in the spring gap, before the moved first occurrence", "recurrence.until",
            recurring(["freq": "daily", "until": "2027-03-28T01:29:59Z"], at: "2027-03-28T02:30")),
        invalid(
            "until before the earlier instant of the autumn overlap", "recurrence.until",
            recurring(["freq": "daily", "until": "2027-10-31T00:29:59Z"], at: "2027-10-31T02:30")),
    ]
}
