/// A benchmark that could not measure what it set out to (a process exited, a count came
/// out wrong); printed as `Error: <message>`, without the usage text of a `ValidationError`.
public struct BenchmarkFailure: Error, CustomStringConvertible {
    public let description: String

    public init(_ description: String) {
        self.description = description
    }
}
