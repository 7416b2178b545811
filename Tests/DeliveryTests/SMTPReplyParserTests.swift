import ReminderCore
import Testing

@testable import Delivery

/// Replies assembled from lines, and what of them may be reported.
struct SMTPReplyParserTests {
    private func feed(_ lines: [String]) throws(DeliveryFailure) -> [SMTPReply] {
        var parser = SMTPReplyParser()
        var replies: [SMTPReply] = []
        for line in lines {
            if let reply = try parser.consume(Array(line.utf8)) { replies.append(reply) }
        }
        return replies
    }

    @Test func continuationLinesMakeOneReply() throws {
        let replies = try feed([
            "250-mx.example.test greets you", "250-STARTTLS", "250-AUTH PLAIN LOGIN", "250 SMTPUTF8",
        ])
        #expect(
            replies == [
                SMTPReply(code: 250, lines: ["mx.example.test greets you", "STARTTLS", "AUTH PLAIN LOGIN", "SMTPUTF8"])
            ])
        let capabilities = SMTPCapabilities(ehlo: replies[0])
        #expect(capabilities.startTLS)
        #expect(capabilities.smtpUTF8)
        #expect(capabilities.authMechanisms == ["PLAIN", "LOGIN"])
    }

    @Test func oldStyleAuthEqualsIsUnderstood() {
        let capabilities = SMTPCapabilities(ehlo: SMTPReply(code: 250, lines: ["hi", "AUTH=login"]))
        #expect(capabilities.authMechanisms == ["LOGIN"])
        #expect(!capabilities.startTLS)
    }

    @Test func bareCodeEndsAReply() throws {
        #expect(try feed(["354"]) == [SMTPReply(code: 354, lines: [""])])
    }

    @Test func summaryHoldsTheCodesAndNeverTheText() {
        #expect(SMTPReply(code: 550, lines: ["5.1.1 <victim@example.test>: unknown"]).summary == "550 5.1.1")
        #expect(SMTPReply(code: 250, lines: ["2.0.0 Ok: queued as 4F3A"]).summary == "250 2.0.0")
        #expect(SMTPReply(code: 451, lines: ["victim@example.test try later"]).summary == "451")
        // An enhanced code of another class than the reply's is not one.
        #expect(SMTPReply(code: 451, lines: ["5.1.1 mismatch"]).summary == "451")
    }

    @Test(arguments: [["hello"], ["25"], ["250x"], ["250-a", "251 b"], ["999 no"]])
    func malformedRepliesAreTransientProtocolFailures(_ lines: [String]) {
        #expect(throws: DeliveryFailure.self) { try feed(lines) }
        do {
            _ = try feed(lines)
        } catch {
            #expect(error.kind == .transient)
            #expect(error.errorClass == "smtp_protocol")
        }
    }

    @Test func endlessRepliesAreCutOff() {
        var parser = SMTPReplyParser()
        var failure: DeliveryFailure?
        for _ in 0..<(SMTPReplyParser.maximumLineCount + 5) {
            do {
                _ = try parser.consume(Array("250-more".utf8))
            } catch {
                failure = error
                break
            }
        }
        #expect(failure?.errorClass == "smtp_protocol")
    }
}
