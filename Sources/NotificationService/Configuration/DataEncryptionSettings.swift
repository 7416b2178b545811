import Crypto
import Foundation
import ReminderStore

/// `DATA_ENCRYPTION_KEYS` (or `DATA_ENCRYPTION_KEYS_FILE`) and `DATA_ENCRYPTION_CURRENT_KEY`:
/// the keys personal data is sealed with at rest, off when neither is set. Errors name
/// the setting and the key id or the entry's position, never a key.
enum DataEncryptionSettings {
    static let keysVariable = "DATA_ENCRYPTION_KEYS"
    static let keysFileVariable = "DATA_ENCRYPTION_KEYS_FILE"
    static let currentVariable = "DATA_ENCRYPTION_CURRENT_KEY"

    /// The sealer the settings describe; nil when encryption is off.
    static func sealer(_ reader: EnvironmentReader) throws -> DataSealer? {
        let inline = reader.optional(keysVariable)
        let file = reader.optional(keysFileVariable)
        let current = reader.optional(currentVariable)
        let text: String
        let variable: String
        switch (inline, file) {
        case (nil, nil):
            if current != nil {
                throw ServiceSettings.Invalid(
                    variable: currentVariable, message: "is set, but \(keysVariable) and \(keysFileVariable) are not")
            }
            return nil
        case (_?, _?):
            throw ServiceSettings.Invalid(
                variable: keysFileVariable, message: "must not be set together with \(keysVariable)")
        case (let inline?, nil):
            (text, variable) = (inline, keysVariable)
        case (nil, let file?):
            guard let data = FileManager.default.contents(atPath: file) else {
                throw ServiceSettings.Invalid(variable: keysFileVariable, message: "cannot read \(file)")
            }
            (text, variable) = (String(decoding: data, as: UTF8.self), keysFileVariable)
        }
        let keys = try parse(text, variable: variable)
        guard let current else {
            throw ServiceSettings.Invalid(variable: currentVariable, message: "must be set when \(variable) is set")
        }
        guard keys[current] != nil else {
            throw ServiceSettings.Invalid(
                variable: currentVariable,
                message:
                    "names key id \"\(current.prefix(DataSealer.maximumKeyIDLength))\", which is not in \(variable)")
        }
        do {
            return try DataSealer(keys: keys, current: current)
        } catch {
            throw ServiceSettings.Invalid(variable: variable, message: error.message)
        }
    }

    /// `id:base64` entries separated by commas, spaces or line breaks, each key 32 bytes
    /// (AES-256), each id once.
    static func parse(_ text: String, variable: String) throws -> [String: SymmetricKey] {
        let entries = text.split(whereSeparator: { $0 == "," || $0.isWhitespace })
        guard !entries.isEmpty else {
            throw ServiceSettings.Invalid(variable: variable, message: "holds no key (id:base64,…)")
        }
        var keys: [String: SymmetricKey] = [:]
        for (index, entry) in entries.enumerated() {
            // The entry itself is never shown: without its colon it may be all key.
            guard let colon = entry.firstIndex(of: ":") else {
                throw ServiceSettings.Invalid(
                    variable: variable, message: "entry \(index + 1) is not id:base64 (32 bytes, base64)")
            }
            let id = String(entry[..<colon])
            guard DataSealer.isValidKeyID(id) else {
                throw ServiceSettings.Invalid(
                    variable: variable,
                    message: "entry \(index + 1): the key id must be 1 to \(DataSealer.maximumKeyIDLength) letters, "
                        + "digits, '-', '_' or '.'")
            }
            guard keys[id] == nil else {
                throw ServiceSettings.Invalid(variable: variable, message: "key id \"\(id)\" appears twice")
            }
            guard let bytes = Data(base64Encoded: String(entry[entry.index(after: colon)...])) else {
                throw ServiceSettings.Invalid(variable: variable, message: "key \"\(id)\" is not base64")
            }
            guard bytes.count == DataSealer.keyByteCount else {
                throw ServiceSettings.Invalid(
                    variable: variable,
                    message: "key \"\(id)\" must be \(DataSealer.keyByteCount) bytes (AES-256), not \(bytes.count)")
            }
            keys[id] = SymmetricKey(data: bytes)
        }
        return keys
    }
}
