import Foundation

/// A parsed JSON document as one flat array of its values in document order, each
/// container followed by its contents, rather than a tree of `JSONValue`s: what the event
/// decoder reads a message through. A tree allocates an array for every object and array
/// (grown member by member) and a string for every member name and value, and freeing it
/// is another walk; with decoding, that was a fifth of the service's CPU while it ingested
/// (perf, issue 19). Here a document is the message's bytes and one array of plain
/// entries, and a value is read where it lies (`Node`): a member's name is compared as
/// bytes and a string is made only for the values read. Built by `JSONParser.document`,
/// which checks what `JSONParser.parse` checks.
///
/// Member names are compared by their code points (RFC 8259, 8.3), as `JSONParser.parse`
/// compares them for duplicates: not by canonical equivalence, as Swift's `String` is.
public final class JSONDocument: Sendable {
    public enum Kind: UInt8, Sendable {
        case null, bool, number, string, array, object

        /// What a validation message calls a value of this kind.
        public var name: String {
            switch self {
            case .null: "null"
            case .bool: "a boolean"
            case .number: "a number"
            case .string: "a string"
            case .array: "an array"
            case .object: "an object"
            }
        }
    }

    /// One value, or an object member's name (a `.string` entry just before the value).
    struct Entry: Sendable {
        /// A string's bytes between its quotes, a number's as written, a container's from
        /// its opening bracket to past its closing one.
        var start: Int32
        var end: Int32
        /// The index just past this value and everything inside it.
        var next: Int32
        /// An array's items, an object's members; for a string, its index in `decoded` when
        /// it is there, else -1.
        var count: Int32
        var kind: Kind
        /// A boolean's value.
        var flag: Bool

        init(_ kind: Kind, start: Int = 0, end: Int = 0, next: Int, count: Int = 0, flag: Bool = false) {
            self.start = Int32(start)
            self.end = Int32(end)
            self.next = Int32(next)
            self.count = Int32(count)
            self.kind = kind
            self.flag = flag
        }

        /// Its text, a string's or a number's, in a document of `bytes` and `decoded`.
        func text(in bytes: UnsafeBufferPointer<UInt8>, decoded: [String]) -> String {
            if kind == .string && count >= 0 { return decoded[Int(count)] }
            return String(decoding: UnsafeBufferPointer(rebasing: bytes[Int(start)..<Int(end)]), as: UTF8.self)
        }

        /// Calls `body` with its text's UTF-8 bytes, in a document of `bytes` and `decoded`.
        func withUTF8<Result>(
            in bytes: UnsafeBufferPointer<UInt8>, decoded: [String], _ body: (UnsafeBufferPointer<UInt8>) -> Result
        ) -> Result {
            if kind == .string && count >= 0 {
                var text = decoded[Int(count)]
                return text.withUTF8(body)
            }
            return body(UnsafeBufferPointer(rebasing: bytes[Int(start)..<Int(end)]))
        }
    }

    /// The document's text.
    let bytes: [UInt8]
    let entries: [Entry]
    /// The strings that are not their bytes as they stand: those with escapes, and those
    /// with bytes beyond ASCII (kept as validated).
    let decoded: [String]

    init(bytes: [UInt8], entries: [Entry], decoded: [String]) {
        self.bytes = bytes
        self.entries = entries
        self.decoded = decoded
    }

    /// The document's value.
    public var root: Node { Node(document: self, index: 0) }

    /// A string's or a number's text.
    func text(at index: Int) -> String {
        bytes.withUnsafeBufferPointer { entries[index].text(in: $0, decoded: decoded) }
    }

    /// Whether two byte strings are the same: names compared by their code points.
    static func same(_ first: UnsafeBufferPointer<UInt8>, _ second: UnsafeBufferPointer<UInt8>) -> Bool {
        guard first.count == second.count else { return false }
        guard let a = first.baseAddress, let b = second.baseAddress else { return true }
        // Names that differ mostly differ at the start: no call for those.
        return a.pointee == b.pointee && memcmp(a, b, first.count) == 0
    }

    /// Appends the value at `index` as compact JSON, written as `JSONValue.serialized`
    /// writes it.
    func write(_ index: Int, to output: inout String) {
        let entry = entries[index]
        switch entry.kind {
        case .null: output += "null"
        case .bool: output += entry.flag ? "true" : "false"
        case .number: output += text(at: index)
        case .string: JSONValue.writeString(text(at: index), to: &output)
        case .array:
            output += "["
            forEachChild(of: index) { item, position in
                if position > 0 { output += "," }
                write(item, to: &output)
            }
            output += "]"
        case .object:
            output += "{"
            forEachChild(of: index) { name, position in
                if position > 0 { output += "," }
                JSONValue.writeString(text(at: name), to: &output)
                output += ":"
                write(name + 1, to: &output)
            }
            output += "}"
        }
    }

    /// Calls `body` with the index and position of each item of the array at `index`, or
    /// of each member's name of the object at `index` (its value is the next entry).
    func forEachChild(of index: Int, _ body: (_ index: Int, _ position: Int) -> Void) {
        let entry = entries[index]
        var child = index + 1
        for position in 0..<Int(entry.count) {
            body(child, position)
            child = Int(entries[entry.kind == .object ? child + 1 : child].next)
        }
    }

    /// One value of the document, read in place.
    public struct Node: Sendable {
        let document: JSONDocument
        let index: Int

        private var entry: Entry { document.entries[index] }

        public var kind: Kind { entry.kind }

        /// What a validation message calls this kind of value.
        public var kindName: String { kind.name }

        /// The text of a string; nil for any other kind.
        public var string: String? { kind == .string ? document.text(at: index) : nil }

        /// The text of a number as written; nil for any other kind.
        public var number: String? { kind == .number ? document.text(at: index) : nil }

        /// The member named `key` of an object; nil when absent or when this is no object.
        public subscript(key: String) -> Node? {
            let entries = document.entries
            guard entries[index].kind == .object else { return nil }
            var key = key
            let found: Int? = key.withUTF8 { name in
                document.bytes.withUnsafeBufferPointer { bytes in
                    var member = index + 1
                    for _ in 0..<entries[index].count {
                        if entries[member].withUTF8(
                            in: bytes, decoded: document.decoded, { JSONDocument.same($0, name) })
                        {
                            return member + 1
                        }
                        member = Int(entries[member + 1].next)
                    }
                    return nil
                }
            }
            return found.map { Node(document: document, index: $0) }
        }

        /// An array's items, in order; nil when this is no array.
        public var items: [Node]? {
            guard kind == .array else { return nil }
            var items: [Node] = []
            items.reserveCapacity(Int(entry.count))
            document.forEachChild(of: index) { item, _ in items.append(Node(document: document, index: item)) }
            return items
        }

        /// An object's member names, in document order; nil when this is no object.
        public var keys: [String]? {
            guard kind == .object else { return nil }
            var keys: [String] = []
            keys.reserveCapacity(Int(entry.count))
            document.forEachChild(of: index) { name, _ in keys.append(document.text(at: name)) }
            return keys
        }

        /// The value as a `JSONValue` tree.
        public var value: JSONValue { document.value(at: index) }

        /// Compact JSON text of the value, as `value.serialized` writes it, without the tree.
        /// Room is made for the value's text as it stands in the document, which its compact
        /// form does not pass unless it spells out characters the document has as they are:
        /// a string that stays (`content.data` of every event that has one) is then no larger
        /// than its text, and one of up to 15 bytes needs no storage of its own.
        public var serialized: String {
            let entry = document.entries[index]
            var output = ""
            output.reserveCapacity(Int(entry.end - entry.start))
            document.write(index, to: &output)
            return output
        }
    }

    func value(at index: Int) -> JSONValue {
        let entry = entries[index]
        switch entry.kind {
        case .null: return .null
        case .bool: return .bool(entry.flag)
        case .number: return .number(text(at: index))
        case .string: return .string(text(at: index))
        case .array:
            var items: [JSONValue] = []
            items.reserveCapacity(Int(entry.count))
            forEachChild(of: index) { item, _ in items.append(value(at: item)) }
            return .array(items)
        case .object:
            var members: [(key: String, value: JSONValue)] = []
            members.reserveCapacity(Int(entry.count))
            forEachChild(of: index) { name, _ in members.append((text(at: name), value(at: name + 1))) }
            return .object(members)
        }
    }
}
