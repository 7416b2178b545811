import NIOCore
import ReminderCore

/// A reminder as a schedule event sets it: one row of `reminders` as ingest inserts or
/// replaces it, with the event it came from (kept for dead letters and replay).
struct ReminderRow: BatchRow {
    let reminderID: String
    let userID: String
    let state: ReminderState
    let timeZone: String
    let deliverAt: Instant?
    let deliverAtLocal: LocalDateTime?
    let quietHours: QuietHours?
    let expiresAt: Instant?
    let dueAt: Instant?
    private(set) var channels: JSONText
    private(set) var content: JSONText
    /// The channels' types in order: what stays readable when the row is sealed.
    let channelTypes: [String]
    let correlationID: String?
    let idempotencyKey: String
    /// Where the event was consumed, and the trace it continues. Not the whole record:
    /// the row is copied as it is bound and put in parts, and each copy retains what it
    /// holds.
    let sourceTopic: String
    let sourcePartition: Int32
    let sourceOffset: Int64
    let trace: TraceContextHeaders?
    /// The source message's key and value, as bound (sealed when `sealedWith` is set).
    /// The consumed message's own arrays, not copies: bound as they are.
    private(set) var sourceKey: [UInt8]?
    private(set) var payload: [UInt8]
    /// The id of the key the personal fields are sealed with; nil when they are plaintext.
    private(set) var sealedWith: String?
    private(set) var sealedChannels: ByteBuffer?
    private(set) var sealedContent: ByteBuffer?
    /// The rule as stored, for a recurring reminder.
    let recurrence: String?
    /// The occurrence the row starts with: its number (nil for a reminder that never
    /// recurred), position in the rule and wall-clock time (nil for a one-off).
    let occurrence: Int?
    let occurrenceIndex: Int?
    let occurrenceLocal: LocalDateTime?
    /// The wall-clock instant its occurrences start after.
    let previousOccurrenceAt: Instant?

    /// Borrows what it reads: a record passed as it lies in its batch's array is not
    /// copied (with all it holds) for the call.
    init(
        _ event: ReminderEvent, _ schedule: borrowing ReminderSchedule, state: ReminderState,
        source: borrowing IngestRecord, continuation: IngestPlanner.Continuation? = nil
    ) {
        reminderID = event.reminderID
        userID = event.userID
        self.state = state
        timeZone = schedule.timeZone
        switch schedule.deliverAt {
        case .instant(let instant):
            deliverAt = instant
            deliverAtLocal = nil
        case .local(let local):
            deliverAt = nil
            deliverAtLocal = local
        }
        quietHours = schedule.quietHours
        expiresAt = schedule.expiresAt
        // The decoder accepts only zones of the tz database, so a due time exists.
        let oneOffDue = DeliveryTimeCalculator.dueInstant(for: schedule)
        previousOccurrenceAt = continuation?.after
        if let rule = schedule.recurrence, case .local(let start) = schedule.deliverAt {
            let continuation = continuation ?? .start
            recurrence = StoredDelivery.json(rule)
            let series = RecurrenceCalculator.Series(
                rule: rule, start: start, timeZone: schedule.timeZone, quietHours: schedule.quietHours,
                expiresAt: schedule.expiresAt)
            // IngestPlanner skipped a replacement whose rule has no occurrence left; a new
            // series that expires before its start is due at it, and expires when claimed.
            let first = RecurrenceCalculator.first(of: series, number: continuation.number, after: continuation.after)
            occurrence = continuation.number
            occurrenceIndex = first?.occurrence.index ?? 1
            occurrenceLocal = first?.occurrence.local ?? start
            dueAt = first?.dueAt ?? oneOffDue
        } else {
            recurrence = nil
            // A one-off schedule replacing a recurring reminder is its next occurrence.
            occurrence = continuation?.number
            occurrenceIndex = continuation == nil ? nil : 1
            occurrenceLocal = nil
            dueAt = oneOffDue
        }
        channels = JSONText(bytes: StoredDelivery.jsonBytes(schedule.channels))
        content = JSONText(bytes: StoredDelivery.jsonBytes(schedule.content))
        channelTypes = schedule.channels.map(\.type)
        sourceKey = source.key
        correlationID = event.correlationID
        idempotencyKey = event.idempotencyKey
        sourceTopic = source.topic
        sourcePartition = source.partition
        sourceOffset = source.offset
        trace = source.trace
        payload = source.value ?? []
    }

    /// About how many bytes the row's bound values take: the event's bytes, its channels
    /// and content (sealed or not) and its key, and an allowance for the other columns.
    var boundBytes: Int {
        payload.count + channels.bytes.count + content.bytes.count
            + (sealedChannels?.readableBytes ?? 0) + (sealedContent?.readableBytes ?? 0)
            + (sourceKey?.count ?? 0) + 256
    }

    /// Where consecutive parts of `rows` end, each part's rows taking about `bytes` in
    /// all (`StatementParts`). Each row's size is read in place: mapping the rows
    /// themselves copied every row (and retained all it holds) to read it.
    static func parts(of rows: [ReminderRow], bytes: Int) -> [Int] {
        StatementParts.ends(sizes: rows.indices.lazy.map { rows[$0].boundBytes }, limit: bytes)
    }

    /// The columns of `reminders` a schedule sets, named as in the table.
    static let columns: [BoundColumn<ReminderRow>] = [
        BoundColumn("reminder_id") { $0.reminderID },
        BoundColumn("user_id") { $0.userID },
        BoundColumn("state") { $0.state.rawValue },
        BoundColumn("time_zone") { $0.timeZone },
        BoundColumn("deliver_at") { $0.deliverAt },
        BoundColumn("deliver_at_local") { $0.deliverAtLocal },
        BoundColumn("quiet_start") { $0.quietHours?.start },
        BoundColumn("quiet_end") { $0.quietHours?.end },
        BoundColumn("expires_at") { $0.expiresAt },
        BoundColumn("due_at") { $0.dueAt },
        BoundColumn("channels") { $0.channels },
        BoundColumn("content") { $0.content },
        BoundColumn("correlation_id") { $0.correlationID },
        BoundColumn("idempotency_key") { $0.idempotencyKey },
        BoundColumn("source_topic") { $0.sourceTopic },
        BoundColumn("source_partition") { $0.sourcePartition },
        BoundColumn("source_offset") { $0.sourceOffset },
        BoundColumn("source_key") { $0.sourceKey },
        BoundColumn("source_value") { $0.payload },
        BoundColumn("trace_parent") { $0.trace?.storedTraceParent },
        BoundColumn("trace_state") { $0.trace?.storedTraceState },
        BoundColumn("recurrence") { $0.recurrence },
        BoundColumn("occurrence") { $0.occurrence.map { Int32(clamping: $0) } },
        BoundColumn("occurrence_index") { $0.occurrenceIndex.map { Int32(clamping: $0) } },
        BoundColumn("occurrence_local") { $0.occurrenceLocal },
        BoundColumn("previous_occurrence_at") { $0.previousOccurrenceAt },
        BoundColumn("sealed_with") { $0.sealedWith },
        BoundColumn("sealed_channels") { $0.sealedChannels },
        BoundColumn("sealed_content") { $0.sealedContent },
    ]

    /// The row with its personal fields sealed by `sealer` (nil: the row as it is). The
    /// channel list keeps only the channels' types in the clear, for lookups; the content
    /// column holds JSON `null`.
    func sealed(by sealer: DataSealer?) -> ReminderRow {
        guard let sealer else { return self }
        var row = self
        row.sealedWith = sealer.currentKeyID
        row.sealedChannels = ByteBuffer(bytes: sealer.seal(channels.bytes, for: .channels))
        row.sealedContent = ByteBuffer(bytes: sealer.seal(content.bytes, for: .content))
        row.channels = JSONText(Self.typesOnlyJSON(channelTypes))
        row.content = JSONText("null")
        row.sourceKey = sourceKey.map { sealer.seal($0, for: .messageKey) }
        row.payload = sealer.seal(payload, for: .message)
        return row
    }

    /// `[{"type":"email"},…]`: a sealed row's readable channel list.
    static func typesOnlyJSON(_ types: [String]) -> String {
        JSONValue.array(types.map { .object([("type", .string($0))]) }).serialized
    }
}
