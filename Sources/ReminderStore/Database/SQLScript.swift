/// Splits a migration file into statements, because PostgreSQL's extended protocol
/// takes one statement at a time. Semicolons inside quotes, dollar-quoted bodies and
/// comments do not split.
enum SQLScript {
    static func statements(_ script: String) -> [String] {
        let scalars = Array(script.unicodeScalars)
        var statements: [String] = []
        var current = String.UnicodeScalarView()
        var index = 0
        func peek(_ offset: Int) -> Unicode.Scalar? {
            index + offset < scalars.count ? scalars[index + offset] : nil
        }
        func finish() {
            let text = String(current).trimmingWhitespace()
            if !text.isEmpty { statements.append(text) }
            current = String.UnicodeScalarView()
        }
        while index < scalars.count {
            let scalar = scalars[index]
            switch scalar {
            case "-" where peek(1) == "-":
                while index < scalars.count, scalars[index] != "\n" { index += 1 }
                continue
            case "/" where peek(1) == "*":
                index += 2
                while index < scalars.count, !(scalars[index] == "*" && peek(1) == "/") { index += 1 }
                index += 2
                continue
            case "'", "\"":
                current.append(scalar)
                index += 1
                while index < scalars.count {
                    current.append(scalars[index])
                    if scalars[index] == scalar {
                        // A doubled quote is an escaped one.
                        if peek(1) == scalar {
                            current.append(scalar)
                            index += 2
                            continue
                        }
                        break
                    }
                    index += 1
                }
                index += 1
                continue
            case "$":
                // A dollar quote: $tag$ ... $tag$ (the tag may be empty).
                var end = index + 1
                while end < scalars.count,
                    scalars[end] == "_" || scalars[end].properties.isAlphabetic
                        || ("0"..."9").contains(scalars[end])
                {
                    end += 1
                }
                if end < scalars.count, scalars[end] == "$" {
                    let tag = Array(scalars[index...end])
                    current.append(contentsOf: tag)
                    index = end + 1
                    while index < scalars.count {
                        if scalars[index] == "$", index + tag.count <= scalars.count,
                            Array(scalars[index..<(index + tag.count)]) == tag
                        {
                            current.append(contentsOf: tag)
                            index += tag.count
                            break
                        }
                        current.append(scalars[index])
                        index += 1
                    }
                    continue
                }
                current.append(scalar)
            case ";":
                finish()
            default:
                current.append(scalar)
            }
            index += 1
        }
        finish()
        return statements
    }
}

extension String {
    func trimmingWhitespace() -> String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
            let last = scalars.lastIndex(where: { !$0.properties.isWhitespace })
        else { return "" }
        return String(scalars[first...last])
    }
}
