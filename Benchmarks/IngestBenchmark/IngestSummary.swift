import BenchmarkSupport
import Foundation

extension Measurement {
    /// `afterWindowSeconds` per event, in microseconds.
    func afterWindowMicroseconds(per events: Int) -> Double? {
        afterWindowSeconds.map { $0 * 1_000_000 / Double(max(events, 1)) }
    }

    /// One contender's line of a round.
    func line(_ contender: Contender, events: Int) -> String {
        var text = "  " + contender.rawValue.padding(toLength: 16, withPad: " ", startingAt: 0)
        text += String(format: "%7.0f events/s", rate)
        if let ownRate { text += String(format: " (own clock %.0f)", ownRate) }
        var cpu: [String] = []
        if let own = cost.processMicroseconds(per: events) {
            cpu.append(
                "\(contender == .peer ? "peer" : contender == .pair ? "both services" : "service") \(microseconds(own))"
            )
        }
        cpu.append("PostgreSQL \(microseconds(cost.postgresMicroseconds(per: events)))")
        if let broker = cost.brokerMicroseconds(per: events) { cpu.append("broker \(microseconds(broker))") }
        if let after = afterWindowMicroseconds(per: events) {
            cpu.append("PostgreSQL after (vacuum, checkpoint) \(microseconds(after))")
        }
        text += "   CPU per event: " + cpu.joined(separator: ", ")
        if let walBytes { text += "   WAL per event \(walBytes / Int64(max(events, 1))) bytes" }
        if !peakRSS.isEmpty {
            text +=
                "   peak RSS " + peakRSS.map { String(format: "%.1f", Double($0) / 1024) }.joined(separator: " + ")
                + " MiB (file-backed "
                + fileBackedRSS.map { String(format: "%.1f", Double($0) / 1024) }.joined(separator: " + ") + ")"
        }
        text += "   machine " + cost.idleDescription
        if let unpublishedStatus { text += "   status records unpublished at the end: \(unpublishedStatus)" }
        return text
    }
}

/// The medians over the rounds, and each round's ratios.
struct IngestSummary {
    let rounds: [[Contender: Measurement]]
    let events: Int
    let unique: Int
    let tag: String

    /// The ratios of one round: service / peer, service / raw insert, and the optional ones.
    static func ratios(_ round: [Contender: Measurement]) -> String {
        var parts: [String] = []
        for (name, numerator, denominator) in ratioNames {
            if let value = ratio(round, numerator, denominator) { parts.append(String(format: "\(name) %.2f", value)) }
        }
        return "  ratios: " + parts.joined(separator: ", ")
    }

    static let ratioNames: [(String, Contender, Contender)] = [
        ("service / peer", .service, .peer), ("service / raw insert", .service, .raw),
        ("two instances / one", .pair, .service), ("sealed / plaintext", .sealed, .service),
        ("no status events / with", .withoutStatus, .service),
        ("no status events / raw insert", .withoutStatus, .raw), ("no status events / peer", .withoutStatus, .peer),
        ("service / compared build", .service, .compared),
    ]

    static func ratio(_ round: [Contender: Measurement], _ numerator: Contender, _ denominator: Contender) -> Double? {
        guard let top = round[numerator]?.rate, let bottom = round[denominator]?.rate, bottom > 0 else { return nil }
        return top / bottom
    }

    func print() {
        say("")
        say(
            "medians over \(rounds.count) round\(rounds.count == 1 ? "" : "s") \(tag), \(events) events (\(unique) distinct keys):"
        )
        for contender in Contender.allCases {
            let rates = rounds.compactMap { $0[contender]?.rate }
            guard !rates.isEmpty else { continue }
            let name = (contender.rawValue + " rate:").column(32)
            say(String(format: "  \(name)%.0f events/s \(tag)  (rounds: \(list(rates, "%.0f")))", median(rates)))
        }
        for (name, numerator, denominator) in Self.ratioNames {
            let values = rounds.compactMap { Self.ratio($0, numerator, denominator) }
            guard !values.isEmpty else { continue }
            let label = ("ratio " + name + ":").column(32)
            say(String(format: "  \(label)%.2f \(tag)  (rounds: \(list(values, "%.2f")))", median(values)))
        }
        for contender in Contender.allCases where rounds.contains(where: { $0[contender] != nil }) {
            let own = median(rounds.map { $0[contender]?.cost.processMicroseconds(per: events) })
            let server = median(rounds.map { $0[contender]?.cost.postgresMicroseconds(per: events) })
            let broker = median(rounds.map { $0[contender]?.cost.brokerMicroseconds(per: events) })
            let after = median(rounds.map { $0[contender]?.afterWindowMicroseconds(per: events) })
            let label = ("CPU per event, " + contender.rawValue + ":").column(32)
            let ownText = own.map { "own \(microseconds($0)), " } ?? ""
            let afterText = after.map { ", PostgreSQL after (vacuum, checkpoint) \(microseconds($0))" } ?? ""
            say("  \(label)\(ownText)PostgreSQL \(microseconds(server))\(brokerSuffix(broker))\(afterText)")
        }
        for contender in Contender.allCases {
            let bytes = rounds.compactMap { $0[contender]?.walBytes }.map { Double($0) / Double(max(events, 1)) }
            guard !bytes.isEmpty else { continue }
            let label = ("WAL per event, " + contender.rawValue + ":").column(32)
            say(String(format: "  \(label)%.0f bytes  (rounds: \(list(bytes, "%.0f")))", median(bytes)))
        }
        for contender in [Contender.service, .withoutStatus, .compared] {
            let peaks = rounds.compactMap { $0[contender] }.filter { !$0.peakRSS.isEmpty }
            guard let peak = peaks.max(by: { $0.peakRSS[0] < $1.peakRSS[0] }) else { continue }
            let label = (contender.rawValue + " peak RSS:").column(32)
            say(
                String(
                    format: "  \(label)%.1f MiB at most, file-backed %.1f of it  (issue 19's target: < 100 MiB)",
                    Double(peak.peakRSS[0]) / 1024, Double(peak.fileBackedRSS.first ?? 0) / 1024))
        }
        let idle = rounds.compactMap { $0[.pair]?.cost }
        if !idle.isEmpty {
            say(
                String(
                    format:
                        "  machine while two ran:          idle %.0f%%, iowait %.0f%% (median; one process: idle %.0f%%)",
                    median(idle.map { $0.idleShare * 100 }), median(idle.map { $0.iowaitShare * 100 }),
                    median(rounds.compactMap { $0[.service]?.cost.idleShare }.map { $0 * 100 })))
        }
    }

    private func list(_ values: [Double], _ format: String) -> String {
        values.map { String(format: format, $0) }.joined(separator: ", ")
    }
}

extension String {
    /// The text padded with spaces to `width`, never cut.
    fileprivate func column(_ width: Int) -> String {
        count >= width ? self + " " : self + String(repeating: " ", count: width - count)
    }
}
