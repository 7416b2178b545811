import Foundation

/// The parts of a Prometheus rule file or rule test file the name check reads, taken
/// line by line (the files are the project's own, written in one plain style).
enum RuleFile {
    /// Each `expr:`, single-line or a `|` block.
    static func expressions(_ text: String) -> [String] {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var found: [String] = []
        var index = 0
        while index < lines.count {
            let line = lines[index]
            let trimmed = line.drop { $0 == " " || $0 == "-" }
            index += 1
            guard trimmed.hasPrefix("expr:") else { continue }
            let rest = trimmed.dropFirst("expr:".count).trimmingCharacters(in: .whitespaces)
            guard rest == "|" || rest == ">" else {
                found.append(rest)
                continue
            }
            let indentation = line.prefix { $0 == " " }.count
            var block: [String] = []
            while index < lines.count,
                lines[index].trimmingCharacters(in: .whitespaces).isEmpty
                    || lines[index].prefix { $0 == " " }.count > indentation
            {
                block.append(lines[index])
                index += 1
            }
            found.append(block.joined(separator: "\n"))
        }
        return found
    }

    /// The names the rules record (`- record: name`).
    static func recordedNames(_ text: String) -> Set<String> {
        Set(
            text.split(separator: "\n").compactMap { line in
                let trimmed = line.drop { $0 == " " || $0 == "-" }
                guard trimmed.hasPrefix("record:") else { return nil }
                return trimmed.dropFirst("record:".count).trimmingCharacters(in: .whitespaces)
            })
    }

    /// The metric names of a test file's `series: 'name{labels}'`.
    static func seriesNames(_ text: String) -> Set<String> {
        Set(
            text.split(separator: "\n").compactMap { line in
                let trimmed = line.drop { $0 == " " || $0 == "-" }
                guard trimmed.hasPrefix("series:") else { return nil }
                let value = trimmed.dropFirst("series:".count).drop { $0 == " " || $0 == "'" || $0 == "\"" }
                return String(value.prefix { $0 != "{" && $0 != "'" && $0 != "\"" })
            })
    }
}
