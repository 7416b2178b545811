import Foundation
import Logging

/// Prints a line of the benchmark's report on standard output at once (not buffered
/// behind a long run).
public func say(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

/// The peak resident set (VmHWM) of a process, in KiB; 0 when it cannot be read.
public func peakRSSKiB(of pid: Int32) -> Int { statusKiB("VmHWM:", of: pid) }

/// The part of a process's resident set that maps files (RssFile: its code and its
/// libraries', pages the kernel shares between processes and can drop and read again),
/// in KiB now; 0 when it cannot be read. It hardly moves once the process runs, so the
/// peak less this is about the peak of the memory the process allocated.
public func fileBackedRSSKiB(of pid: Int32) -> Int { statusKiB("RssFile:", of: pid) }

private func statusKiB(_ field: String, of pid: Int32) -> Int {
    guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
        let line = status.split(separator: "\n").first(where: { $0.hasPrefix(field) })
    else { return 0 }
    return Int(line.split(separator: " ").dropFirst().first ?? "0") ?? 0
}

/// A logger for a benchmark's own database work, which says only what failed: the report
/// on standard output stays readable (no line per migration applied, no warning that a
/// pool was asked for a connection before it ran).
public func quietLogger(_ label: String) -> Logger {
    var logger = Logger(label: label)
    logger.logLevel = .error
    return logger
}
