import Foundation
import ReminderCore
import Testing

/// Text the contracts carry, written without Foundation's formatting: ids and JSON strings.
@Suite struct ContractTextTests {
    @Test func anIdIsWrittenAsFoundationWritesItInLowercase() {
        var ids = (0..<500).map { _ in UUID() }
        ids.append(UUID(uuid: (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)))
        ids.append(UUID(uuid: (255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255)))
        ids.append(UUID(uuidString: "0A1B2C3D-4E5F-6071-8293-A4B5C6D7E8F9")!)
        for id in ids {
            #expect(id.lowercasedText == id.uuidString.lowercased())
        }
        #expect(ids.last!.lowercasedText == "0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9")
    }

    static let strings: [String] = [
        "", "plain", #"a "quoted" word"#, #"back\slash"#, "line\nbreak\r\n", "tab\there", "zoë ☃ 😀",
        "\u{7F} is no control character for JSON", String((0x01..<0x20).map { Character(Unicode.Scalar($0)!) }),
        "😀\"😀\\😀\u{01}😀",
    ]

    @Test(arguments: strings)
    func aStringWrittenAsBytesIsTheStringWrittenAsText(text: String) throws {
        var bytes: [UInt8] = [UInt8(ascii: "[")]
        JSONValue.append(string: text, to: &bytes)
        bytes.append(UInt8(ascii: "]"))
        var expected = "["
        JSONValue.append(string: text, to: &expected)
        expected += "]"
        #expect(bytes == Array(expected.utf8))
        // And it reads back as the same string.
        #expect(try JSONParser.parse(bytes) == .array([.string(text)]))
    }

    @Test func controlCharactersAreEscapedAsTheContractWritesThem() {
        var bytes: [UInt8] = []
        JSONValue.append(string: "\u{00}\u{1F}\n\"\\/", to: &bytes)
        #expect(String(decoding: bytes, as: UTF8.self) == #""\u0000\u001f\n\"\\/""#)
    }

    @Test func membersWrittenAsBytesOpenTheObjectThenFollowWithCommas() throws {
        var bytes: [UInt8] = []
        for (key, value) in [("a", "1"), ("b\"c", "2")] {
            JSONValue.append(member: key, to: &bytes)
            JSONValue.append(string: value, to: &bytes)
        }
        bytes.append(UInt8(ascii: "}"))
        #expect(String(decoding: bytes, as: UTF8.self) == #"{"a":"1","b\"c":"2"}"#)
        #expect(try JSONParser.parse(bytes) == .object([("a", .string("1")), ("b\"c", .string("2"))]))
    }
}
