/// Splits rows bound into one statement into consecutive parts of about a size each, so
/// that no statement's message grows with the whole batch.
enum StatementParts {
    /// Where each part ends (exclusive) for rows of the given `sizes`, in order: a part
    /// takes rows while their sizes add up to at most `limit`; a row larger than `limit`
    /// is a part alone. No rows, no parts.
    static func ends(sizes: some Sequence<Int>, limit: Int) -> [Int] {
        var ends: [Int] = []
        var part = Filling(limit: limit)
        var index = 0
        for rowSize in sizes {
            if part.add(rowSize) { ends.append(index) }
            index += 1
        }
        if index > (ends.last ?? 0) { ends.append(index) }
        return ends
    }

    /// The part being filled, for a caller that makes its rows as it sends them.
    struct Filling {
        let limit: Int
        private var rows = 0
        private var size = 0

        init(limit: Int) { self.limit = limit }

        /// Counts in a row of `rowSize`; true when it starts a new part, because the part
        /// so far holds a row and this one would pass the limit (that part ends before it).
        mutating func add(_ rowSize: Int) -> Bool {
            let startsPart = rows > 0 && size + rowSize > limit
            if startsPart {
                rows = 0
                size = 0
            }
            rows += 1
            size += rowSize
            return startsPart
        }
    }
}
