import NIOCore
import PostgresNIO

/// A JSON document already serialised, bound as `jsonb`. The server parses the text as
/// it parses the same text cast with `::jsonb`; the text is not parsed again here.
struct JSONText: NullableArrayElement {
    let text: String

    init(_ text: String) {
        self.text = text
    }

    static var elementType: PostgresDataType { .jsonb }
    static var arrayType: PostgresDataType { .jsonbArray }
    static var sqlTypeName: String { "jsonb" }

    /// `jsonb`'s binary form: a version byte (1), then the text.
    func encodeElement<JSONEncoder: PostgresJSONEncoder>(
        into buffer: inout ByteBuffer, context: PostgresEncodingContext<JSONEncoder>
    ) {
        buffer.writeInteger(UInt8(1))
        buffer.writeString(text)
    }
}
