import Foundation

/// CPU time read from /proc, for the benchmarks' cost per event: a process's (all its
/// threads), PostgreSQL's (the postmaster and every backend), and the machine's idle share.
public enum ProcessCPU {
    /// Clock ticks per second, the unit of /proc's times.
    static let ticksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))

    /// The fields of /proc/`pid`/stat after the command name, which may hold spaces and
    /// parentheses: index 0 is field 3 (state), so field n is at n - 3.
    private static func statFields(of pid: Int32) -> [Substring]? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = text.lastIndex(of: ")")
        else { return nil }
        return text[text.index(after: close)...].split(separator: " ")
    }

    private static func ticks(_ fields: [Substring], _ numbers: Int...) -> Double {
        numbers.reduce(0) { $0 + (Double(fields[$1 - 3]) ?? 0) }
    }

    /// User + system seconds of process `pid`, all its threads; nil when it is gone.
    public static func seconds(of pid: Int32) -> Double? {
        guard let fields = statFields(of: pid), fields.count > 14 else { return nil }
        return ticks(fields, 14, 15) / ticksPerSecond
    }

    /// User + system seconds of a PostgreSQL server: its postmaster and every live child
    /// (backends, checkpointer, WAL writer, autovacuum), plus the postmaster's count of
    /// children that exited and were reaped (cutime + cstime), so that a delta over a
    /// window counts a backend that ended within it.
    ///
    /// A backend reaped while the children are read would be in neither count (read
    /// before it ended, its time is counted live; reaped after the postmaster's line was
    /// read, its time is not in that cutime): a contender's backend ending with the
    /// window lost its seconds and the window came out negative. So the postmaster's
    /// reaped time is read before and after the children, and the reading is taken
    /// again until nothing was reaped in between.
    public static func serverSeconds(postmaster: Int32) -> Double? {
        for _ in 0..<20 {
            guard let before = statFields(of: postmaster), before.count > 14 else { return nil }
            var children = 0.0
            let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
            for entry in entries {
                guard let pid = Int32(entry), pid != postmaster, let fields = statFields(of: pid), fields.count > 14,
                    Int32(fields[1]) == postmaster
                else { continue }
                children += ticks(fields, 14, 15)
            }
            guard let after = statFields(of: postmaster), after.count > 14 else { return nil }
            if ticks(before, 16, 17) == ticks(after, 16, 17) {
                return (ticks(after, 14, 15, 16, 17) + children) / ticksPerSecond
            }
        }
        return nil
    }

    /// The machine's CPU time so far from the first line of /proc/stat, in ticks: all of
    /// it, and the idle and iowait parts.
    public static func machine() -> (total: Double, idle: Double, iowait: Double) {
        guard let text = try? String(contentsOfFile: "/proc/stat", encoding: .utf8),
            let line = text.split(separator: "\n").first(where: { $0.hasPrefix("cpu ") })
        else { return (0, 0, 0) }
        // user nice system idle iowait irq softirq steal (guest time is inside user).
        let values = line.split(separator: " ").dropFirst().prefix(8).map { Double($0) ?? 0 }
        guard values.count == 8 else { return (0, 0, 0) }
        return (values.reduce(0, +), values[3], values[4])
    }
}
