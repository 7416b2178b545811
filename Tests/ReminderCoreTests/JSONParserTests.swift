import ReminderCore
import Testing

@Suite struct JSONParserTests {
    private func parse(_ text: String) throws(JSONParser.Failure) -> JSONValue {
        try JSONParser.parse(Array(text.utf8))
    }

    @Test func parsesEveryKindOfValue() throws {
        let value = try parse(#" {"a": [1, -2.5e3, true, false, null, "x\u00e9\ud83d\ude00\n"], "b": {}} "#)
        #expect(
            value["a"] == .array([.number("1"), .number("-2.5e3"), .bool(true), .bool(false), .null, .string("xé😀\n")]))
        #expect(value["b"] == .object([]))
    }

    @Test(arguments: [
        (#"{"a":1,"a":2}"#, "duplicate key \"a\""),
        (#"{"a":{"b":1,"b":1}}"#, "duplicate key \"b\""),
        ("[1,]", "unexpected character"),
        ("{\"a\":1} x", "unexpected content after the JSON value"),
        ("01", "unexpected content after the JSON value"),
        ("1.", "invalid number"),
        ("-", "invalid number"),
        (#""\ud800""#, "unpaired surrogate"),
        (#""\udc00x""#, "unpaired surrogate"),
        (#""\x""#, "invalid escape"),
        ("\"a\tb\"", "control character in string"),
        ("\"abc", "unterminated string"),
        ("tru", "invalid literal"),
        ("", "unexpected end of input"),
        ("{\"a\" 1}", "expected ':'"),
        ("{1:2}", "expected a member name"),
    ])
    func refusesWhatALenientParserWouldAccept(text: String, message: String) {
        let error = #expect(throws: JSONParser.Failure.self) { try parse(text) }
        #expect(error?.message.contains(message) == true, "\(text): \(String(describing: error))")
    }

    /// Small objects compare each new key with the earlier ones, larger ones keep a set:
    /// a duplicate is found at every position, on both sides of the switch.
    @Test(arguments: [2, JSONParser.membersComparedOneByOne, JSONParser.membersComparedOneByOne + 1, 200])
    func findsADuplicateKeyInAnObjectOfAnySize(members: Int) throws {
        let keys = (0..<members).map { "key\($0)" }
        func object(_ keys: [String]) -> String { "{" + keys.map { "\"\($0)\":1" }.joined(separator: ",") + "}" }
        let whole = try parse(object(keys))
        guard case .object(let parsed) = whole else { Issue.record("not an object"); return }
        #expect(parsed.map(\.key) == keys)
        for repeated in [0, members / 2, members - 1] {
            let error = #expect(throws: JSONParser.Failure.self) { try parse(object(keys + [keys[repeated]])) }
            #expect(error?.message == "duplicate key \"\(keys[repeated])\"")
        }
        // Keys that differ only past their shared start are not duplicates.
        #expect(throws: Never.self) { try parse(object(keys + ["key"])) }
    }

    @Test func refusesInvalidUTF8() {
        let error = #expect(throws: JSONParser.Failure.self) {
            try JSONParser.parse([UInt8(ascii: "\""), 0xC3, 0x28, UInt8(ascii: "\"")])
        }
        #expect(error?.message == "invalid UTF-8 in string")
    }

    /// Strings without escapes: ASCII ones are taken as they are, any other byte has
    /// the whole string validated as UTF-8.
    @Test(
        arguments: [
            [0x80], [0xC0, 0xAF], [0xC3], [0xE2, 0x82], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xFF],
            [0x61, 0x62, 0xC3, 0x28], [0x61, 0xE2, 0x82, 0xAC, 0x80],
        ] as [[UInt8]])
    func refusesInvalidUTF8AfterAnyStart(inner: [UInt8]) {
        let error = #expect(throws: JSONParser.Failure.self) {
            try JSONParser.parse(Array(#"{"t":""#.utf8) + inner + Array(#""}"#.utf8))
        }
        #expect(error?.message == "invalid UTF-8 in string")
    }

    @Test func takesPlainAndNonASCIIStringsAsWritten() throws {
        let value = try parse(#"{"ascii":"Dentist at 9 ~!","latin":"Zahnärzt","euro":"5 €","emoji":"😀 ok"}"#)
        #expect(value["ascii"] == .string("Dentist at 9 ~!"))
        #expect(value["latin"] == .string("Zahnärzt"))
        #expect(value["euro"] == .string("5 €"))
        #expect(value["emoji"] == .string("😀 ok"))
    }

    @Test func refusesNestingPastTheLimitAndNamesWhere() throws {
        let deep = String(repeating: "[", count: 40) + String(repeating: "]", count: 40)
        let error = #expect(throws: JSONParser.Failure.self) { try parse(#"{"data":"# + deep + "}") }
        #expect(error?.message.contains("nesting deeper than 32") == true)
        #expect(error?.path.hasPrefix("$.data[0][0]") == true)
        _ = try parse(String(repeating: "[", count: 32) + String(repeating: "]", count: 32))
    }

    @Test func serializesBackToEquivalentCompactJSON() throws {
        let value = try parse(#"{ "k" : [ 1 , "a\"b\\c\u0001" , {"n":null} ] }"#)
        #expect(value.serialized == #"{"k":[1,"a\"b\\c\u0001",{"n":null}]}"#)
        #expect(try parse(value.serialized) == value)
    }

    /// The flat document the event decoder reads holds what the tree does, and writes the
    /// same compact JSON.
    @Test(arguments: [
        #" {"a": [1, -2.5e3, true, false, null, "x\u00e9\ud83d\ude00\n"], "b": {}, "c": []} "#,
        #"[[], {}, [{"k": [0, {"n": null}]}], "", "a\"b\\c\u0001", 0.5]"#,
        #"{"ascii":"Dentist at 9","latin":"Zahnärzt","escaped \"name\"":{"x":"5 €"}}"#,
        "42", #""text""#, "null",
    ])
    func documentHoldsWhatTheTreeHolds(text: String) throws {
        let bytes = Array(text.utf8)
        let document = try JSONParser.document(bytes).root
        let tree = try JSONParser.parse(bytes)
        #expect(document.value == tree)
        #expect(document.serialized == tree.serialized)
    }

    @Test func documentReadsValuesWhereTheyLie() throws {
        let root = try JSONParser.document(
            Array(#"{"s":"a\tb","n":-1.5e2,"list":[1,"two",null],"o":{"k":true},"caf\u00e9":"é","z":null}"#.utf8)
        ).root
        #expect(root.kind == .object)
        #expect(root.keys == ["s", "n", "list", "o", "café", "z"])
        #expect(root["s"]?.string == "a\tb")
        #expect(root["n"]?.number == "-1.5e2")
        #expect(root["n"]?.string == nil)
        #expect(root["list"]?.items?.map(\.kindName) == ["a number", "a string", "null"])
        #expect(root["list"]?.items?[1].string == "two")
        #expect(root["o"]?["k"]?.value == .bool(true))
        #expect(root["café"]?.string == "é")
        #expect(root["z"]?.kind == .null)
        #expect(root["missing"] == nil)
        #expect(root["s"]?["s"] == nil)
        #expect(root["list"]?.keys == nil)
        #expect(root.items == nil)
    }

    /// Names are compared by code points (RFC 8259, 8.3): an escape spells the same name,
    /// a canonically equivalent one with other code points is another name.
    @Test(arguments: [2, JSONParser.membersComparedOneByOne + 1])
    func namesAreComparedByCodePoints(members: Int) throws {
        let others = (0..<members - 1).map { #""key\#($0)":0"# }.joined(separator: ",")
        let escaped = "{\(others)," + #""a":1,"\u0061":2}"#
        let error = #expect(throws: JSONParser.Failure.self) { try JSONParser.document(Array(escaped.utf8)) }
        #expect(error?.message == "duplicate key \"a\"")

        let composed = "{\(others),\"\u{E9}\":1,\"e\u{301}\":2}"
        let root = try JSONParser.document(Array(composed.utf8)).root
        #expect(root["\u{E9}"]?.number == "1")
        #expect(root["e\u{301}"]?.number == "2")
        #expect(try JSONParser.parse(Array(composed.utf8)) == root.value)
    }
}
