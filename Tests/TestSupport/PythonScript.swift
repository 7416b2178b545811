import Foundation

/// A helper script of `scripts/` run by the project's Python, for the servers the tests
/// talk to (proxy, provider and SMTP sinks). Each prints one line when it is ready (its
/// port); `start` returns the process and that line. A script ends by itself when the
/// test process does (`scripts/parent_watch.py`).
public enum PythonScript {
    public static func start(_ script: String, _ arguments: [String]) async throws -> (
        process: Process, firstLine: String
    ) {
        try await OffPool.run { try startBlocking(script, arguments) }
    }

    private static func startBlocking(_ script: String, _ arguments: [String]) throws -> (
        process: Process, firstLine: String
    ) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: LocalStack.python)
        process.arguments = [LocalStack.root.appendingPathComponent("scripts/\(script)").path] + arguments
        let output = Pipe()
        process.standardOutput = output
        // Not the test process's own stderr: `swift test` reads that until every holder
        // has closed it, and a script outliving a crashed test process kept the run
        // waiting. What the script writes there is passed on while the test process
        // lives (a traceback says why a server did not start).
        let errors = Pipe()
        process.standardError = errors
        errors.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            if data.isEmpty {
                handle.readabilityHandler = nil
            } else {
                FileHandle.standardError.write(data)
            }
        }
        process.standardInput = FileHandle.nullDevice
        try process.run()
        // Up to the first newline, or end of file when the script failed to start.
        var line = Data()
        while line.count < 200, let byte = try output.fileHandleForReading.read(upToCount: 1), !byte.isEmpty,
            byte != Data("\n".utf8)
        {
            line.append(byte)
        }
        return (process, String(decoding: line, as: UTF8.self))
    }

    /// Runs a script to its end; its exit status and everything it printed.
    public static func run(_ script: String, _ arguments: [String]) async throws -> (status: Int32, output: String) {
        try await CommandRun.run(
            LocalStack.python, [LocalStack.root.appendingPathComponent("scripts/\(script)").path] + arguments)
    }
}
