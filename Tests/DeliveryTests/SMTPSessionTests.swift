import Foundation
import ReminderCore
import Testing

@testable import Delivery

/// The SMTP conversation as a state machine, reply by reply, without a server.
struct SMTPSessionTests {
    typealias Action = SMTPSession.Action

    static func session(
        startTLS: SMTPStartTLSMode = .off, credentials: SMTPCredentials? = nil, to: String = "user@example.test"
    ) throws -> SMTPSession {
        SMTPSession(
            heloName: "client.test", startTLS: startTLS, credentials: credentials,
            message: try SMTPMessageTests.message(to: to))
    }

    static func reply(_ code: Int, _ lines: String...) -> SMTPReply {
        SMTPReply(code: code, lines: lines.isEmpty ? [""] : lines)
    }

    static let ehlo = reply(250, "mx.test", "STARTTLS", "AUTH LOGIN PLAIN", "SMTPUTF8")
    static let ehloWithoutExtensions = reply(250, "mx.test")

    /// Runs the conversation up to and including MAIL FROM.
    private func greetAndHello(_ session: inout SMTPSession, ehlo: SMTPReply = ehlo) {
        #expect(session.receive(Self.reply(220, "mx.test ESMTP")) == .send("EHLO client.test"))
        _ = session.receive(ehlo)
    }

    @Test func plainConversationDeliversAndQuits() throws {
        var session = try Self.session()
        let message = try SMTPMessageTests.message()
        #expect(session.receive(Self.reply(220)) == .send("EHLO client.test"))
        #expect(session.receive(Self.ehlo) == .send("MAIL FROM:<reminders@example.test>"))
        #expect(session.receive(Self.reply(250, "2.1.0 Ok")) == .send("RCPT TO:<user@example.test>"))
        #expect(session.receive(Self.reply(250, "2.1.5 Ok")) == .send("DATA"))
        #expect(session.receive(Self.reply(354, "go ahead")) == .sendData(SMTPDataTransparency.encode(message.bytes)))
        #expect(session.receive(Self.reply(250, "2.0.0 Ok: queued as ABC")) == .send("QUIT"))
        let receipt = DeliveryReceipt(answer: "250 2.0.0", providerMessageID: message.messageID)
        // Whatever QUIT gets, the message was accepted.
        #expect(session.receive(Self.reply(500, "whatever")) == .finish(.success(receipt)))
    }

    @Test func acceptanceStandsWhenTheServerClosesBeforeAnsweringQuit() throws {
        var session = try Self.session()
        greetAndHello(&session)
        _ = session.receive(Self.reply(250))
        _ = session.receive(Self.reply(250))
        _ = session.receive(Self.reply(354))
        _ = session.receive(Self.reply(250, "2.0.0 queued"))
        let outcome = session.end(with: .failure(.transient("connection", "closed")))
        #expect(try outcome.get().answer == "250 2.0.0")
    }

    @Test func connectionLostBeforeAcceptanceIsTheCauseOfTheEnd() throws {
        var session = try Self.session()
        greetAndHello(&session)
        #expect(session.decidedOutcome == nil)
        let lost = DeliveryFailure.transient("connection", "reset")
        #expect(session.end(with: .failure(lost)) == .failure(lost))
    }

    @Test func startTLSThenEHLOAgainThenPlainAuthentication() throws {
        let credentials = SMTPCredentials(username: "user", password: "pässword")
        var session = try Self.session(startTLS: .required, credentials: credentials)
        greetAndHello(&session)
        #expect(session.receive(Self.reply(220, "2.0.0 ready")) == .startTLS(thenSend: "EHLO client.test"))
        let expected = Data("\0user\0pässword".utf8).base64EncodedString()
        #expect(session.receive(Self.ehlo) == .send("AUTH PLAIN \(expected)"))
        #expect(session.receive(Self.reply(235, "2.7.0 ok")) == .send("MAIL FROM:<reminders@example.test>"))
    }

    @Test func startTLSIsSentOnlyOnceEvenIfOfferedAgain() throws {
        var session = try Self.session(startTLS: .opportunistic)
        greetAndHello(&session)
        _ = session.receive(Self.reply(220))
        #expect(session.receive(Self.ehlo) == .send("MAIL FROM:<reminders@example.test>"))
    }

    @Test func loginIsUsedWhenPlainIsNotOffered() throws {
        var session = try Self.session(credentials: SMTPCredentials(username: "u", password: "p"))
        greetAndHello(&session, ehlo: Self.reply(250, "mx.test", "AUTH LOGIN"))
        #expect(session.receive(Self.reply(334, "VXNlcm5hbWU6")) == .send("dQ=="))
        #expect(session.receive(Self.reply(334, "UGFzc3dvcmQ6")) == .send("cA=="))
        #expect(session.receive(Self.reply(235)) == .send("MAIL FROM:<reminders@example.test>"))
    }

    @Test func theFirstLoginStepIsTheAuthCommand() throws {
        var session = try Self.session(credentials: SMTPCredentials(username: "u", password: "p"))
        #expect(session.receive(Self.reply(220)) == .send("EHLO client.test"))
        #expect(session.receive(Self.reply(250, "mx.test", "AUTH LOGIN")) == .send("AUTH LOGIN"))
    }

    @Test func refusedAuthenticationIsTransientSMTPAuth() throws {
        var session = try Self.session(credentials: SMTPCredentials(username: "u", password: "wrong"))
        greetAndHello(&session)
        #expect(session.receive(Self.reply(535, "5.7.8 Authentication credentials invalid")) == .send("QUIT"))
        #expect(
            session.receive(Self.reply(221)) == .finish(.failure(.transient("smtp_auth", "535 5.7.8"))))
    }

    @Test func credentialsWithoutAuthOfferedAreTransientSMTPAuth() throws {
        var session = try Self.session(credentials: SMTPCredentials(username: "u", password: "p"))
        greetAndHello(&session, ehlo: Self.ehloWithoutExtensions)
        #expect(session.decidedOutcome == .failure(.transient("smtp_auth", "the server does not offer AUTH")))
    }

    @Test func requiredStartTLSNotOfferedIsTransientAndSendsNothing() throws {
        var session = try Self.session(startTLS: .required)
        #expect(session.receive(Self.reply(220)) == .send("EHLO client.test"))
        #expect(session.receive(Self.ehloWithoutExtensions) == .send("QUIT"))
        #expect(session.decidedOutcome?.failureClass == "starttls_unavailable")
    }

    @Test func opportunisticStartTLSNotOfferedGoesOnInPlainText() throws {
        var session = try Self.session(startTLS: .opportunistic)
        #expect(session.receive(Self.reply(220)) == .send("EHLO client.test"))
        #expect(session.receive(Self.ehloWithoutExtensions) == .send("MAIL FROM:<reminders@example.test>"))
    }

    @Test func refusedStartTLSFailsOnlyWhenRequired() throws {
        var required = try Self.session(startTLS: .required)
        greetAndHello(&required)
        #expect(required.receive(Self.reply(454, "4.7.0 TLS not available")) == .send("QUIT"))
        #expect(required.decidedOutcome == .failure(.transient("starttls_unavailable", "STARTTLS refused: 454 4.7.0")))
        var opportunistic = try Self.session(startTLS: .opportunistic)
        greetAndHello(&opportunistic)
        #expect(opportunistic.receive(Self.reply(454)) == .send("MAIL FROM:<reminders@example.test>"))
    }

    @Test func serverWithoutEHLOIsGreetedWithHELO() throws {
        var session = try Self.session()
        #expect(session.receive(Self.reply(220)) == .send("EHLO client.test"))
        #expect(session.receive(Self.reply(502, "5.5.1 unrecognized")) == .send("HELO client.test"))
        #expect(session.receive(Self.reply(250)) == .send("MAIL FROM:<reminders@example.test>"))
    }

    @Test(arguments: [
        (451, "transient", "smtp_451"), (452, "transient", "smtp_452"), (550, "permanent", "smtp_550"),
        (553, "permanent", "smtp_553"), (354, "transient", "smtp_protocol"),
    ])
    func refusedRecipientIsClassifiedByItsCode(code: Int, kind: String, errorClass: String) throws {
        var session = try Self.session()
        greetAndHello(&session)
        _ = session.receive(Self.reply(250))
        #expect(session.receive(Self.reply(code, "\(code / 100).1.1 <user@example.test> no")) == .send("QUIT"))
        let failure = session.decidedOutcome?.failure
        #expect(failure?.kind.rawValue == kind)
        #expect(failure?.errorClass == errorClass)
        #expect(failure?.answer.contains("user@example.test") == false)
    }

    /// Whether a refused RCPT is the recipient's (no other email provider is asked) or
    /// the sending account's (another may take the send).
    @Test(arguments: [
        ("5.1.1 no such user", 550, true), ("5.2.2 mailbox full", 552, true), ("5.1.10 null MX", 556, true),
        ("not local", 551, true), ("no such user, or relaying denied", 550, false), ("bad name", 553, false),
        ("5.1.8 sender address rejected", 553, false), ("5.1.7 bad sender mailbox syntax", 550, false),
        ("5.7.1 relaying denied", 550, false), ("5.7.1 sender not authorised", 554, false),
        ("transaction failed", 554, false), ("4.2.2 mailbox full, later", 452, false),
    ])
    func aRefusedRecipientIsTheRecipientsFailureOnlyForAnAddressOrMailboxStatus(
        text: String, code: Int, recipients: Bool
    ) throws {
        var session = try Self.session()
        greetAndHello(&session)
        _ = session.receive(Self.reply(250))
        #expect(session.receive(Self.reply(code, text)) == .send("QUIT"))
        #expect(session.decidedOutcome?.failure?.concernsRecipient == recipients)
    }

    @Test func aRefusedSenderIsNeverTheRecipientsFailure() throws {
        var session = try Self.session()
        greetAndHello(&session)
        #expect(session.receive(Self.reply(550, "5.1.8 bad sender domain")) == .send("QUIT"))
        #expect(session.decidedOutcome?.failure?.kind == .permanent)
        #expect(session.decidedOutcome?.failure?.concernsRecipient == false)
    }

    @Test func nonASCIIAddressUsesSMTPUTF8WhenOffered() throws {
        var session = try Self.session(to: "jörg@example.test")
        #expect(session.receive(Self.reply(220)) == .send("EHLO client.test"))
        #expect(session.receive(Self.ehlo) == .send("MAIL FROM:<reminders@example.test> SMTPUTF8"))
        #expect(session.receive(Self.reply(250)) == .send("RCPT TO:<jörg@example.test>"))
    }

    @Test func nonASCIIAddressWithoutSMTPUTF8IsPermanent() throws {
        var session = try Self.session(to: "jörg@example.test")
        greetAndHello(&session, ehlo: Self.ehloWithoutExtensions)
        #expect(session.decidedOutcome?.failure?.kind == .permanent)
        #expect(session.decidedOutcome?.failureClass == "smtputf8_unsupported")
    }

    @Test func refusedGreetingIsClassifiedToo() throws {
        var session = try Self.session()
        #expect(session.receive(Self.reply(554, "5.3.2 no service")) == .send("QUIT"))
        #expect(session.decidedOutcome == .failure(.permanent("smtp_554", "554 5.3.2")))
    }
}

extension Result where Failure == DeliveryFailure {
    var failure: DeliveryFailure? {
        if case .failure(let failure) = self { failure } else { nil }
    }

    var failureClass: String? { failure?.errorClass }
}
