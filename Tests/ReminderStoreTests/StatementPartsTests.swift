import TestSupport
import Testing

@testable import ReminderStore

/// How a batch's rows are split into statements of about a size each.
@Suite struct StatementPartsTests {
    @Test func rowsFillAPartUpToTheLimitAndNoFurther() {
        #expect(StatementParts.ends(sizes: [], limit: 10) == [])
        #expect(StatementParts.ends(sizes: [3], limit: 10) == [1])
        #expect(StatementParts.ends(sizes: [3, 3, 4], limit: 10) == [3])
        #expect(StatementParts.ends(sizes: [3, 3, 4, 1], limit: 10) == [3, 4])
        #expect(StatementParts.ends(sizes: [5, 5, 6, 4, 1], limit: 10) == [2, 4, 5])
    }

    @Test func aRowLargerThanTheLimitIsAPartAlone() {
        #expect(StatementParts.ends(sizes: [25], limit: 10) == [1])
        #expect(StatementParts.ends(sizes: [2, 25, 2, 2], limit: 10) == [1, 2, 4])
    }

    /// For any sizes: the parts cover every row once, in order, and each part is within
    /// the limit unless it is a single row, and could not have taken the next row.
    @Test func partsCoverEveryRowAndRespectTheLimit() {
        var generator = SeededRandom(seed: 19)
        for _ in 0..<500 {
            let limit = Int.random(in: 1...50, using: &generator)
            let sizes = (0..<Int.random(in: 0...40, using: &generator)).map { _ in
                Int.random(in: 0...60, using: &generator)
            }
            let ends = StatementParts.ends(sizes: sizes, limit: limit)
            #expect(ends.last ?? 0 == sizes.count)
            var start = 0
            for end in ends {
                #expect(end > start)
                let part = sizes[start..<end]
                #expect(part.count == 1 || part.reduce(0, +) <= limit, "\(sizes) / \(limit): \(ends)")
                if end < sizes.count {
                    #expect(part.reduce(0, +) + sizes[end] > limit, "\(sizes) / \(limit): \(ends)")
                }
                start = end
            }
        }
    }
}
