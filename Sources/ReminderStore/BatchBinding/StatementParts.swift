/// Splits rows bound into one statement into consecutive parts of about a size each, so
/// that no statement's message grows with the whole batch.
enum StatementParts {
    /// Where each part ends (exclusive) for rows of the given `sizes`, in order: a part
    /// takes rows while their sizes add up to at most `limit`; a row larger than `limit`
    /// is a part alone. No rows, no parts.
    static func ends(sizes: some Sequence<Int>, limit: Int) -> [Int] {
        var ends: [Int] = []
        var index = 0
        var size = 0
        for rowSize in sizes {
            // The part so far holds a row and this one would pass the limit: end it here.
            if index > (ends.last ?? 0), size + rowSize > limit {
                ends.append(index)
                size = 0
            }
            index += 1
            size += rowSize
        }
        if index > (ends.last ?? 0) { ends.append(index) }
        return ends
    }
}
