/// A strict JSON parser (RFC 8259) for untrusted input: it refuses invalid UTF-8,
/// duplicate object keys, nesting deeper than `maximumDepth`, lone surrogates and
/// anything after the value, which a lenient parser would silently accept.
public struct JSONParser {
    public struct Failure: Error, Equatable, CustomStringConvertible {
        public let message: String
        /// The byte offset in the input where the problem was found.
        public let offset: Int
        /// The JSON path of the object or array being read, e.g. `$.content.data`.
        public let path: String

        public var description: String { "\(message) at byte \(offset) (\(path))" }
    }

    public static let defaultMaximumDepth = 32

    private let bytes: UnsafeBufferPointer<UInt8>
    private var position = 0
    private let maximumDepth: Int
    private var path: [PathComponent] = []
    /// The document's values as they are read (`JSONDocument`).
    private var entries: [JSONDocument.Entry] = []
    /// Its strings that are not their bytes as they stand (`JSONDocument.decoded`).
    private var decoded: [String] = []

    private enum PathComponent {
        /// The member whose name is the entry at this index.
        case key(Int)
        case index(Int)
    }

    /// Parses one JSON document into a `JSONValue` tree.
    public static func parse(_ input: [UInt8], maximumDepth: Int = defaultMaximumDepth) throws(Failure) -> JSONValue {
        try document(input, maximumDepth: maximumDepth).root.value
    }

    /// Parses one JSON document, checked as `parse` checks it, into a flat `JSONDocument`.
    public static func document(_ input: [UInt8], maximumDepth: Int = defaultMaximumDepth) throws(Failure)
        -> JSONDocument
    {
        // The document's entries hold offsets as 32-bit numbers.
        guard input.count <= Int(Int32.max) else {
            throw Failure(message: "the document is larger than 2 GiB", offset: 0, path: "$")
        }
        let result: Result<JSONDocument, Failure> = input.withUnsafeBufferPointer { buffer in
            var parser = JSONParser(bytes: buffer, maximumDepth: maximumDepth)
            do throws(Failure) {
                try parser.parseDocument()
                return .success(JSONDocument(bytes: input, entries: parser.entries, decoded: parser.decoded))
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    private init(bytes: UnsafeBufferPointer<UInt8>, maximumDepth: Int) {
        self.bytes = bytes
        self.maximumDepth = maximumDepth
        // An event has about one value or member name for every 8 to 10 bytes: one
        // allocation for most documents.
        entries.reserveCapacity(min(max(16, bytes.count / 8), 4096))
    }

    private mutating func parseDocument() throws(Failure) {
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { throw fail("a byte order mark is not allowed") }
        skipWhitespace()
        try parseValue(depth: 0)
        skipWhitespace()
        if position != bytes.count { throw fail("unexpected content after the JSON value") }
    }

    private func fail(_ message: String) -> Failure {
        var text = "$"
        for component in path {
            switch component {
            case .key(let entry):
                let key = self.text(of: entry)
                text += key.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) ? ".\(key)" : "[\"\(key)\"]"
            case .index(let index): text += "[\(index)]"
            }
        }
        return Failure(message: message, offset: position, path: text)
    }

    private var current: UInt8? { position < bytes.count ? bytes[position] : nil }

    private mutating func skipWhitespace() {
        while let byte = current, byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 {
            position += 1
        }
    }

    /// Reads one value and appends it (and what it holds) to `entries`.
    private mutating func parseValue(depth: Int) throws(Failure) {
        guard let byte = current else { throw fail("unexpected end of input") }
        switch byte {
        case UInt8(ascii: "{"): try parseObject(depth: depth + 1)
        case UInt8(ascii: "["): try parseArray(depth: depth + 1)
        case UInt8(ascii: "\""): entries.append(try parseString())
        case UInt8(ascii: "t"):
            try expectLiteral("true")
            entries.append(JSONDocument.Entry(.bool, next: entries.count + 1, flag: true))
        case UInt8(ascii: "f"):
            try expectLiteral("false")
            entries.append(JSONDocument.Entry(.bool, next: entries.count + 1, flag: false))
        case UInt8(ascii: "n"):
            try expectLiteral("null")
            entries.append(JSONDocument.Entry(.null, next: entries.count + 1))
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            let start = position
            try parseNumber()
            entries.append(JSONDocument.Entry(.number, start: start, end: position, next: entries.count + 1))
        default: throw fail("unexpected character '\(Self.printable(byte))'")
        }
    }

    private mutating func expectLiteral(_ literal: StaticString) throws(Failure) {
        let count = literal.utf8CodeUnitCount
        guard position + count <= bytes.count,
            (0..<count).allSatisfy({ bytes[position + $0] == literal.utf8Start[$0] })
        else { throw fail("invalid literal, expected \(literal)") }
        position += count
    }

    private mutating func parseObject(depth: Int) throws(Failure) {
        if depth > maximumDepth { throw fail("nesting deeper than \(maximumDepth) levels") }
        let object = entries.count
        entries.append(JSONDocument.Entry(.object, start: position, next: object + 1))
        position += 1
        var count = 0
        var index: Set<[UInt8]>?
        skipWhitespace()
        if current == UInt8(ascii: "}") {
            position += 1
            close(object, count: 0)
            return
        }
        while true {
            skipWhitespace()
            guard current == UInt8(ascii: "\"") else { throw fail("expected a member name in quotes") }
            let key = entries.count
            entries.append(try parseString())
            guard isNew(key, amongMembersOf: object, count: count, index: &index) else {
                throw fail("duplicate key \"\(text(of: key))\"")
            }
            skipWhitespace()
            guard current == UInt8(ascii: ":") else { throw fail("expected ':' after member name") }
            position += 1
            skipWhitespace()
            path.append(.key(key))
            try parseValue(depth: depth)
            path.removeLast()
            count += 1
            skipWhitespace()
            switch current {
            case UInt8(ascii: ","): position += 1
            case UInt8(ascii: "}"):
                position += 1
                close(object, count: count)
                return
            default: throw fail("expected ',' or '}' in object")
            }
        }
    }

    /// Records a container's size and where it ends, once everything in it is read (its
    /// closing bracket included).
    private mutating func close(_ container: Int, count: Int) {
        entries[container].count = Int32(count)
        entries[container].next = Int32(entries.count)
        entries[container].end = Int32(position)
    }

    /// Objects up to this many members find a duplicate key by comparing the new key with
    /// each earlier one; a larger object puts its keys in a set. An event's objects have a
    /// dozen members at most, and a set for each (its allocation and a hash per key) was a
    /// twentieth of the service's ingest CPU.
    public static let membersComparedOneByOne = 16

    /// Whether the name at entry `key` is not among the names of the first `count` members
    /// of the object at `object`, compared by code points; `index` is their set once there
    /// are `membersComparedOneByOne` of them, and gets the new name.
    private func isNew(_ key: Int, amongMembersOf object: Int, count: Int, index: inout Set<[UInt8]>?) -> Bool {
        if index == nil {
            var names: [[UInt8]] = []
            var member = object + 1
            for _ in 0..<count {
                if count < Self.membersComparedOneByOne {
                    if withUTF8(of: key, { name in withUTF8(of: member) { JSONDocument.same($0, name) } }) {
                        return false
                    }
                } else {
                    names.append(withUTF8(of: member) { Array($0) })
                }
                member = Int(entries[member + 1].next)
            }
            guard count >= Self.membersComparedOneByOne else { return true }
            index = Set(names)
        }
        return index!.insert(withUTF8(of: key) { Array($0) }).inserted
    }

    /// The text of the entry at `index`.
    private func text(of index: Int) -> String { entries[index].text(in: bytes, decoded: decoded) }

    /// Calls `body` with the UTF-8 bytes of the string at `index`.
    private func withUTF8<Result>(of index: Int, _ body: (UnsafeBufferPointer<UInt8>) -> Result) -> Result {
        entries[index].withUTF8(in: bytes, decoded: decoded, body)
    }

    private mutating func parseArray(depth: Int) throws(Failure) {
        if depth > maximumDepth { throw fail("nesting deeper than \(maximumDepth) levels") }
        let array = entries.count
        entries.append(JSONDocument.Entry(.array, start: position, next: array + 1))
        position += 1
        var count = 0
        skipWhitespace()
        if current == UInt8(ascii: "]") {
            position += 1
            close(array, count: 0)
            return
        }
        while true {
            skipWhitespace()
            path.append(.index(count))
            try parseValue(depth: depth)
            path.removeLast()
            count += 1
            skipWhitespace()
            switch current {
            case UInt8(ascii: ","): position += 1
            case UInt8(ascii: "]"):
                position += 1
                close(array, count: count)
                return
            default: throw fail("expected ',' or ']' in array")
            }
        }
    }

    /// Steps over a number, checking its form; its text is the bytes passed.
    private mutating func parseNumber() throws(Failure) {
        if current == UInt8(ascii: "-") { position += 1 }
        guard let first = current, Self.isDigit(first) else { throw fail("invalid number") }
        position += 1
        if first != UInt8(ascii: "0") {
            while let byte = current, Self.isDigit(byte) { position += 1 }
        }
        if current == UInt8(ascii: ".") {
            position += 1
            guard let byte = current, Self.isDigit(byte) else { throw fail("invalid number: digits must follow '.'") }
            while let byte = current, Self.isDigit(byte) { position += 1 }
        }
        if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
            position += 1
            if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { position += 1 }
            guard let byte = current, Self.isDigit(byte) else {
                throw fail("invalid number: digits must follow the exponent")
            }
            while let byte = current, Self.isDigit(byte) { position += 1 }
        }
    }

    /// Reads a string: its entry, to be appended at the end of `entries`.
    private mutating func parseString() throws(Failure) -> JSONDocument.Entry {
        let next = entries.count + 1
        position += 1
        let start = position
        // Fast path: no escapes, plain UTF-8 up to the closing quote.
        var ascii = true
        while let byte = current, byte != UInt8(ascii: "\""), byte != UInt8(ascii: "\\"), byte >= 0x20 {
            ascii = ascii && byte < 0x80
            position += 1
        }
        if current == UInt8(ascii: "\"") {
            // ASCII is valid UTF-8 as it stands: its bytes are its text. Anything else is
            // validated here once, and kept as validated.
            var index = -1
            if !ascii {
                guard
                    let text = String(validating: UnsafeBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
                else {
                    position = start
                    throw fail("invalid UTF-8 in string")
                }
                index = decoded.count
                decoded.append(text)
            }
            position += 1
            return JSONDocument.Entry(.string, start: start, end: position - 1, next: next, count: index)
        }
        var scalars = String.UnicodeScalarView()
        position = start
        var pendingStart = start
        func flush(_ end: Int) throws(Failure) {
            guard end > pendingStart else { return }
            guard let text = String(validating: UnsafeBufferPointer(rebasing: bytes[pendingStart..<end]), as: UTF8.self)
            else { throw fail("invalid UTF-8 in string") }
            scalars.append(contentsOf: text.unicodeScalars)
        }
        while true {
            guard let byte = current else { throw fail("unterminated string") }
            switch byte {
            case UInt8(ascii: "\""):
                try flush(position)
                position += 1
                decoded.append(String(scalars))
                return JSONDocument.Entry(
                    .string, start: start, end: position - 1, next: next, count: decoded.count - 1)
            case UInt8(ascii: "\\"):
                try flush(position)
                position += 1
                scalars.append(try parseEscape())
                pendingStart = position
            case 0..<0x20:
                throw fail("control character in string")
            default:
                position += 1
            }
        }
    }

    private mutating func parseEscape() throws(Failure) -> Unicode.Scalar {
        guard let byte = current else { throw fail("unterminated escape") }
        position += 1
        switch byte {
        case UInt8(ascii: "\""): return "\""
        case UInt8(ascii: "\\"): return "\\"
        case UInt8(ascii: "/"): return "/"
        case UInt8(ascii: "b"): return "\u{08}"
        case UInt8(ascii: "f"): return "\u{0C}"
        case UInt8(ascii: "n"): return "\n"
        case UInt8(ascii: "r"): return "\r"
        case UInt8(ascii: "t"): return "\t"
        case UInt8(ascii: "u"):
            let first = try parseHex4()
            // Valid JSON, but PostgreSQL can store U+0000 neither in text nor in jsonb:
            // accepted, it would fail its whole batch's transaction again and again.
            guard first != 0 else { throw fail("\\u0000 is not allowed (it cannot be stored)") }
            if (0xD800..<0xDC00).contains(first) {
                guard current == UInt8(ascii: "\\"), position + 1 < bytes.count,
                    bytes[position + 1] == UInt8(ascii: "u")
                else { throw fail("unpaired surrogate in \\u escape") }
                position += 2
                let second = try parseHex4()
                guard (0xDC00..<0xE000).contains(second) else { throw fail("unpaired surrogate in \\u escape") }
                return Unicode.Scalar(0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00))!
            }
            guard let scalar = Unicode.Scalar(first) else { throw fail("unpaired surrogate in \\u escape") }
            return scalar
        default:
            throw fail("invalid escape '\\\(Self.printable(byte))'")
        }
    }

    private mutating func parseHex4() throws(Failure) -> UInt32 {
        guard position + 4 <= bytes.count else { throw fail("incomplete \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[position]
            let digit: UInt32
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(byte - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(byte - UInt8(ascii: "A") + 10)
            default: throw fail("invalid hex digit in \\u escape")
            }
            value = value << 4 | digit
            position += 1
        }
        return value
    }

    private static func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

    private static func printable(_ byte: UInt8) -> String {
        byte >= 0x20 && byte < 0x7F ? String(UnicodeScalar(byte)) : "0x" + String(byte, radix: 16)
    }
}
