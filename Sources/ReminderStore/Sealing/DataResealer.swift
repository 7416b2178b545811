import Logging
import NIOCore
import PostgresNIO

/// Seals again, with the current key, the rows sealed with another key, and seals the
/// plaintext ones (`notification-service reseal`): reminders, pending replacements and
/// dead letters, in small batches in key order, each batch its own statement. Safe beside
/// running instances: a row is rewritten only if its sealed key id and its message are
/// still those that were read, so a row that ingest replaced meanwhile (already sealed
/// with the current key) is left as ingest wrote it. Idempotent: a second run finds
/// nothing to do.
public struct DataResealer: Sendable {
    /// What a run did.
    public struct Counts: Sendable, Equatable, CustomStringConvertible {
        public var reminders = 0
        public var pendingReplacements = 0
        public var deadLetters = 0
        /// Rows changed by another writer between the read and the write: left as they are.
        public var changedMeanwhile = 0
        /// Rows whose sealed values do not open with the key they name: left as they are
        /// (their ids are logged), and their key id stays registered.
        public var unreadable = 0

        public init() {}

        public var description: String {
            "reminders=\(reminders) pending_replacements=\(pendingReplacements) dead_letters=\(deadLetters) "
                + "changed_meanwhile=\(changedMeanwhile) unreadable=\(unreadable)"
        }
    }

    private let client: PostgresClient
    private let sealer: DataSealer
    private let logger: Logger
    private let batchSize: Int

    public init(client: PostgresClient, sealer: DataSealer, logger: Logger, batchSize: Int = 500) {
        self.client = client
        self.sealer = sealer
        self.logger = logger
        self.batchSize = max(1, batchSize)
    }

    /// One pass over the three tables.
    public func run() async throws(StoreError) -> Counts {
        var counts = Counts()
        let reminders = try await resealReminders(table: .reminders, counts: &counts)
        let pendingReplacements = try await resealReminders(table: .pendingReplacements, counts: &counts)
        let deadLetters = try await resealDeadLetters(counts: &counts)
        counts.reminders = reminders
        counts.pendingReplacements = pendingReplacements
        counts.deadLetters = deadLetters
        return counts
    }

    /// The two tables of reminder rows: fixed identifiers, never input.
    enum ReminderTable: String {
        case reminders
        case pendingReplacements = "pending_replacements"
    }

    private func resealReminders(table: ReminderTable, counts: inout Counts) async throws(StoreError) -> Int {
        var after: Int64 = 0
        var done = 0
        while true {
            let batch = try await readReminders(table, after: after, counts: &counts)
            done += try await write(batch.resealed, to: table, counts: &counts)
            guard let last = batch.last, batch.read == batchSize else { return done }
            after = last
        }
    }

    /// The next batch of `table` after id `after` not under the current key, sealed again
    /// in memory: the rows (without those that do not open), how many were read and the
    /// last id read.
    func readReminders(_ table: ReminderTable, after: Int64, counts: inout Counts) async throws(StoreError)
        -> (resealed: [ResealedReminder], read: Int, last: Int64?)
    {
        do {
            let rows = try await client.query(
                """
                SELECT id, sealed_with, channels::text, content::text, sealed_channels, sealed_content, source_key,
                    source_value
                FROM \(unescaped: table.rawValue)
                WHERE id > \(after) AND sealed_with IS DISTINCT FROM \(sealer.currentKeyID)
                ORDER BY id LIMIT \(Int64(batchSize))
                """, logger: logger)
            var resealed: [ResealedReminder] = []
            var read = 0
            var last: Int64?
            for try await row in rows.decode(
                (Int64, String?, String, String, ByteBuffer?, ByteBuffer?, ByteBuffer?, ByteBuffer).self)
            {
                read += 1
                last = row.0
                do {
                    resealed.append(try ResealedReminder(row, sealer: sealer))
                } catch {
                    counts.unreadable += 1
                    logger.error(
                        "a sealed row cannot be opened",
                        metadata: ["table": "\(table.rawValue)", "id": "\(row.0)", "error": "\(error)"])
                }
            }
            return (resealed, read, last)
        } catch {
            throw StoreError.wrapping(error, operation: "read \(table.rawValue) to reseal")
        }
    }

    /// Writes the rows sealed again, each only if it still holds what was read; returns
    /// how many were written.
    func write(_ resealed: [ResealedReminder], to table: ReminderTable, counts: inout Counts) async throws(StoreError)
        -> Int
    {
        guard !resealed.isEmpty else { return 0 }
        do {
            var binds = PostgresBindings(capacity: ResealedReminder.columns.count + 1)
            ResealedReminder.bind(resealed, into: &binds)
            binds.append(sealer.currentKeyID)
            let written = try await client.query(
                PostgresQuery(unsafeSQL: Self.updateRemindersSQL(table), binds: binds), logger: logger
            ).collect().count
            counts.changedMeanwhile += resealed.count - written
            return written
        } catch {
            throw StoreError.wrapping(error, operation: "reseal \(table.rawValue)")
        }
    }

    /// A sealed row keeps its readable channel types; a plaintext one gets them from its
    /// channel list, which is then sealed with the content.
    static func updateRemindersSQL(_ table: ReminderTable) -> String {
        let last = ResealedReminder.columns.count + 1
        return """
            UPDATE \(table.rawValue) r SET sealed_with = $\(last), sealed_channels = t.sealed_channels,
                sealed_content = t.sealed_content, source_key = t.source_key, source_value = t.source_value,
                channels = CASE WHEN r.sealed_with IS NULL THEN coalesce((
                    SELECT jsonb_agg(jsonb_build_object('type', c->'type') ORDER BY n)
                    FROM jsonb_array_elements(r.channels) WITH ORDINALITY AS e(c, n)), '[]') ELSE r.channels END,
                content = 'null'
            FROM \(ResealedReminder.unnest(bindingFrom: 1, as: "t"))
            WHERE r.id = t.id AND r.sealed_with IS NOT DISTINCT FROM t.read_with AND r.source_value = t.read_value
            RETURNING r.id
            """
    }

    private func resealDeadLetters(counts: inout Counts) async throws(StoreError) -> Int {
        var after: Int64 = 0
        var done = 0
        do {
            while true {
                let rows = try await client.query(
                    """
                    SELECT seq, sealed_with, message_key, message_value FROM dead_letters
                    WHERE seq > \(after) AND sealed_with IS DISTINCT FROM \(sealer.currentKeyID)
                    ORDER BY seq LIMIT \(Int64(batchSize))
                    """, logger: logger)
                var resealed: [ResealedDeadLetter] = []
                var read = 0
                for try await row in rows.decode((Int64, String?, ByteBuffer?, ByteBuffer?).self) {
                    read += 1
                    after = row.0
                    do {
                        resealed.append(try ResealedDeadLetter(row, sealer: sealer))
                    } catch {
                        counts.unreadable += 1
                        logger.error(
                            "a sealed row cannot be opened",
                            metadata: ["table": "dead_letters", "seq": "\(row.0)", "error": "\(error)"])
                    }
                }
                if !resealed.isEmpty {
                    var binds = PostgresBindings(capacity: ResealedDeadLetter.columns.count + 1)
                    ResealedDeadLetter.bind(resealed, into: &binds)
                    binds.append(sealer.currentKeyID)
                    let written = try await client.query(
                        PostgresQuery(unsafeSQL: Self.updateDeadLettersSQL, binds: binds), logger: logger
                    ).collect().count
                    done += written
                    counts.changedMeanwhile += resealed.count - written
                }
                if read < batchSize { return done }
            }
        } catch {
            throw StoreError.wrapping(error, operation: "reseal dead_letters")
        }
    }

    static let updateDeadLettersSQL = """
        UPDATE dead_letters d SET sealed_with = $\(ResealedDeadLetter.columns.count + 1),
            message_key = t.message_key, message_value = t.message_value
        FROM \(ResealedDeadLetter.unnest(bindingFrom: 1, as: "t"))
        WHERE d.seq = t.seq AND d.sealed_with IS NOT DISTINCT FROM t.read_with
            AND d.message_value IS NOT DISTINCT FROM t.read_value
        RETURNING d.seq
        """
}

/// A reminder row sealed again: what was read (to write only if it is unchanged) and the
/// new sealed values.
struct ResealedReminder: BatchRow {
    let id: Int64
    let readWith: String?
    let readValue: ByteBuffer
    let sealedChannels: ByteBuffer
    let sealedContent: ByteBuffer
    let sourceKey: ByteBuffer?
    let sourceValue: ByteBuffer

    init(
        _ row: (Int64, String?, String, String, ByteBuffer?, ByteBuffer?, ByteBuffer?, ByteBuffer),
        sealer: DataSealer
    ) throws(StoreError) {
        let (id, keyID, channels, content, sealedChannels, sealedContent, sourceKey, sourceValue) = row
        self.id = id
        readWith = keyID
        readValue = sourceValue
        // Plaintext rows keep their channel list and content in the jsonb columns.
        let channelsBytes = keyID == nil ? Array(channels.utf8) : Array(sealedChannels?.readableBytesView ?? [])
        let contentBytes = keyID == nil ? Array(content.utf8) : Array(sealedContent?.readableBytesView ?? [])
        self.sealedChannels = ByteBuffer(bytes: try sealer.reseal(channelsBytes, keyID: keyID, for: .channels))
        self.sealedContent = ByteBuffer(bytes: try sealer.reseal(contentBytes, keyID: keyID, for: .content))
        self.sourceKey = try sourceKey.map { key throws(StoreError) in
            ByteBuffer(bytes: try sealer.reseal(Array(key.readableBytesView), keyID: keyID, for: .messageKey))
        }
        self.sourceValue = ByteBuffer(
            bytes: try sealer.reseal(Array(sourceValue.readableBytesView), keyID: keyID, for: .message))
    }

    static let columns: [BoundColumn<ResealedReminder>] = [
        BoundColumn("id") { $0.id },
        BoundColumn("read_with") { $0.readWith },
        BoundColumn("read_value") { $0.readValue },
        BoundColumn("sealed_channels") { $0.sealedChannels },
        BoundColumn("sealed_content") { $0.sealedContent },
        BoundColumn("source_key") { $0.sourceKey },
        BoundColumn("source_value") { $0.sourceValue },
    ]
}

/// A dead letter's message sealed again.
struct ResealedDeadLetter: BatchRow {
    let seq: Int64
    let readWith: String?
    let readValue: ByteBuffer?
    let messageKey: ByteBuffer?
    let messageValue: ByteBuffer?

    init(_ row: (Int64, String?, ByteBuffer?, ByteBuffer?), sealer: DataSealer) throws(StoreError) {
        let (seq, keyID, key, value) = row
        self.seq = seq
        readWith = keyID
        readValue = value
        messageKey = try key.map { key throws(StoreError) in
            ByteBuffer(bytes: try sealer.reseal(Array(key.readableBytesView), keyID: keyID, for: .messageKey))
        }
        messageValue = try value.map { value throws(StoreError) in
            ByteBuffer(bytes: try sealer.reseal(Array(value.readableBytesView), keyID: keyID, for: .message))
        }
    }

    static let columns: [BoundColumn<ResealedDeadLetter>] = [
        BoundColumn("seq") { $0.seq },
        BoundColumn("read_with") { $0.readWith },
        BoundColumn("read_value") { $0.readValue },
        BoundColumn("message_key") { $0.messageKey },
        BoundColumn("message_value") { $0.messageValue },
    ]
}
