import Foundation

/// Runs a program to its end: its exit status and what it printed on standard output
/// (and on standard error too with `mergingErrors`; otherwise that goes to the test's).
public enum CommandRun {
    public static func run(
        _ executable: String, _ arguments: [String], in directory: URL? = nil, mergingErrors: Bool = true
    ) async throws -> (status: Int32, output: String) {
        try await OffPool.run { try runBlocking(executable, arguments, in: directory, mergingErrors: mergingErrors) }
    }

    private static func runBlocking(
        _ executable: String, _ arguments: [String], in directory: URL?, mergingErrors: Bool
    ) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = directory }
        let output = Pipe()
        process.standardOutput = output
        if mergingErrors { process.standardError = output }
        try process.run()
        let text = output.fileHandleForReading.readDataToEndOfFile()
        // Polled rather than waitUntilExit, which can miss the exit of a program that
        // leaves children behind (seen with scripts that start servers).
        while process.isRunning { usleep(10_000) }
        return (process.terminationStatus, String(decoding: text, as: UTF8.self))
    }
}
