import NIOCore

/// An event's entry in `inbox`, as ingest binds it: the key it is deduplicated by and the
/// payload whose hash tells a duplicate from a conflict.
struct InboxRow: BatchRow {
    let idempotencyKey: String
    let payload: ByteBuffer
    let reminderID: String
    let partition: Int32
    let offset: Int64

    static let columns: [BoundColumn<InboxRow>] = [
        BoundColumn("idempotency_key") { $0.idempotencyKey },
        BoundColumn("payload") { $0.payload },
        BoundColumn("reminder_id") { $0.reminderID },
        BoundColumn("source_partition") { $0.partition },
        BoundColumn("source_offset") { $0.offset },
    ]
}
