import PostgresNIO

/// A row of a statement that writes many rows at once. The row type declares its columns
/// once; the SQL that unnests the bound arrays into rows and the arrays themselves are
/// both made from that declaration, one array per column, NULL bound as NULL.
protocol BatchRow {
    static var columns: [BoundColumn<Self>] { get }
}

extension BatchRow {
    /// The column names in order, for an `INSERT`'s column list or a `SELECT`: `a, b, c`.
    static var columnList: String { columns.map(\.name).joined(separator: ", ") }

    /// `unnest($first::text[], $first+1::int8[], …) AS alias(a, b, …)`: the arrays of
    /// `bind(_:into:)` bound from parameter `first` on, as a table named `alias`. With
    /// `ordinality`, a last column `ord` numbers the rows from 1 in the order bound.
    static func unnest(bindingFrom first: Int, as alias: String, ordinality: Bool = false) -> String {
        let arrays = columns.enumerated().map { "$\(first + $0.offset)::\($0.element.sqlTypeName)[]" }
        let names = columns.map(\.name) + (ordinality ? ["ord"] : [])
        return "unnest(\(arrays.joined(separator: ", ")))\(ordinality ? " WITH ORDINALITY" : "") "
            + "AS \(alias)(\(names.joined(separator: ", ")))"
    }

    /// Appends one array per column, in the order of `columns`. A part of an array binds
    /// as it is (an `ArraySlice`), without copying its rows into an array of their own.
    static func bind<Rows: Collection<Self>>(_ rows: Rows, into binds: inout PostgresBindings) {
        let references = rows.map(RowReference.init)
        for column in columns { column.bind(references, into: &binds) }
    }
}
