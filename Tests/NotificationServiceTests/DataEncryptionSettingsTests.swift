import Crypto
import Foundation
import NotificationService
import Testing

@Suite struct DataEncryptionSettingsTests {
    private let base = ["NOTIFICATION_MIGRATIONS_DIR": "/tmp"]
    /// Fresh keys for each run: never a committed one.
    private let key1 = SymmetricKey(size: .bits256).withUnsafeBytes { Data($0).base64EncodedString() }
    private let key2 = SymmetricKey(size: .bits256).withUnsafeBytes { Data($0).base64EncodedString() }

    private func settings(_ extra: [String: String]) throws -> ServiceSettings {
        try ServiceSettings.fromEnvironment(base.merging(extra) { $1 })
    }

    private func refusal(_ extra: [String: String]) -> ServiceSettings.Invalid? {
        #expect(throws: ServiceSettings.Invalid.self) { try settings(extra) }
    }

    @Test func encryptionIsOffByDefault() throws {
        #expect(try settings([:]).sealer == nil)
    }

    @Test func keysWithACurrentOneTurnItOn() throws {
        let sealer = try #require(
            try settings([
                "DATA_ENCRYPTION_KEYS": "k1:\(key1), k2:\(key2)", "DATA_ENCRYPTION_CURRENT_KEY": "k2",
            ]).sealer)
        #expect(sealer.currentKeyID == "k2")
        #expect(sealer.keyIDs == ["k1", "k2"])
    }

    @Test func keysCanComeFromAFileOfOneEntryPerLine() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("keys-\(UUID().uuidString)")
        try Data("k1:\(key1)\nk2:\(key2)\n".utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let sealer = try #require(
            try settings(["DATA_ENCRYPTION_KEYS_FILE": file.path, "DATA_ENCRYPTION_CURRENT_KEY": "k1"]).sealer)
        #expect(sealer.keyIDs == ["k1", "k2"] && sealer.currentKeyID == "k1")
    }

    @Test func currentKeyIsRequiredWithKeys() {
        let error = refusal(["DATA_ENCRYPTION_KEYS": "k1:\(key1)"])
        #expect(error?.variable == "DATA_ENCRYPTION_CURRENT_KEY")
    }

    @Test func currentKeyMustBeAmongTheKeysAndIsNamed() {
        let error = refusal(["DATA_ENCRYPTION_KEYS": "k1:\(key1)", "DATA_ENCRYPTION_CURRENT_KEY": "k7"])
        #expect(error?.variable == "DATA_ENCRYPTION_CURRENT_KEY")
        #expect(error?.message.contains("k7") == true)
    }

    @Test func currentKeyWithoutKeysIsRefused() {
        #expect(refusal(["DATA_ENCRYPTION_CURRENT_KEY": "k1"])?.variable == "DATA_ENCRYPTION_CURRENT_KEY")
    }

    @Test func keysInlineAndFromAFileAtOnceAreRefused() {
        let error = refusal([
            "DATA_ENCRYPTION_KEYS": "k1:\(key1)", "DATA_ENCRYPTION_KEYS_FILE": "/nonexistent",
            "DATA_ENCRYPTION_CURRENT_KEY": "k1",
        ])
        #expect(error?.variable == "DATA_ENCRYPTION_KEYS_FILE")
    }

    @Test func badKeysAreRefusedNamingTheKeyIDButNeverTheKey() {
        let short = Data(repeating: 7, count: 16).base64EncodedString()
        let cases: [(String, String?)] = [
            ("k1:\(short)", "\"k1\""),  // 16 bytes
            ("k1:not*base64", "\"k1\""),
            ("k1:\(key1),k1:\(key2)", "\"k1\""),  // twice
            (key1, "entry 1"),  // no id: the entry may be all key
            ("bad id:\(key1)", "entry 1"),
        ]
        for (keys, named) in cases {
            let error = refusal(["DATA_ENCRYPTION_KEYS": keys, "DATA_ENCRYPTION_CURRENT_KEY": "k1"])
            #expect(error?.variable == "DATA_ENCRYPTION_KEYS", "\(named ?? "")")
            if let named { #expect(error?.message.contains(named) == true, "\(error?.message ?? "")") }
            for secret in [key1, key2, short] { #expect(error?.description.contains(secret) != true) }
        }
    }
}
