import Foundation
import ReminderStore

extension DeadLetterEntry {
    /// The entry as the API shows it, for `dlq list --json` and `dlq show`.
    public func json(pretty: Bool = false) -> String {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting =
            pretty ? [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(APIBodies.DeadLetter(self)) else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }
}
