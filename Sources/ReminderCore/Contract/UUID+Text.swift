import Foundation

extension UUID {
    /// The id as the contracts and the database write it: lowercase hex, `8-4-4-4-12`.
    /// Written directly: `uuidString` formats uppercase through `sprintf` and
    /// `lowercased()` copies it again, on every status record the relay publishes.
    public var lowercasedText: String {
        String(unsafeUninitializedCapacity: 36) { text in
            withUnsafeBytes(of: uuid) { bytes in
                var position = 0
                for (index, byte) in bytes.enumerated() {
                    if index == 4 || index == 6 || index == 8 || index == 10 {
                        text[position] = UInt8(ascii: "-")
                        position += 1
                    }
                    text[position] = HexEncoding.digits[Int(byte >> 4)]
                    text[position + 1] = HexEncoding.digits[Int(byte & 0x0F)]
                    position += 2
                }
            }
            return 36
        }
    }
}
