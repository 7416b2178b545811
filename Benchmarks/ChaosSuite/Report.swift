import Foundation

/// The suite's closing table.
enum Report {
    static func table(_ outcomes: [Outcome]) -> String {
        let header = [
            "scenario", "published", "stored", "delivered", "dead-lettered", "cancelled", "dup (window)",
            "dup (other)", "lost", "seconds", "result",
        ]
        let rows = outcomes.map { outcome in
            [
                outcome.scenario, String(outcome.published), String(outcome.stored), String(outcome.delivered),
                String(outcome.deadLettered), String(outcome.cancelled), String(outcome.windowDuplicates),
                String(outcome.duplicates), String(outcome.lost), String(Int(outcome.seconds)),
                outcome.passed ? "pass" : "FAIL",
            ]
        }
        let widths = header.indices.map { column in
            ([header] + rows).map { $0[column].count }.max() ?? 0
        }
        func line(_ cells: [String]) -> String {
            "| " + zip(cells, widths).map { $0 + String(repeating: " ", count: $1 - $0.count) }.joined(separator: " | ")
                + " |"
        }
        let rule = "| " + widths.map { String(repeating: "-", count: $0) }.joined(separator: " | ") + " |"
        return ([line(header), rule] + rows.map(line)).joined(separator: "\n")
    }
}
