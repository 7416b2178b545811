import Foundation
import Synchronization

/// Where JSON log lines go: standard output (one write per line, lines never
/// interleaved), or a closure (tests).
public struct JSONLogOutput: Sendable {
    /// Takes one line's UTF-8 bytes, its newline included.
    let write: @Sendable ([UInt8]) -> Void

    /// Lines as text, without their newline.
    public init(_ write: @escaping @Sendable (String) -> Void) {
        self.write = { line in write(String(decoding: line.last == 0x0A ? line.dropLast() : line[...], as: UTF8.self)) }
    }

    private init(bytes write: @escaping @Sendable ([UInt8]) -> Void) {
        self.write = write
    }

    private static let lock = Mutex(())

    public static let standardOutput = JSONLogOutput(bytes: { line in
        lock.withLock { _ in
            line.withUnsafeBufferPointer { buffer in
                var written = 0
                while written < buffer.count {
                    let result = Foundation.write(1, buffer.baseAddress! + written, buffer.count - written)
                    if result <= 0 { break }
                    written += result
                }
            }
        }
    })
}
