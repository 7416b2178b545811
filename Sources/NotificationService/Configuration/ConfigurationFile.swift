import Foundation

/// An optional settings file (`--config FILE` or `NOTIFICATION_CONFIG`): the same names
/// as the environment variables, one `NAME=value` per line, `#` comments, an optional
/// `export ` prefix and quotes around a value. The environment wins over the file, so a
/// deployment can override one setting without editing it.
public enum ConfigurationFile {
    public static func load(_ path: String) throws -> [String: String] {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ServiceSettings.Invalid(
                variable: "--config", message: "cannot read \(path): \(error.localizedDescription)")
        }
        return try parse(text, name: path)
    }

    /// The settings of a file's text; errors name the file and line.
    public static func parse(_ text: String, name: String) throws -> [String: String] {
        var settings: [String: String] = [:]
        for (index, rawLine) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            var line = rawLine.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            if line.hasPrefix("export ") { line = String(line.dropFirst("export ".count)) }
            let place = "\(name):\(index + 1)"
            guard let equals = line.firstIndex(of: "=") else {
                throw ServiceSettings.Invalid(variable: place, message: "expected NAME=value")
            }
            let key = line[..<equals].trimmingCharacters(in: .whitespaces)
            guard let first = key.unicodeScalars.first, ("A"..."Z").contains(first),
                key.unicodeScalars.allSatisfy({ ("A"..."Z").contains($0) || ("0"..."9").contains($0) || $0 == "_" })
            else {
                // The text is not shown: a mangled line may be part of a secret.
                throw ServiceSettings.Invalid(
                    variable: place, message: "the name before = is not a setting name (capitals, digits and _)")
            }
            guard settings[key] == nil else {
                throw ServiceSettings.Invalid(variable: "\(key) (\(place))", message: "is set twice in the file")
            }
            var value = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            if value.count >= 2, let quote = value.first, quote == "\"" || quote == "'", value.last == quote {
                value = String(value.dropFirst().dropLast())
            }
            settings[key] = value
        }
        return settings
    }
}
