import Testing

@testable import Delivery

/// The DATA writer: dot-stuffing, CRLF everywhere, and the terminating dot.
struct SMTPDataTransparencyTests {
    private func encode(_ text: String) -> String {
        String(decoding: SMTPDataTransparency.encode(Array(text.utf8)), as: UTF8.self)
    }

    @Test func linesStartingWithADotGetASecondOne() {
        #expect(encode(".hidden\r\nplain\r\n..two\r\n.") == "..hidden\r\nplain\r\n...two\r\n..\r\n.\r\n")
    }

    @Test func dotsInsideALineAreLeftAlone() {
        #expect(encode("a.b\r\nend.\r\n") == "a.b\r\nend.\r\n.\r\n")
    }

    @Test func bareLineFeedsAndCarriageReturnsBecomeCRLF() {
        #expect(encode("one\ntwo\rthree\r\n\nfive") == "one\r\ntwo\r\nthree\r\n\r\nfive\r\n.\r\n")
    }

    @Test func aSmuggledEndOfDataIsStuffed() {
        // A lone "." after a bare LF would end the message early on some servers.
        #expect(encode("text\n.\nMAIL FROM:<x@y>\r\n") == "text\r\n..\r\nMAIL FROM:<x@y>\r\n.\r\n")
    }

    @Test func emptyMessageIsJustTheTerminator() {
        #expect(encode("") == ".\r\n")
    }
}
