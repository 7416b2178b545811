import Foundation

/// Runs blocking work (waiting for a child process, reading its pipe) on a thread of its
/// own, so that it does not hold one of the few threads every test's async work shares
/// (two on a 2-core machine: two blocked waits froze every dispatcher and poll loop).
public enum OffPool {
    public static func run<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            let thread = Thread {
                continuation.resume(with: Result { try work() })
            }
            thread.start()
        }
    }
}
