import Foundation

/// Typed reads of settings from environment variables; every error names the variable.
struct EnvironmentReader {
    let environment: [String: String]

    /// The variable's value; nil when unset or empty.
    func optional(_ name: String) -> String? {
        guard let text = environment[name], !text.isEmpty else { return nil }
        return text
    }

    func value(_ name: String, _ fallback: String) -> String {
        optional(name) ?? fallback
    }

    func milliseconds(_ name: String, _ fallback: Int, _ range: ClosedRange<Int>) throws -> Duration {
        let text = value(name, String(fallback))
        guard let number = Int(text), range.contains(number) else {
            throw ServiceSettings.Invalid(
                variable: name, message: "must be a whole number of milliseconds in \(range), not \"\(text)\"")
        }
        return .milliseconds(number)
    }

    func count(_ name: String, _ fallback: Int, _ range: ClosedRange<Int>) throws -> Int {
        let text = value(name, String(fallback))
        guard let number = Int(text), range.contains(number) else {
            throw ServiceSettings.Invalid(
                variable: name, message: "must be a whole number in \(range), not \"\(text)\"")
        }
        return number
    }

    /// `text` as an http or https URL with a host; nil when it is not one. Callers word
    /// the error: some may show the value, some (a URL that may carry a key) may not.
    static func httpURL(_ text: String) -> URL? {
        guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), ["http", "https"].contains(scheme),
            url.host?.isEmpty == false
        else { return nil }
        return url
    }

    func number(_ name: String, _ fallback: Double, _ range: ClosedRange<Double>) throws -> Double {
        let text = value(name, String(fallback))
        guard let number = Double(text), number.isFinite, range.contains(number) else {
            throw ServiceSettings.Invalid(variable: name, message: "must be a number in \(range), not \"\(text)\"")
        }
        return number
    }

    func flag(_ name: String, _ fallback: Bool) throws -> Bool {
        switch value(name, fallback ? "true" : "false").lowercased() {
        case "1", "true", "yes", "on": return true
        case "0", "false", "no", "off": return false
        case let text: throw ServiceSettings.Invalid(variable: name, message: "must be true or false, not \"\(text)\"")
        }
    }

    /// A value that must be set when `group` is used: the error names both.
    func required(_ name: String, for group: String) throws -> String {
        guard let text = optional(name) else {
            throw ServiceSettings.Invalid(variable: name, message: "must be set when \(group) is set")
        }
        return text
    }
}
