import Foundation

/// The CPU spent over a measured window by the processes under test, by PostgreSQL, by
/// the broker and by the whole machine: opened at the window's start, closed at its end.
public struct CPUWindow: Sendable {
    public let processes: [Int32]
    public let postmaster: Int32?
    public let broker: Int32?
    private let processSeconds: Double
    private let serverSeconds: Double?
    private let brokerSeconds: Double?
    private let machine: (total: Double, idle: Double, iowait: Double)

    /// Takes the start readings now. `processes` are summed (two instances of the service).
    public init(processes: [Int32], postmaster: Int32?, broker: Int32? = nil) {
        self.processes = processes
        self.postmaster = postmaster
        self.broker = broker
        processSeconds = processes.reduce(0) { $0 + (ProcessCPU.seconds(of: $1) ?? 0) }
        serverSeconds = postmaster.flatMap { ProcessCPU.serverSeconds(postmaster: $0) }
        brokerSeconds = broker.flatMap { ProcessCPU.seconds(of: $0) }
        machine = ProcessCPU.machine()
    }

    /// Takes the end readings now.
    public func close() -> CPUCost {
        let seconds = processes.reduce(0) { $0 + (ProcessCPU.seconds(of: $1) ?? 0) }
        let server = postmaster.flatMap { ProcessCPU.serverSeconds(postmaster: $0) }
        let brokerNow = broker.flatMap { ProcessCPU.seconds(of: $0) }
        let now = ProcessCPU.machine()
        let total = max(now.total - machine.total, 1)
        return CPUCost(
            processSeconds: processes.isEmpty ? nil : seconds - processSeconds,
            postgresSeconds: server.flatMap { end in serverSeconds.map { end - $0 } },
            brokerSeconds: brokerNow.flatMap { end in brokerSeconds.map { end - $0 } },
            idleShare: (now.idle - machine.idle) / total, iowaitShare: (now.iowait - machine.iowait) / total)
    }
}

/// What a `CPUWindow` measured.
public struct CPUCost: Sendable {
    /// User + system seconds of the processes under test; nil when there were none.
    public var processSeconds: Double?
    /// User + system seconds of PostgreSQL; nil without its postmaster's pid.
    public var postgresSeconds: Double?
    /// User + system seconds of the broker; nil without its pid.
    public var brokerSeconds: Double?
    /// The machine's idle share over the window (0…1), and the iowait share beside it.
    public var idleShare: Double
    public var iowaitShare: Double

    public init(
        processSeconds: Double?, postgresSeconds: Double?, brokerSeconds: Double? = nil, idleShare: Double,
        iowaitShare: Double
    ) {
        self.processSeconds = processSeconds
        self.postgresSeconds = postgresSeconds
        self.brokerSeconds = brokerSeconds
        self.idleShare = idleShare
        self.iowaitShare = iowaitShare
    }

    /// Microseconds of the processes per event; nil when not measured.
    public func processMicroseconds(per events: Int) -> Double? {
        processSeconds.map { $0 * 1_000_000 / Double(max(events, 1)) }
    }

    /// Microseconds of PostgreSQL per event; nil when not measured.
    public func postgresMicroseconds(per events: Int) -> Double? {
        postgresSeconds.map { $0 * 1_000_000 / Double(max(events, 1)) }
    }

    /// Microseconds of the broker per event; nil when not measured.
    public func brokerMicroseconds(per events: Int) -> Double? {
        brokerSeconds.map { $0 * 1_000_000 / Double(max(events, 1)) }
    }

    /// "idle 12% (iowait 3%)".
    public var idleDescription: String {
        String(format: "idle %.0f%% (iowait %.0f%%)", idleShare * 100, iowaitShare * 100)
    }
}

/// ", broker 12 µs" for a measured value, else nothing (the broker is measured only in
/// the scripts' own stack).
public func brokerSuffix(_ value: Double?) -> String {
    value.map { ", broker \(microseconds($0))" } ?? ""
}

/// "12.3 µs" or "n/a": a tenth of a microsecond, for changes of about one.
public func microseconds(_ value: Double?) -> String {
    value.map { String(format: "%.1f µs", $0) } ?? "n/a"
}
