import Foundation

public struct TimedOut: Error, CustomStringConvertible {
    public let what: String

    public init(what: String) {
        self.what = what
    }

    public var description: String { "timed out waiting for \(what)" }
}

/// Polls `condition` every `interval` until it holds, failing with `TimedOut` once
/// `limit` has passed and one last look after it still finds it false (a stalled
/// machine may have slept through the deadline).
public func eventually(
    _ limit: Duration, _ what: String, every interval: Duration = .milliseconds(100),
    _ condition: () async throws -> Bool
) async throws {
    let deadline = ContinuousClock.now + limit
    while ContinuousClock.now < deadline {
        if try await condition() { return }
        try await Task.sleep(for: interval)
    }
    if try await condition() { return }
    throw TimedOut(what: what)
}
