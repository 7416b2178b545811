import PostgresNIO

/// One column of a `BatchRow`: its name, its PostgreSQL type, and how a row gives its
/// value (nil for NULL). The type comes from the value's Swift type, so the SQL's cast and
/// the bound array cannot disagree.
struct BoundColumn<Row>: Sendable {
    let name: String
    let sqlTypeName: String
    private let appendArray: @Sendable ([Row], inout PostgresBindings) -> Void

    init<Value: NullableArrayElement>(_ name: String, _ value: @escaping @Sendable (Row) -> Value?) {
        self.name = name
        self.sqlTypeName = Value.sqlTypeName
        self.appendArray = { rows, binds in binds.append(NullableArray(rows.lazy.map(value))) }
    }

    /// Appends the column's array: one element per row, in the rows' order.
    func bind(_ rows: [Row], into binds: inout PostgresBindings) {
        appendArray(rows, &binds)
    }
}
