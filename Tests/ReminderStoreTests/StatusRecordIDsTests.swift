import Foundation
import Testing

@testable import ReminderStore

/// The ids the service draws for status records: version 4 UUIDs, none repeated, across
/// the blocks it draws from the system's generator.
@Suite struct StatusRecordIDsTests {
    @Test func theVersionAndVariantBitsAreSetWhateverTheRandomBytes() {
        let allOnes = StatusRecordIDs.version4(ArraySlice(repeating: 0xFF, count: 16))
        #expect(allOnes.uuidString == "FFFFFFFF-FFFF-4FFF-BFFF-FFFFFFFFFFFF")
        let allZeros = StatusRecordIDs.version4(ArraySlice(repeating: 0, count: 16))
        #expect(allZeros.uuidString == "00000000-0000-4000-8000-000000000000")
        let counting = StatusRecordIDs.version4(ArraySlice(0..<16))
        #expect(counting.uuidString == "00010203-0405-4607-8809-0A0B0C0D0E0F")
    }

    @Test func idsAcrossSeveralBlocksAreDistinctVersion4UUIDs() {
        var ids = StatusRecordIDs()
        let count = StatusRecordIDs.blockSize * 3 + 17
        var drawn: [UUID] = []
        for _ in 0..<count { drawn.append(ids.draw()) }
        #expect(Set(drawn).count == count)
        for id in drawn {
            let text = Array(id.uuidString)
            #expect(text[14] == "4" && "89AB".contains(text[19]), "\(id)")
        }
        // The random bits vary: over this many ids each of the 122 takes both values.
        var ones = [Int](repeating: 0, count: 128)
        for id in drawn {
            let bytes = withUnsafeBytes(of: id.uuid) { Array($0) }
            for bit in 0..<128 where bytes[bit / 8] & (0x80 >> (bit % 8)) != 0 { ones[bit] += 1 }
        }
        let fixed: Set<Int> = [48, 49, 50, 51, 64, 65]
        for bit in 0..<128 where !fixed.contains(bit) {
            #expect(ones[bit] > 0 && ones[bit] < count, "bit \(bit) set in \(ones[bit]) of \(count)")
        }
    }
}
