import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The ids of status records a batch writes (`status_events.id`, sent as `x-status-id`),
/// drawn here rather than by `gen_random_uuid()` in PostgreSQL: the server's generator
/// cost about 1.3 µs of its CPU a record (issue 19), where this one asks the system's
/// generator once for a block of ids. Random version 4 UUIDs (RFC 9562), as
/// `gen_random_uuid()` made them.
struct StatusRecordIDs {
    /// How many ids one call to the system's generator draws.
    static let blockSize = 256

    private var bytes: [UInt8] = []
    private var next = 0

    init() {}

    /// A new random id.
    mutating func draw() -> UUID {
        if next == bytes.count {
            bytes = Self.randomBytes(Self.blockSize * 16)
            next = 0
        }
        defer { next += 16 }
        return Self.version4(bytes[next..<next + 16])
    }

    /// `sixteen` random bytes with the version (4) and variant (RFC 9562) bits set.
    static func version4(_ sixteen: ArraySlice<UInt8>) -> UUID {
        precondition(sixteen.count == 16, "a UUID is 16 bytes")
        // Read in place: no array of its own for each id.
        let i = sixteen.startIndex
        let s = sixteen
        return UUID(
            uuid: (
                s[i], s[i + 1], s[i + 2], s[i + 3], s[i + 4], s[i + 5], (s[i + 6] & 0x0F) | 0x40, s[i + 7],
                (s[i + 8] & 0x3F) | 0x80, s[i + 9], s[i + 10], s[i + 11], s[i + 12], s[i + 13], s[i + 14], s[i + 15]
            ))
    }

    /// `count` bytes from the system's cryptographically secure generator (glibc's and
    /// Darwin's `arc4random_buf`, which reads the kernel's `getrandom`).
    private static func randomBytes(_ count: Int) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        bytes.withUnsafeMutableBytes { arc4random_buf($0.baseAddress!, $0.count) }
        return bytes
    }
}
