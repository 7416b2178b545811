import Foundation
import Testing

@testable import Delivery

/// Subjects and display names become header text every mail program reads back as
/// written (RFC 2047).
struct SMTPHeaderTextTests {
    /// Decodes a header value made of `=?UTF-8?B?…?=` words separated by folding white
    /// space, as a mail program would; nil when any piece is not such a word.
    static func decodeEncodedWords(_ value: String) -> String? {
        let unfolded = value.replacingOccurrences(of: "\r\n", with: "")
        var bytes: [UInt8] = []
        for word in unfolded.split(separator: " ") {
            guard word.hasPrefix("=?UTF-8?B?"), word.hasSuffix("?="),
                let data = Data(base64Encoded: String(word.dropFirst(10).dropLast(2)))
            else { return nil }
            bytes += data
        }
        return String(validating: bytes, as: UTF8.self)
    }

    @Test func printableASCIISubjectIsWrittenAsItIs() {
        #expect(
            SMTPHeaderText.unstructuredField("Subject", "Dentist at 10:30 (bring card!)")
                == "Subject: Dentist at 10:30 (bring card!)")
        #expect(SMTPHeaderText.unstructuredField("Subject", "") == "Subject:")
    }

    @Test func utf8SubjectBecomesEncodedWordsThatDecodeBack() throws {
        let subject = "Rappel : rendez-vous chez le médecin à 10 h 30 ✅"
        let field = SMTPHeaderText.unstructuredField("Subject", subject)
        #expect(field.hasPrefix("Subject: =?UTF-8?B?"))
        #expect(field.utf8.allSatisfy { $0 < 0x80 })
        #expect(Self.decodeEncodedWords(String(field.dropFirst("Subject: ".count))) == subject)
    }

    @Test func longSubjectIsSplitIntoWordsOfAtMost75CharactersOnWholeCharacters() throws {
        let subject = String(repeating: "Erinnerung: Müllabfuhr 🗑️ und Familie 👨‍👩‍👧‍👦 — ", count: 8)
        let field = SMTPHeaderText.unstructuredField("Subject", subject)
        let lines = field.components(separatedBy: "\r\n")
        #expect(lines.count > 5)
        for line in lines { #expect(line.count <= 76) }
        let words = field.dropFirst("Subject: ".count).replacingOccurrences(of: "\r\n", with: "").split(separator: " ")
        #expect(words.count == lines.count)
        for word in words {
            #expect(word.count <= 75)
            // Each word holds whole characters: it decodes to valid UTF-8 on its own.
            let data = try #require(Data(base64Encoded: String(word.dropFirst(10).dropLast(2))))
            #expect(String(validating: Array(data), as: UTF8.self) != nil)
        }
        #expect(Self.decodeEncodedWords(String(field.dropFirst("Subject: ".count))) == subject)
    }

    @Test func characterTooLongForOneWordIsSplitBetweenItsScalars() {
        // 25 emoji scalars joined: more bytes than one encoded-word can hold.
        let long = Array(repeating: "👩", count: 25).joined(separator: "\u{200D}")
        let words = SMTPHeaderText.encodedWords(long)
        #expect(words.count > 1)
        #expect(words.allSatisfy { $0.count <= 75 })
        #expect(Self.decodeEncodedWords(words.joined(separator: " ")) == long)
    }

    @Test func asciiTextThatLooksLikeAnEncodedWordIsEncoded() {
        let subject = "=?UTF-8?B?SGk=?= is not what it says"
        let field = SMTPHeaderText.unstructuredField("Subject", subject)
        #expect(field != "Subject: " + subject)
        #expect(Self.decodeEncodedWords(String(field.dropFirst("Subject: ".count))) == subject)
    }

    @Test func longASCIISubjectIsFoldedAtSpacesAndUnfoldsToItself() {
        let subject = (1...40).map { "word\($0)" }.joined(separator: " ")
        let field = SMTPHeaderText.unstructuredField("Subject", subject)
        let lines = field.components(separatedBy: "\r\n")
        #expect(lines.count > 1)
        for line in lines { #expect(line.count <= 78) }
        #expect(lines.dropFirst().allSatisfy { $0.hasPrefix(" ") })
        #expect(field.replacingOccurrences(of: "\r\n", with: "") == "Subject: " + subject)
    }

    @Test func asciiWordLongerThanAnyLineIsEncodedInstead() {
        let subject = String(repeating: "x", count: 1_200)
        let field = SMTPHeaderText.unstructuredField("Subject", subject)
        #expect(field.components(separatedBy: "\r\n").allSatisfy { $0.count <= 76 })
        #expect(Self.decodeEncodedWords(String(field.dropFirst("Subject: ".count))) == subject)
    }

    @Test(arguments: ["a\rb", "a\nb", "a\r\nBcc: x@y", "tab\there", "nul\u{0}", "del\u{7F}", "nel\u{85}", "ls\u{2028}"])
    func controlCharactersAreNotClean(_ text: String) {
        #expect(!SMTPHeaderText.isClean(text))
    }

    @Test func ordinaryUnicodeIsClean() {
        #expect(SMTPHeaderText.isClean("Réunion 会議 👋 \"quoted\" <tag>"))
    }

    @Test func displayNameIsQuotedWhenASCIIAndEncodedOtherwise() {
        #expect(
            SMTPHeaderText.phrase("Reminders \"R\" \\ Co", headerNameLength: 4) == "\"Reminders \\\"R\\\" \\\\ Co\"")
        let encoded = SMTPHeaderText.phrase("Rappels Médicaux", headerNameLength: 4)
        #expect(Self.decodeEncodedWords(encoded) == "Rappels Médicaux")
    }
}
