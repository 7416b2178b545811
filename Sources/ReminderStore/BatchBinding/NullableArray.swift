import NIOCore
import PostgresNIO

/// A one-dimensional PostgreSQL array whose elements may be NULL, bound in the binary
/// format. PostgresNIO binds `[T]` but not `[T?]`; the statements that write many rows at
/// once bind one of these per column (`unnest($1::text[], …)`), so that a missing value
/// reaches the database as NULL instead of a stand-in the SQL has to translate back.
///
/// The elements are written straight into the bindings' buffer as they are read from
/// `elements` (usually a lazy map over the rows): no array of optionals and no buffer per
/// element is built on the way.
struct NullableArray<Element: NullableArrayElement, Elements: Collection>: PostgresNonThrowingEncodable
where Elements.Element == Element? {
    let elements: Elements

    init(_ elements: Elements) {
        self.elements = elements
    }

    static var psqlType: PostgresDataType { Element.arrayType }
    static var psqlFormat: PostgresFormat { .binary }

    /// PostgreSQL's binary array format (as `array_recv` reads it), all integers big-endian:
    /// the number of dimensions, a flag set when some element is NULL, the element type's
    /// OID; then for the one dimension its length and lower bound (1); then each element as
    /// its length in bytes and its bytes, or the length -1 for NULL. An empty array has no
    /// dimension, as PostgreSQL itself sends one.
    func encode<JSONEncoder: PostgresJSONEncoder>(
        into buffer: inout ByteBuffer, context: PostgresEncodingContext<JSONEncoder>
    ) {
        let count = elements.count
        // The header, and one length word per element (written before it: its length is
        // known); the elements' own bytes grow the buffer as they come.
        buffer.reserveCapacity(minimumWritableBytes: 20 + 4 * count)
        buffer.writeInteger(Int32(count == 0 ? 0 : 1))
        let hasNullIndex = buffer.writerIndex
        buffer.writeInteger(Int32(0))
        buffer.writeInteger(Element.elementType.rawValue)
        guard count > 0 else { return }
        buffer.writeInteger(Int32(count))
        buffer.writeInteger(Int32(1))
        var hasNull = false
        for element in elements {
            guard let element else {
                buffer.writeInteger(Int32(-1))
                hasNull = true
                continue
            }
            let length = element.encodedByteCount
            buffer.writeInteger(Int32(length))
            let start = buffer.writerIndex
            element.encodeElement(into: &buffer, context: context)
            assert(buffer.writerIndex - start == length, "\(Element.self) wrote other than its encodedByteCount")
        }
        if hasNull { buffer.setInteger(Int32(1), at: hasNullIndex) }
    }
}
