import NIOCore
import PostgresNIO

/// A JSON document already serialised, bound as `jsonb`. The server parses the text as
/// it parses the same text cast with `::jsonb`; the text is not parsed again here.
struct JSONText: NullableArrayElement {
    /// The text's UTF-8 bytes.
    let bytes: [UInt8]

    init(_ text: String) {
        bytes = Array(text.utf8)
    }

    init(bytes: [UInt8]) {
        self.bytes = bytes
    }

    static var elementType: PostgresDataType { .jsonb }
    static var arrayType: PostgresDataType { .jsonbArray }
    static var sqlTypeName: String { "jsonb" }
    /// The jsonb format's version byte, then the text.
    var encodedByteCount: Int { 1 + bytes.count }

    /// `jsonb`'s binary form: a version byte (1), then the text.
    func encodeElement<JSONEncoder: PostgresJSONEncoder>(
        into buffer: inout ByteBuffer, context: PostgresEncodingContext<JSONEncoder>
    ) {
        buffer.writeInteger(UInt8(1))
        buffer.writeBytes(bytes)
    }
}
