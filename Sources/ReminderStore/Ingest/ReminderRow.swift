import ReminderCore

/// The column values of a reminder version, in the text forms the batched statements
/// bind (an empty string stands for NULL in nullable columns).
struct ReminderRow {
    let reminderID: String
    let userID: String
    let timeZone: String
    let deliverAt: String
    let deliverAtLocal: String
    let quietStart: String
    let quietEnd: String
    let expiresAt: String
    let dueAt: String
    let channels: String
    let content: String
    let correlationID: String
    let idempotencyKey: String

    init(_ event: ReminderEvent, _ schedule: ReminderSchedule) {
        reminderID = event.reminderID
        userID = event.userID
        timeZone = schedule.timeZone
        switch schedule.deliverAt {
        case .instant(let instant):
            deliverAt = instant.description
            deliverAtLocal = ""
        case .local(let local):
            deliverAt = ""
            deliverAtLocal = local.description
        }
        quietStart = schedule.quietHours.map { "\($0.start)" } ?? ""
        quietEnd = schedule.quietHours.map { "\($0.end)" } ?? ""
        expiresAt = schedule.expiresAt?.description ?? ""
        // The decoder accepts only zones of the tz database, so a due time exists.
        dueAt = DeliveryTimeCalculator.dueInstant(for: schedule)?.description ?? ""
        channels = JSONValue.array(schedule.channels.map(Self.json)).serialized
        // `data` is already compact JSON text: it goes in as it is, not parsed again.
        var content =
            #"{"title":"# + JSONValue.string(schedule.content.title).serialized + #","body":"#
            + JSONValue.string(schedule.content.body).serialized
        if let data = schedule.content.data { content += #","data":"# + data }
        self.content = content + "}"
        correlationID = event.correlationID ?? ""
        idempotencyKey = event.idempotencyKey
    }

    private static func json(_ channel: Channel) -> JSONValue {
        switch channel {
        case .email(let to): .object([("type", .string("email")), ("to", .string(to))])
        case .sms(let to): .object([("type", .string("sms")), ("to", .string(to))])
        case .push(let platform, let token):
            .object([("type", .string("push")), ("platform", .string(platform.rawValue)), ("token", .string(token))])
        case .webhook(let url): .object([("type", .string("webhook")), ("url", .string(url))])
        }
    }
}
