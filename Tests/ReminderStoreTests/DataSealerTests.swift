import Crypto
import Foundation
import NIOCore
import ReminderCore
import Testing

@testable import ReminderStore

@Suite struct DataSealerTests {
    private let k1 = SymmetricKey(size: .bits256)
    private let k2 = SymmetricKey(size: .bits256)
    private let address = Array(#"[{"type":"email","address":"ada@example.com"}]"#.utf8)

    private func sealer(_ keys: [String: SymmetricKey], current: String) throws -> DataSealer {
        try DataSealer(keys: keys, current: current)
    }

    @Test func sealedValueOpensToThePlaintextAndDoesNotContainIt() throws {
        let sealer = try sealer(["k1": k1], current: "k1")
        let sealed = sealer.seal(address, for: .channels)
        // nonce (12) + ciphertext (as long as the plaintext) + tag (16)
        #expect(sealed.count == 12 + address.count + 16)
        #expect(!Data(sealed).contains(Data("ada@example.com".utf8)))
        #expect(try sealer.open(sealed, keyID: "k1", for: .channels) == address)
    }

    @Test func sealingTheSameValueTwiceGivesDifferentBytes() throws {
        let sealer = try sealer(["k1": k1], current: "k1")
        #expect(sealer.seal(address, for: .content) != sealer.seal(address, for: .content))
    }

    @Test func valueDoesNotOpenWithAnotherKeyUnderTheSameID() throws {
        let sealed = try sealer(["k1": k1], current: "k1").seal(address, for: .message)
        let other = try sealer(["k1": k2], current: "k1")
        #expect(throws: StoreError.self) { try other.open(sealed, keyID: "k1", for: .message) }
    }

    @Test func valueSealedWithAnUnconfiguredKeyIDIsRefusedNamingTheID() throws {
        let sealed = try sealer(["k1": k1], current: "k1").seal(address, for: .message)
        let other = try sealer(["k2": k2], current: "k2")
        let error = #expect(throws: StoreError.self) { try other.open(sealed, keyID: "k1", for: .message) }
        #expect(error?.code == .sealing)
        #expect(error?.description.contains("\"k1\"") == true)
    }

    @Test(arguments: [0, 5, 12, 30, -1])
    func anyChangedByteIsRefused(position: Int) throws {
        let sealer = try sealer(["k1": k1], current: "k1")
        var sealed = sealer.seal(address, for: .channels)
        let index = position < 0 ? sealed.count - 1 : position
        sealed[index] ^= 0x01
        #expect(throws: StoreError.self) { try sealer.open(sealed, keyID: "k1", for: .channels) }
    }

    @Test func valueSealedForOneColumnDoesNotOpenInAnother() throws {
        let sealer = try sealer(["k1": k1], current: "k1")
        let sealed = sealer.seal(address, for: .content)
        for purpose in DataSealer.Purpose.allCases where purpose != .content {
            #expect(throws: StoreError.self) { try sealer.open(sealed, keyID: "k1", for: purpose) }
        }
    }

    @Test func afterRotationOldRowsOpenWithTheOldKeyAndNewOnesAreSealedWithTheCurrent() throws {
        let before = try sealer(["k1": k1], current: "k1")
        let old = before.seal(address, for: .message)
        let after = try sealer(["k1": k1, "k2": k2], current: "k2")
        #expect(try after.open(old, keyID: "k1", for: .message) == address)
        let new = after.seal(address, for: .message)
        #expect(try after.open(new, keyID: "k2", for: .message) == address)
        #expect(throws: StoreError.self) { try after.open(new, keyID: "k1", for: .message) }
        // Resealed, the old row opens with the new key alone.
        let resealed = try after.reseal(old, keyID: "k1", for: .message)
        let onlyNew = try sealer(["k2": k2], current: "k2")
        #expect(try onlyNew.open(resealed, keyID: "k2", for: .message) == address)
    }

    @Test func resealingPlaintextSealsIt() throws {
        let sealer = try sealer(["k1": k1], current: "k1")
        let sealed = try sealer.reseal(address, keyID: nil, for: .channels)
        #expect(sealed != address)
        #expect(try sealer.open(sealed, keyID: "k1", for: .channels) == address)
    }

    @Test func currentKeyMustBeAmongTheKeys() {
        let error = #expect(throws: StoreError.self) { try DataSealer(keys: ["k1": k1], current: "k9") }
        #expect(error?.code == .configuration)
        #expect(error?.description.contains("k9") == true)
    }

    @Test func keysOtherThan256BitsAreRefusedNamingTheID() {
        let error = #expect(throws: StoreError.self) {
            try DataSealer(keys: ["short": SymmetricKey(size: .bits128)], current: "short")
        }
        #expect(error?.description.contains("\"short\"") == true)
    }

    @Test func sealedReminderRowKeepsOnlyChannelTypesReadable() {
        let types = ["email", "sms"]
        #expect(ReminderRow.typesOnlyJSON(types) == #"[{"type":"email"},{"type":"sms"}]"#)
    }

    @Test func registeredIDsThatAreNotConfiguredAreTheUnknownOnes() {
        #expect(DataKeyRegistry.unconfigured(registered: ["k1", "k2", "k3"], configured: ["k2"]) == ["k1", "k3"])
        #expect(DataKeyRegistry.unconfigured(registered: ["k1"], configured: []) == ["k1"])
        #expect(DataKeyRegistry.unconfigured(registered: [], configured: ["k1"]).isEmpty)
    }
}
