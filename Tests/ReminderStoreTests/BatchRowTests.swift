import NIOCore
import PostgresNIO
import Testing

@testable import ReminderStore

@Suite struct BatchRowTests {
    private struct Note: BatchRow {
        let id: Int64
        let text: String?

        static let columns: [BoundColumn<Note>] = [
            BoundColumn("id") { $0.id },
            BoundColumn("text") { $0.text },
        ]
    }

    @Test func theColumnsNameTheUnnestsCastsAndAliases() {
        #expect(Note.columnList == "id, text")
        #expect(Note.unnest(bindingFrom: 1, as: "t") == "unnest($1::int8[], $2::text[]) AS t(id, text)")
        #expect(
            Note.unnest(bindingFrom: 4, as: "n", ordinality: true)
                == "unnest($4::int8[], $5::text[]) WITH ORDINALITY AS n(id, text, ord)")
    }

    @Test func eachColumnIsBoundAsOneArrayOfTheRowsValuesInOrder() {
        var binds = PostgresBindings()
        Note.bind([Note(id: 7, text: nil), Note(id: 8, text: "x")], into: &binds)
        var expected = PostgresBindings()
        expected.append(NullableArray([7, 8] as [Int64?]))
        expected.append(NullableArray([nil, "x"] as [String?]))
        #expect(binds == expected)
        #expect(binds.count == 2)
    }

    @Test func noRowsBindEmptyArrays() {
        var binds = PostgresBindings()
        Note.bind([], into: &binds)
        var expected = PostgresBindings()
        expected.append(NullableArray([Int64?]()))
        expected.append(NullableArray([String?]()))
        #expect(binds == expected)
    }
}
