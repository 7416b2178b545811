import Foundation
import ReminderCore
import Testing

@testable import Delivery

/// The reminder as an Internet message, and what is refused before any connection.
struct SMTPMessageTests {
    static let from = SMTPMailbox(address: "reminders@example.test", displayName: "Rappels Médicaux")
    static let date = Instant(secondsSinceEpoch: 1_700_000_000)

    static func message(
        to: String = "user@example.test", subject: String = "Hello", body: String = "Body", from: SMTPMailbox = from
    ) throws(DeliveryFailure) -> SMTPMessage {
        try SMTPMessage(
            from: from, to: to, subject: subject, body: body, date: date,
            messageID: SMTPMessageID.make(reminderID: "rem-1", domain: from.domain, fallbackDomain: "helo.test"))
    }

    static func failure(_ make: () throws(DeliveryFailure) -> SMTPMessage) -> DeliveryFailure? {
        do {
            _ = try make()
            return nil
        } catch {
            return error
        }
    }

    @Test func sameReminderIDAlwaysGivesTheSameMessageID() {
        let first = SMTPMessageID.make(reminderID: "rem-42", domain: "example.test", fallbackDomain: "h")
        #expect(first == SMTPMessageID.make(reminderID: "rem-42", domain: "example.test", fallbackDomain: "h"))
        #expect(first != SMTPMessageID.make(reminderID: "rem-43", domain: "example.test", fallbackDomain: "h"))
        // The first 32 hex digits of SHA-256("rem-42").
        #expect(first == "<r-99f1087d82e0b3a89c495879b479b05a@example.test>")
    }

    @Test func anyReminderIDGivesAWellFormedMessageID() throws {
        for id in ["a\r\nBcc: x@y", "<>@\"", "会議-🗓️", "", String(repeating: "z", count: 5_000)] {
            let messageID = SMTPMessageID.make(reminderID: id, domain: "example.test", fallbackDomain: "h")
            #expect(messageID.wholeMatch(of: /<r-[0-9a-f]{32}@example\.test>/) != nil, "\(messageID)")
        }
    }

    @Test func messageIDFallsBackToTheHeloNameForANonASCIISenderDomain() {
        #expect(
            SMTPMessageID.make(reminderID: "x", domain: "bücher.test", fallbackDomain: "mx.example.test")
                .hasSuffix("@mx.example.test>"))
        #expect(
            SMTPMessageID.make(reminderID: "x", domain: "bücher.test", fallbackDomain: "[bad]")
                .hasSuffix("@localhost>"))
    }

    @Test func dateIsRFC5322InUTC() {
        #expect(SMTPDateHeader.format(Self.date) == "Tue, 14 Nov 2023 22:13:20 +0000")
        #expect(SMTPDateHeader.format(Instant(secondsSinceEpoch: 0)) == "Thu, 01 Jan 1970 00:00:00 +0000")
        #expect(SMTPDateHeader.format(Instant(microsecondsSinceEpoch: -1)) == "Wed, 31 Dec 1969 23:59:59 +0000")
        #expect(SMTPDateHeader.format(Instant(secondsSinceEpoch: 951_782_400)) == "Tue, 29 Feb 2000 00:00:00 +0000")
    }

    @Test func messageHasTheHeadersAndABase64BodyWithCRLFLineEnds() throws {
        let body = String(repeating: "Ligne très longue sans fin ", count: 20) + "\n.point\n"
        let message = try Self.message(subject: "Réunion", body: body)
        let text = String(decoding: message.bytes, as: UTF8.self)
        #expect(!text.replacingOccurrences(of: "\r\n", with: "").contains("\n"))
        #expect(text.hasSuffix("\r\n"))
        let parts = text.components(separatedBy: "\r\n\r\n")
        let headers = parts[0].components(separatedBy: "\r\n")
        #expect(headers.contains("To: user@example.test"))
        #expect(headers.contains("Date: Tue, 14 Nov 2023 22:13:20 +0000"))
        #expect(headers.contains("Message-ID: \(message.messageID)"))
        #expect(headers.contains("MIME-Version: 1.0"))
        #expect(headers.contains("Content-Type: text/plain; charset=utf-8"))
        #expect(headers.contains("Content-Transfer-Encoding: base64"))
        #expect(!headers.contains { $0.lowercased().hasPrefix("x-reminder-id") })
        let fromLine = try #require(headers.first { $0.hasPrefix("From: ") })
        #expect(fromLine.hasSuffix(" <reminders@example.test>"))
        #expect(
            SMTPHeaderTextTests.decodeEncodedWords(String(fromLine.dropFirst(6).dropLast(25))) == "Rappels Médicaux")
        let bodyLines = parts[1].components(separatedBy: "\r\n").filter { !$0.isEmpty }
        #expect(bodyLines.allSatisfy { $0.count <= 76 })
        #expect(Data(base64Encoded: bodyLines.joined()) == Data(body.utf8))
        #expect(message.sender == "reminders@example.test")
        #expect(message.recipient == "user@example.test")
        #expect(!message.requiresSMTPUTF8)
    }

    @Test(arguments: ["Hi\r\nBcc: victim@example.test", "Hi\nthere", "Hi\rthere", "tab\tafter"])
    func subjectWithALineBreakOrControlIsInvalidHeader(_ subject: String) {
        let failure = Self.failure { () throws(DeliveryFailure) in try Self.message(subject: subject) }
        #expect(failure?.kind == .permanent)
        #expect(failure?.errorClass == "invalid_header")
        #expect(failure?.answer.contains("victim") == false)
    }

    @Test(arguments: ["user@example.test\r\nRCPT TO:<x@y>", "user@example.test\n", "\ruser@example.test"])
    func recipientWithALineBreakIsInvalidHeader(_ to: String) {
        let failure = Self.failure { () throws(DeliveryFailure) in try Self.message(to: to) }
        #expect(failure == .recipient("invalid_header", "the recipient address contains a control character"))
    }

    @Test func senderWithALineBreakIsInvalidHeader() {
        let bad = SMTPMailbox(address: "a@b.test", displayName: "Name\r\nBcc: x@y")
        let failure = Self.failure { () throws(DeliveryFailure) in try Self.message(from: bad) }
        #expect(failure?.errorClass == "invalid_header")
        let badAddress = SMTPMailbox(address: "a@b.test\n")
        #expect(
            Self.failure { () throws(DeliveryFailure) in try Self.message(from: badAddress) }?.errorClass
                == "invalid_header")
    }

    @Test(arguments: ["no-at-sign", "@example.test", "user@", "us er@example.test", "<user@example.test>"])
    func malformedRecipientIsInvalidAddress(_ to: String) {
        let failure = Self.failure { () throws(DeliveryFailure) in try Self.message(to: to) }
        #expect(failure?.kind == .permanent)
        #expect(failure?.errorClass == "invalid_address")
    }

    @Test func nonASCIIRecipientRequiresSMTPUTF8() throws {
        #expect(try Self.message(to: "jörg@example.test").requiresSMTPUTF8)
    }
}
