import ReminderCore
import ReminderStore

extension IngestRecord.Decoded {
    /// What the event contract makes of `bytes`, as ingest decodes a message's value: the
    /// event, or why it is invalid (the message-key check is the pipeline's, not done here).
    public init(decoding bytes: [UInt8]) {
        do {
            self = .valid(try ReminderEventDecoder.decode(bytes))
        } catch {
            self = .invalid(error)
        }
    }
}
