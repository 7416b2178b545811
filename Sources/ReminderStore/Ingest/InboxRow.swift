import Crypto
import NIOCore

/// An event's entry in `inbox`, as ingest binds it: the key it is deduplicated by and the
/// SHA-256 of its payload, which tells a duplicate from a conflict.
struct InboxRow: BatchRow {
    let idempotencyKey: String
    /// The hash PostgreSQL's `sha256()` gives for the same bytes (rows stored when
    /// PostgreSQL hashed them compare equal), computed here: the payload is not sent.
    let payloadSHA256: ByteBuffer
    let reminderID: String
    let partition: Int32
    let offset: Int64

    init(idempotencyKey: String, payload: [UInt8], reminderID: String, partition: Int32, offset: Int64) {
        self.idempotencyKey = idempotencyKey
        // Copied as one block of bytes: the digest as a sequence is written a byte at a time.
        self.payloadSHA256 = SHA256.hash(data: payload).withUnsafeBytes { ByteBuffer(bytes: $0) }
        self.reminderID = reminderID
        self.partition = partition
        self.offset = offset
    }

    static let columns: [BoundColumn<InboxRow>] = [
        BoundColumn("idempotency_key") { $0.idempotencyKey },
        BoundColumn("payload_sha256") { $0.payloadSHA256 },
        BoundColumn("reminder_id") { $0.reminderID },
        BoundColumn("source_partition") { $0.partition },
        BoundColumn("source_offset") { $0.offset },
    ]
}
