import Crypto
import Foundation

/// Seals personal fields for storage and opens them again (`DATA_ENCRYPTION_KEYS`):
/// AES-256-GCM under one of several keys, each named by an id that the row stores beside
/// the sealed bytes, so that a new key can become current while rows sealed under the old
/// one are still read, and re-sealed later (`notification-service reseal`).
///
/// A sealed value is the 12-byte random nonce, the ciphertext and the 16-byte tag, in that
/// order. The associated data names the purpose (the kind of column), so a value cannot
/// be moved to a column of another kind and be opened there; it does not name the row, so
/// the original message can be copied from a reminder to its dead letter without opening
/// it (both columns are of the purpose `message`).
public struct DataSealer: Sendable {
    /// What a sealed value is: bound into its associated data.
    public enum Purpose: String, Sendable, CaseIterable {
        /// A reminder's channel list: addresses, numbers, device tokens, webhook URLs.
        case channels
        /// A reminder's content: title, body, data.
        case content
        /// The original message's value (`source_value`, `message_value`).
        case message
        /// The original message's key (`source_key`, `message_key`).
        case messageKey = "message_key"

        var associatedData: Data { Data("notification-service/sealed/v1/\(rawValue)".utf8) }
    }

    /// The id of the key new values are sealed with.
    public let currentKeyID: String
    private let keys: [String: Key]

    /// A key as the sealer holds it. `SymmetricKey` is an immutable value (nothing writes
    /// its bytes after it is made) that swift-crypto does not mark `Sendable`.
    private struct Key: @unchecked Sendable {
        let key: SymmetricKey
    }

    /// The key size, in bytes: AES-256.
    public static let keyByteCount = 32
    /// The longest key id: it is stored on every sealed row.
    public static let maximumKeyIDLength = 64

    /// `keys` by id, one of them `current`. Throws `StoreError` (code `configuration`)
    /// naming the key id at fault, never a key.
    public init(keys: [String: SymmetricKey], current: String) throws(StoreError) {
        for (id, key) in keys {
            guard Self.isValidKeyID(id) else {
                throw Self.invalid(
                    "key id \"\(id.prefix(Self.maximumKeyIDLength))\" must be 1 to \(Self.maximumKeyIDLength) "
                        + "letters, digits, '-', '_' or '.'")
            }
            guard key.bitCount == Self.keyByteCount * 8 else {
                throw Self.invalid("key \"\(id)\" must be \(Self.keyByteCount) bytes, not \(key.bitCount / 8)")
            }
        }
        guard keys[current] != nil else {
            throw Self.invalid(
                "the current key id \"\(current.prefix(Self.maximumKeyIDLength))\" is not among the keys")
        }
        self.keys = keys.mapValues(Key.init)
        self.currentKeyID = current
    }

    /// The configured key ids, sorted.
    public var keyIDs: [String] { keys.keys.sorted() }

    /// Whether `id` can name a key: short, and of characters that need no quoting in logs.
    public static func isValidKeyID(_ id: String) -> Bool {
        !id.isEmpty && id.count <= maximumKeyIDLength
            && id.unicodeScalars.allSatisfy {
                $0.isASCII && (CharacterSet.alphanumerics.contains($0) || "-_.".unicodeScalars.contains($0))
            }
    }

    /// `plaintext` sealed with the current key for `purpose`: nonce, ciphertext, tag.
    public func seal<Bytes: DataProtocol>(_ plaintext: Bytes, for purpose: Purpose) -> [UInt8] {
        // AES-GCM with a fresh random nonce cannot fail for a valid 256-bit key; the key
        // sizes were checked at init.
        let box = try! AES.GCM.seal(plaintext, using: keys[currentKeyID]!.key, authenticating: purpose.associatedData)
        return Array(box.combined!)
    }

    /// The plaintext of a value sealed with key `keyID` for `purpose`. Throws `StoreError`
    /// (code `sealing`) when the key is not configured, or the value was sealed with
    /// another key or for another purpose, or was changed; the message names the key id
    /// and purpose, never the bytes.
    public func open<Bytes: DataProtocol>(_ sealed: Bytes, keyID: String, for purpose: Purpose) throws(StoreError)
        -> [UInt8]
    {
        guard let key = keys[keyID]?.key else {
            throw StoreError(
                code: .sealing, operation: "open a sealed \(purpose.rawValue) value",
                message: "key id \"\(keyID)\" is not configured (DATA_ENCRYPTION_KEYS)")
        }
        do {
            let box = try AES.GCM.SealedBox(combined: sealed)
            return Array(try AES.GCM.open(box, using: key, authenticating: purpose.associatedData))
        } catch {
            throw StoreError(
                code: .sealing, operation: "open a sealed \(purpose.rawValue) value",
                message: "it does not open with key id \"\(keyID)\" (another key, another column, or changed)")
        }
    }

    /// A stored value as it is read: sealed with `keyID`, or plaintext when `keyID` is nil.
    public func read<Bytes: DataProtocol>(_ stored: Bytes, keyID: String?, for purpose: Purpose) throws(StoreError)
        -> [UInt8]
    {
        guard let keyID else { return Array(stored) }
        return try open(stored, keyID: keyID, for: purpose)
    }

    /// A stored value sealed with the current key: opened first when it was sealed with
    /// another (`keyID`), sealed as it is when it was plaintext (`keyID` nil).
    public func reseal<Bytes: DataProtocol>(_ stored: Bytes, keyID: String?, for purpose: Purpose) throws(StoreError)
        -> [UInt8]
    {
        seal(try read(stored, keyID: keyID, for: purpose), for: purpose)
    }

    private static func invalid(_ message: String) -> StoreError {
        StoreError(code: .configuration, operation: "read the data encryption keys", message: message)
    }
}

extension DataSealer {
    /// A reader of stored values that may or may not be sealed, with or without a sealer:
    /// without one, a sealed value cannot be read (the start-up check refuses a database
    /// that holds any, so this is a row written after start by an instance with keys).
    static func read<Bytes: DataProtocol>(
        _ stored: Bytes, keyID: String?, for purpose: Purpose, with sealer: DataSealer?
    ) throws(StoreError) -> [UInt8] {
        guard let keyID else { return Array(stored) }
        guard let sealer else {
            throw StoreError(
                code: .sealing, operation: "open a sealed \(purpose.rawValue) value",
                message: "key id \"\(keyID)\" is not configured (DATA_ENCRYPTION_KEYS is not set)")
        }
        return try sealer.open(stored, keyID: keyID, for: purpose)
    }
}
