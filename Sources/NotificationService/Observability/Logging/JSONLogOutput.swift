import Foundation
import Synchronization

/// Where JSON log lines go: standard output (one write per line, lines never
/// interleaved), or a closure (tests).
public struct JSONLogOutput: Sendable {
    let write: @Sendable (String) -> Void

    public init(_ write: @escaping @Sendable (String) -> Void) {
        self.write = write
    }

    private static let lock = Mutex(())

    public static let standardOutput = JSONLogOutput { line in
        let bytes = Array((line + "\n").utf8)
        lock.withLock { _ in
            bytes.withUnsafeBufferPointer { buffer in
                var written = 0
                while written < buffer.count {
                    let result = Foundation.write(1, buffer.baseAddress! + written, buffer.count - written)
                    if result <= 0 { break }
                    written += result
                }
            }
        }
    }
}
