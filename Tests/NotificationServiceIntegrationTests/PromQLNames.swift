import Foundation

/// The metric names a PromQL expression selects: what remains once strings, label
/// matchers, ranges, grouping clauses, functions, keywords and numbers are taken out.
enum PromQLNames {
    private static let keywords: Set<String> = [
        "and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring", "group_left", "group_right",
        "inf", "nan", "Inf", "NaN",
    ]

    static func metrics(in expression: String) -> Set<String> {
        var text = expression
        for pattern in [
            #""(?:[^"\\]|\\.)*""#, #"'(?:[^'\\]|\\.)*'"#, #"\{[^}]*\}"#, #"\[[^\]]*\]"#,
            #"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)"#,
        ] {
            text = text.replacing(try! Regex(pattern), with: " ")
        }
        var names: Set<String> = []
        for match in text.matches(of: try! Regex(#"[A-Za-z_:][A-Za-z0-9_:]*"#)) {
            let name = String(text[match.range])
            let before =
                match.range.lowerBound == text.startIndex ? nil : text[text.index(before: match.range.lowerBound)]
            if let before, before.isNumber || before == "." || before == "$" { continue }
            let next = text[match.range.upperBound...].first { !$0.isWhitespace }
            if next == "(" || keywords.contains(name) { continue }
            names.insert(name)
        }
        return names
    }
}
