/// A parsed JSON value. Objects keep their members in document order; the parser has
/// already refused duplicate keys, so a member's name identifies it.
public enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    /// The number's text as written (so integers are exact and nothing is rounded).
    case number(String)
    case string(String)
    case array([JSONValue])
    case object([(key: String, value: JSONValue)])

    public static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): true
        case (.bool(let a), .bool(let b)): a == b
        case (.number(let a), .number(let b)): a == b
        case (.string(let a), .string(let b)): a == b
        case (.array(let a), .array(let b)): a == b
        case (.object(let a), .object(let b)):
            a.count == b.count && zip(a, b).allSatisfy { $0.key == $1.key && $0.value == $1.value }
        default: false
        }
    }

    /// The member named `key` of an object; nil when absent or when this is no object.
    public subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members.first { $0.key == key }?.value
    }

    /// What a validation message calls this kind of value (`JSONDocument.Kind.name`).
    public var kindName: String {
        switch self {
        case .null: JSONDocument.Kind.null.name
        case .bool: JSONDocument.Kind.bool.name
        case .number: JSONDocument.Kind.number.name
        case .string: JSONDocument.Kind.string.name
        case .array: JSONDocument.Kind.array.name
        case .object: JSONDocument.Kind.object.name
        }
    }

    /// Compact JSON text of the value (used to size and to store `content.data`).
    public var serialized: String {
        var output = ""
        output.reserveCapacity(128)
        write(to: &output)
        return output
    }

    /// Appends `text` as a JSON string (quoted, escaped) to `output`: for writers that build
    /// their JSON text directly rather than through a `JSONValue` tree.
    public static func append(string text: String, to output: inout String) {
        writeString(text, to: &output)
    }

    /// Appends `text` as a JSON string (quoted, escaped as `append(string:to:)` escapes it)
    /// to UTF-8 bytes: for writers whose output goes out as bytes, without a `String` grown
    /// and copied once more. UTF-8 encodes every scalar above U+007F in bytes of 0x80 and
    /// up, so escaping byte by byte is escaping scalar by scalar.
    public static func append(string text: String, to output: inout [UInt8]) {
        output.append(UInt8(ascii: "\""))
        var text = text
        text.withUTF8 { bytes in
            var plainFrom = 0
            for index in bytes.indices {
                let byte = bytes[index]
                guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else { continue }
                output.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[plainFrom..<index]))
                plainFrom = index + 1
                output.append(UInt8(ascii: "\\"))
                switch byte {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"): output.append(byte)
                case UInt8(ascii: "\n"): output.append(UInt8(ascii: "n"))
                case UInt8(ascii: "\r"): output.append(UInt8(ascii: "r"))
                case UInt8(ascii: "\t"): output.append(UInt8(ascii: "t"))
                default:
                    output += Array("u00".utf8)
                    output.append(HexEncoding.digits[Int(byte >> 4)])
                    output.append(HexEncoding.digits[Int(byte & 0x0F)])
                }
            }
            output.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[plainFrom...]))
        }
        output.append(UInt8(ascii: "\""))
    }

    /// Appends `literal`'s UTF-8 bytes as they are (punctuation, a name that needs no
    /// escape), for writers that build their JSON as bytes.
    public static func append(literal: StaticString, to output: inout [UInt8]) {
        output.append(contentsOf: UnsafeBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount))
    }

    /// Appends `,"key":`, a member after its object's first, for a name that needs no
    /// escape; the member's value follows.
    public static func append(nextMember key: StaticString, to output: inout [UInt8]) {
        append(literal: #",""#, to: &output)
        append(literal: key, to: &output)
        append(literal: #"":"#, to: &output)
    }

    /// Appends `,"key":` and `text` as a JSON string: a string member after its object's
    /// first.
    public static func append(nextMember key: StaticString, string text: String, to output: inout [UInt8]) {
        append(nextMember: key, to: &output)
        append(string: text, to: &output)
    }

    /// Appends a member's name (quoted, escaped) and its colon to an object being written
    /// as UTF-8 bytes: `{` before it when `output` is empty (the object's first member), a
    /// comma otherwise. The member's value follows, then the writer closes the object.
    public static func append(member key: String, to output: inout [UInt8]) {
        output.append(output.isEmpty ? UInt8(ascii: "{") : UInt8(ascii: ","))
        append(string: key, to: &output)
        output.append(UInt8(ascii: ":"))
    }

    private func write(to output: inout String) {
        switch self {
        case .null: output += "null"
        case .bool(let value): output += value ? "true" : "false"
        case .number(let text): output += text
        case .string(let text): Self.writeString(text, to: &output)
        case .array(let items):
            output += "["
            for (index, item) in items.enumerated() {
                if index > 0 { output += "," }
                item.write(to: &output)
            }
            output += "]"
        case .object(let members):
            output += "{"
            for (index, member) in members.enumerated() {
                if index > 0 { output += "," }
                Self.writeString(member.key, to: &output)
                output += ":"
                member.value.write(to: &output)
            }
            output += "}"
        }
    }

    static func writeString(_ text: String, to output: inout String) {
        output += "\""
        // Most strings need no escape: append them whole.
        if !text.utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) {
            output += text
            output += "\""
            return
        }
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": output += "\\\""
            case "\\": output += "\\\\"
            case "\n": output += "\\n"
            case "\r": output += "\\r"
            case "\t": output += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                output += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: output.unicodeScalars.append(scalar)
            }
        }
        output += "\""
    }
}
