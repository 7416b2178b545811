import BenchmarkSupport
import Foundation

/// The loads of a run, for the report's headings.
struct Loads {
    let herd: Int
    let concurrency: Int
    let steadyRate: Int
    let steadySeconds: Int
}

/// What one run of the service measured.
struct Outcome {
    var herdRate: Double
    var herd: Report
    /// CPU from the herd's due time to its last delivery.
    var herdCost: CPUCost
    /// Peak RSS (KiB) of each process after the herd.
    var herdPeaks: [Int]
    /// The steady stream; empty when not run.
    var steady = Report([])
    /// CPU from the stream's start to its last delivery; nil when not run.
    var steadyCost: CPUCost?
    var steadyCount = 0
    /// Peak RSS (KiB) of each process at the end.
    var peaks: [Int] = []

    func print(_ loads: Loads, baseline: Double, tag: String) {
        say(
            "09:00 herd (\(loads.herd) reminders due at one instant, webhook over HTTPS, \(loads.concurrency) in flight):"
        )
        say(String(format: "  deliveries:        %.0f /s from the due time to the last delivery \(tag)", herdRate))
        say(String(format: "  baseline:          %.0f /s raw POSTs to the same receiver", baseline))
        say(String(format: "  ratio:             %.2f \(tag)", herdRate / baseline))
        say("  lateness:          \(herd)")
        say("  duplicates:        \(herd.duplicates)")
        say("  CPU per delivery:  \(Self.cpu(herdCost, herd.count, processes: herdPeaks.count))")
        say("  peak RSS:          \(Self.mebibytes(herdPeaks))")
        guard let steadyCost else { return }
        say(
            "steady stream (\(loads.steadyRate)/s for \(loads.steadySeconds) s, each due 1 s after publishing, through Kafka and ingest):"
        )
        say("  lateness:          \(steady)  (issue 19's target: p99 < 100 ms) \(tag)")
        say("  duplicates:        \(steady.duplicates)")
        say(
            "  CPU per delivery:  \(Self.cpu(steadyCost, steady.count, processes: peaks.count, note: " (ingest included)"))"
        )
        say("service peak RSS:    \(Self.mebibytes(peaks))")
    }

    static func cpu(_ cost: CPUCost, _ deliveries: Int, processes: Int, note: String = "") -> String {
        let own = microseconds(cost.processMicroseconds(per: deliveries))
        return "\(processes > 1 ? "both services" : "service") \(own), "
            + "PostgreSQL \(microseconds(cost.postgresMicroseconds(per: deliveries)))"
            + "\(brokerSuffix(cost.brokerMicroseconds(per: deliveries)))\(note)   "
            + "machine \(cost.idleDescription)"
    }

    static func mebibytes(_ peaks: [Int]) -> String {
        peaks.map { String(format: "%.1f", Double($0) / 1024) }.joined(separator: " + ") + " MiB"
    }
}

/// Lateness percentiles of a set of arrivals.
struct Report: CustomStringConvertible {
    let p50: Double
    let p99: Double
    let max: Double
    let count: Int
    let duplicates: Int

    init(_ arrivals: [WebhookSink.Arrival]) {
        let lateness = arrivals.map { ($0.arrivedAt - $0.dueAt) * 1_000 }.sorted()
        func percentile(_ p: Double) -> Double {
            lateness.isEmpty ? 0 : lateness[min(lateness.count - 1, Int(Double(lateness.count) * p))]
        }
        p50 = percentile(0.5)
        p99 = percentile(0.99)
        max = lateness.last ?? 0
        count = arrivals.count
        duplicates = arrivals.count - Set(arrivals.map(\.reminderID)).count
    }

    var description: String { String(format: "p50 %.0f ms, p99 %.0f ms, max %.0f ms", p50, p99, max) }
}

/// One round: the baseline and the service's runs.
struct RoundResult {
    let baseline: Double
    var plain: Outcome?
    var pair: Outcome?
    var sealed: Outcome?
}

/// The medians over the rounds.
struct DispatchSummary {
    let rounds: [RoundResult]
    let loads: Loads
    let tag: String

    func print() {
        let plain = rounds.compactMap(\.plain)
        guard !plain.isEmpty else { return }
        let list = { (values: [Double], format: String) in
            values.map { String(format: format, $0) }.joined(separator: ", ")
        }
        func line(_ label: String, _ values: [Double], _ format: String, _ unit: String = "", tagged: Bool = true) {
            let padded = (label + ":").padding(toLength: 30, withPad: " ", startingAt: 0)
            let tag = tagged ? " \(tag)" : ""
            say("  \(padded)\(String(format: format, median(values)))\(unit)\(tag)  (rounds: \(list(values, format)))")
        }
        say("")
        say("medians over \(rounds.count) round\(rounds.count == 1 ? "" : "s") \(tag):")
        line("herd deliveries", plain.map(\.herdRate), "%.0f", " /s")
        line("raw POSTs (baseline)", rounds.map(\.baseline), "%.0f", " /s", tagged: false)
        line(
            "ratio herd / raw POST", rounds.compactMap { round in round.plain.map { $0.herdRate / round.baseline } },
            "%.2f")
        line("herd lateness p50", plain.map(\.herd.p50), "%.0f", " ms")
        line("herd lateness p99", plain.map(\.herd.p99), "%.0f", " ms")
        line("herd lateness max", plain.map(\.herd.max), "%.0f", " ms")
        line("steady lateness p50", plain.map(\.steady.p50), "%.0f", " ms")
        line("steady lateness p99", plain.map(\.steady.p99), "%.0f", " ms")
        line("steady lateness max", plain.map(\.steady.max), "%.0f", " ms")
        say(
            "  CPU per herd delivery:        service \(microseconds(median(plain.map { $0.herdCost.processMicroseconds(per: $0.herd.count) }))), "
                + "PostgreSQL \(microseconds(median(plain.map { $0.herdCost.postgresMicroseconds(per: $0.herd.count) })))"
                + brokerSuffix(median(plain.map { $0.herdCost.brokerMicroseconds(per: $0.herd.count) }))
        )
        say(
            "  CPU per steady delivery:      service \(microseconds(median(plain.map { $0.steadyCost?.processMicroseconds(per: $0.steady.count) }))), "
                + "PostgreSQL \(microseconds(median(plain.map { $0.steadyCost?.postgresMicroseconds(per: $0.steady.count) })))"
                + brokerSuffix(median(plain.map { $0.steadyCost?.brokerMicroseconds(per: $0.steady.count) }))
                + " (ingest included)"
        )
        say(
            String(
                format: "  service peak RSS:             %.1f MiB at most",
                Double(plain.flatMap(\.peaks).max() ?? 0) / 1024))
        say("  duplicates:                   \(plain.reduce(0) { $0 + $1.herd.duplicates + $1.steady.duplicates })")
        let pairs = rounds.compactMap { round in round.pair.flatMap { pair in round.plain.map { (pair, $0) } } }
        if !pairs.isEmpty {
            line("herd, two instances / one", pairs.map { $0.0.herdRate / $0.1.herdRate }, "%.2f")
            say(
                "  CPU per herd delivery, two:   both services \(microseconds(median(pairs.map { $0.0.herdCost.processMicroseconds(per: $0.0.herd.count) }))), "
                    + "PostgreSQL \(microseconds(median(pairs.map { $0.0.herdCost.postgresMicroseconds(per: $0.0.herd.count) })))"
                    + brokerSuffix(median(pairs.map { $0.0.herdCost.brokerMicroseconds(per: $0.0.herd.count) }))
            )
            say(
                String(
                    format: "  machine idle in the herd:     two %.0f%% (iowait %.0f%%), one %.0f%% (median)",
                    median(pairs.map { $0.0.herdCost.idleShare * 100 }),
                    median(pairs.map { $0.0.herdCost.iowaitShare * 100 }),
                    median(pairs.map { $0.1.herdCost.idleShare * 100 })))
        }
        let sealed = rounds.compactMap { round in round.sealed.flatMap { sealed in round.plain.map { (sealed, $0) } } }
        if !sealed.isEmpty {
            line("herd, sealed / plaintext", sealed.map { $0.0.herdRate / $0.1.herdRate }, "%.2f")
            line(
                "steady p99, sealed / plaintext", sealed.map { $0.0.steady.p99 / Swift.max($0.1.steady.p99, 0.001) },
                "%.2f")
        }
    }
}
