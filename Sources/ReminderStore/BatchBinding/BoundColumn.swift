import PostgresNIO

/// One column of a `BatchRow`: its name, its PostgreSQL type, and how a row gives its
/// value (nil for NULL). The type comes from the value's Swift type, so the SQL's cast and
/// the bound array cannot disagree.
struct BoundColumn<Row>: Sendable {
    let name: String
    let sqlTypeName: String
    private let appendArray: @Sendable ([RowReference<Row>], inout PostgresBindings) -> Void

    init<Value: NullableArrayElement>(_ name: String, _ value: @escaping @Sendable (Row) -> Value?) {
        self.name = name
        self.sqlTypeName = Value.sqlTypeName
        self.appendArray = { rows, binds in binds.append(NullableArray(rows.lazy.map { value($0.row) })) }
    }

    /// Appends the column's array: one element per row, in the rows' order.
    func bind(_ rows: [RowReference<Row>], into binds: inout PostgresBindings) {
        appendArray(rows, &binds)
    }
}

/// A row read by reference while its columns are bound. Iterating an array of rows in
/// this generic code hands each column's closure a copy of the row, and copying a wide
/// row retains every string and buffer in it: with some thirty columns per reminder
/// those copies were a third of ingest's CPU time (perf, issue 19). A row in a class is
/// copied once, into it; each column then reads it in place.
final class RowReference<Row> {
    let row: Row

    init(_ row: Row) {
        self.row = row
    }
}
