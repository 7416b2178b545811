import PostgresNIO

/// A row's cells read in order, each decoded to the type its use asks for. For rows read
/// by the thousand: PostgresNIO's `decode((A, B, …).self)` looks its generic tuple's
/// metadata up at run time for every row (in perf of ingest, issue 19, under the status
/// relay's sixteen columns; the runtime's metadata lookups were 3% of the service's CPU,
/// the JSON parser's included).
struct RowCells {
    /// A row with fewer cells than were read from it: the statement and its reader disagree.
    struct MissingCell: Error, CustomStringConvertible {
        let index: Int
        var description: String { "the row has no cell \(index)" }
    }

    private var cells: PostgresRow.Iterator
    private var index = 0

    init(_ row: PostgresRow) {
        cells = row.makeIterator()
    }

    /// The next cell as a `T` (an optional type reads NULL as nil).
    mutating func next<T: PostgresDecodable>(_: T.Type = T.self) throws -> T {
        guard let cell = cells.next() else { throw MissingCell(index: index) }
        index += 1
        return try cell.decode(T.self)
    }
}
