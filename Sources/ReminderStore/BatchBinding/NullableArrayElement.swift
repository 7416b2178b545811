import Foundation
import NIOCore
import PostgresNIO

/// A Swift type that can be an element of a `NullableArray`: PostgreSQL's names for its
/// type and its array type, and its binary form.
protocol NullableArrayElement: Sendable {
    /// The element type, whose OID the array's binary form names.
    static var elementType: PostgresDataType { get }
    /// The array type the whole parameter is bound as.
    static var arrayType: PostgresDataType { get }
    /// The element type's name in SQL, for the casts of `unnest($1::text[], …)`.
    static var sqlTypeName: String { get }

    /// Appends the element's binary form, without its length.
    func encodeElement<JSONEncoder: PostgresJSONEncoder>(
        into buffer: inout ByteBuffer, context: PostgresEncodingContext<JSONEncoder>)

    /// How many bytes `encodeElement` appends: the array writes the length before the
    /// element rather than going back to set it afterwards (a third fewer writes to the
    /// buffer, each checked for its capacity and its own copy).
    var encodedByteCount: Int { get }
}

/// The types PostgresNIO binds already: each element is written by PostgresNIO's own
/// encoder of the type.
extension NullableArrayElement where Self: PostgresArrayEncodable & PostgresNonThrowingEncodable {
    static var elementType: PostgresDataType { psqlType }
    static var arrayType: PostgresDataType { psqlArrayType }

    func encodeElement<JSONEncoder: PostgresJSONEncoder>(
        into buffer: inout ByteBuffer, context: PostgresEncodingContext<JSONEncoder>
    ) {
        encode(into: &buffer, context: context)
    }
}

extension String: NullableArrayElement {
    static var sqlTypeName: String { "text" }
    var encodedByteCount: Int { utf8.count }
}

extension Int64: NullableArrayElement {
    static var sqlTypeName: String { "int8" }
    var encodedByteCount: Int { 8 }
}

extension Int32: NullableArrayElement {
    static var sqlTypeName: String { "int4" }
    var encodedByteCount: Int { 4 }
}

extension Bool: NullableArrayElement {
    static var sqlTypeName: String { "bool" }
    var encodedByteCount: Int { 1 }
}

extension Double: NullableArrayElement {
    static var sqlTypeName: String { "float8" }
    var encodedByteCount: Int { 8 }
}

extension ByteBuffer: NullableArrayElement {
    static var sqlTypeName: String { "bytea" }
    var encodedByteCount: Int { readableBytes }
}

/// Bytes bound as `bytea`, written straight from the array: a consumed message's value
/// goes into the statement without first being copied into a `ByteBuffer` of its own.
extension [UInt8]: NullableArrayElement {
    static var elementType: PostgresDataType { .bytea }
    static var arrayType: PostgresDataType { .byteaArray }
    static var sqlTypeName: String { "bytea" }
    var encodedByteCount: Int { count }

    func encodeElement<JSONEncoder: PostgresJSONEncoder>(
        into buffer: inout ByteBuffer, context: PostgresEncodingContext<JSONEncoder>
    ) {
        buffer.writeBytes(self)
    }
}

extension UUID: NullableArrayElement {
    static var sqlTypeName: String { "uuid" }
    var encodedByteCount: Int { 16 }
}
