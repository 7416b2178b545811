import Foundation
import ReminderCore

/// The client's side of one SMTP conversation (RFC 5321) as a value: each server reply
/// goes in, the next thing to do comes out. No I/O happens here, so every path —
/// STARTTLS, AUTH, refusals at any step — is tested without a server; `SMTPClientHandler`
/// performs the actions.
///
/// Whatever happens after the greeting, the conversation ends with QUIT, and the outcome
/// decided before it stands whatever QUIT gets as answer.
struct SMTPSession: Sendable {
    enum Action: Equatable, Sendable {
        /// Write this command line (the writer adds CRLF). Never log it: it holds an
        /// address or credentials.
        case send(String)
        /// Put TLS at the front of the connection, then write this command (the EHLO that
        /// opens the encrypted session).
        case startTLS(thenSend: String)
        /// Write the message, dot-stuffed and terminated.
        case sendData([UInt8])
        /// The send's outcome is known: report it and close the connection.
        case finish(Result<DeliveryReceipt, DeliveryFailure>)
    }

    private enum AuthStep: Equatable, Sendable {
        case plain, loginUsername, loginPassword, loginSent
    }

    private enum State: Equatable, Sendable {
        case awaitingGreeting
        case awaitingEHLO(afterTLS: Bool)
        case awaitingHELO
        case awaitingStartTLS
        case awaitingAuth(AuthStep)
        case awaitingMailFrom
        case awaitingRcptTo
        case awaitingDataGo
        case awaitingDataAccepted
        case awaitingQuit(Result<DeliveryReceipt, DeliveryFailure>)
        case finished(Result<DeliveryReceipt, DeliveryFailure>)
    }

    private let heloName: String
    private let startTLSMode: SMTPStartTLSMode
    private let credentials: SMTPCredentials?
    private let message: SMTPMessage
    private var state = State.awaitingGreeting
    private var capabilities = SMTPCapabilities.none
    private var tlsActive = false

    init(heloName: String, startTLS: SMTPStartTLSMode, credentials: SMTPCredentials?, message: SMTPMessage) {
        self.heloName = heloName
        self.startTLSMode = startTLS
        self.credentials = credentials
        self.message = message
    }

    /// The outcome when the connection ends now: the one already decided (the server may
    /// close before answering QUIT), or nil when the send was still under way and the
    /// cause of the end is the outcome.
    var decidedOutcome: Result<DeliveryReceipt, DeliveryFailure>? {
        switch state {
        case .awaitingQuit(let outcome), .finished(let outcome): outcome
        default: nil
        }
    }

    /// Marks the conversation over with `outcome` unless one was decided already, and
    /// returns the outcome that stands.
    mutating func end(with outcome: Result<DeliveryReceipt, DeliveryFailure>) -> Result<
        DeliveryReceipt, DeliveryFailure
    > {
        let standing = decidedOutcome ?? outcome
        state = .finished(standing)
        return standing
    }

    mutating func receive(_ reply: SMTPReply) -> Action {
        switch state {
        case .awaitingGreeting:
            guard reply.code == 220 else { return quit(Self.failure(for: reply)) }
            return hello()

        case .awaitingEHLO(let afterTLS):
            if reply.isPositiveCompletion {
                capabilities = SMTPCapabilities(ehlo: reply)
                return afterHello()
            }
            // A server from before ESMTP: HELO, with no extensions.
            if !afterTLS && [500, 502, 504].contains(reply.code) {
                state = .awaitingHELO
                return .send("HELO \(heloName)")
            }
            return quit(Self.failure(for: reply))

        case .awaitingHELO:
            guard reply.isPositiveCompletion else { return quit(Self.failure(for: reply)) }
            capabilities = .none
            return afterHello()

        case .awaitingStartTLS:
            if reply.code == 220 {
                tlsActive = true
                state = .awaitingEHLO(afterTLS: true)
                return .startTLS(thenSend: "EHLO \(heloName)")
            }
            if startTLSMode == .required {
                return quit(.transient("starttls_unavailable", "STARTTLS refused: \(reply.summary)"))
            }
            return authenticate()

        case .awaitingAuth(let step):
            return continueAuthentication(step, reply)

        case .awaitingMailFrom:
            guard reply.isPositiveCompletion else { return quit(Self.failure(for: reply)) }
            state = .awaitingRcptTo
            return .send("RCPT TO:<\(message.recipient)>")

        case .awaitingRcptTo:
            guard reply.isPositiveCompletion else { return quit(Self.failure(forRecipient: reply)) }
            state = .awaitingDataGo
            return .send("DATA")

        case .awaitingDataGo:
            guard reply.code == 354 else { return quit(Self.failure(for: reply)) }
            state = .awaitingDataAccepted
            return .sendData(SMTPDataTransparency.encode(message.bytes))

        case .awaitingDataAccepted:
            guard reply.isPositiveCompletion else { return quit(Self.failure(for: reply)) }
            return quit(.success(DeliveryReceipt(answer: reply.summary, providerMessageID: message.messageID)))

        case .awaitingQuit(let outcome):
            state = .finished(outcome)
            return .finish(outcome)

        case .finished(let outcome):
            return .finish(outcome)
        }
    }

    private mutating func hello() -> Action {
        state = .awaitingEHLO(afterTLS: false)
        return .send("EHLO \(heloName)")
    }

    private mutating func afterHello() -> Action {
        if !tlsActive && startTLSMode != .off && capabilities.startTLS {
            state = .awaitingStartTLS
            return .send("STARTTLS")
        }
        if !tlsActive && startTLSMode == .required {
            return quit(.transient("starttls_unavailable", "the server does not offer STARTTLS"))
        }
        return authenticate()
    }

    /// PLAIN when offered (one round trip), else LOGIN. A server that offers neither is a
    /// configuration problem: transient, so reminders wait for the operator.
    private mutating func authenticate() -> Action {
        guard let credentials else { return mailFrom() }
        if capabilities.authMechanisms.contains("PLAIN") {
            state = .awaitingAuth(.plain)
            let response = Self.base64("\0\(credentials.username)\0\(credentials.password)")
            return .send("AUTH PLAIN \(response)")
        }
        if capabilities.authMechanisms.contains("LOGIN") {
            state = .awaitingAuth(.loginUsername)
            return .send("AUTH LOGIN")
        }
        let reason =
            capabilities.authMechanisms.isEmpty
            ? "the server does not offer AUTH" : "the server offers neither AUTH PLAIN nor AUTH LOGIN"
        return quit(.transient("smtp_auth", reason))
    }

    /// A refused login is the operator's to fix (a mistyped password), not the
    /// recipient's: transient `smtp_auth`, never a dead letter.
    private mutating func continueAuthentication(_ step: AuthStep, _ reply: SMTPReply) -> Action {
        if reply.isPositiveCompletion { return mailFrom() }
        guard reply.code == 334, let credentials else {
            return quit(.transient("smtp_auth", reply.summary))
        }
        switch step {
        case .loginUsername:
            state = .awaitingAuth(.loginPassword)
            return .send(Self.base64(credentials.username))
        case .loginPassword:
            state = .awaitingAuth(.loginSent)
            return .send(Self.base64(credentials.password))
        case .plain, .loginSent:
            // A challenge where none is due: cancel the exchange (RFC 4954 §4).
            state = .awaitingQuit(.failure(.transient("smtp_auth", "unexpected AUTH challenge")))
            return .send("*")
        }
    }

    private mutating func mailFrom() -> Action {
        var command = "MAIL FROM:<\(message.sender)>"
        if message.requiresSMTPUTF8 {
            guard capabilities.smtpUTF8 else {
                return quit(
                    .permanent("smtputf8_unsupported", "the address is not ASCII and the server lacks SMTPUTF8"))
            }
            command += " SMTPUTF8"
        }
        state = .awaitingMailFrom
        return .send(command)
    }

    private mutating func quit(_ outcome: Result<DeliveryReceipt, DeliveryFailure>) -> Action {
        state = .awaitingQuit(outcome)
        return .send("QUIT")
    }

    private mutating func quit(_ failure: DeliveryFailure) -> Action {
        quit(.failure(failure))
    }

    /// 4xx may work later, 5xx will not; anything else answers a command it does not
    /// belong to. The answer holds the codes only: the free text may echo the address.
    static func failure(for reply: SMTPReply) -> DeliveryFailure {
        switch reply.code {
        case 400..<500: .transient("smtp_\(reply.code)", reply.summary)
        case 500..<600: .permanent("smtp_\(reply.code)", reply.summary)
        default: .transient("smtp_protocol", "unexpected reply \(reply.summary)")
        }
    }

    /// A refusal of RCPT TO. A permanent one is the recipient's when it names an address
    /// or mailbox status (RFC 3463 `5.1.x`, `5.2.x`: unknown, moved, disabled, full) or,
    /// without an enhanced code, is 550, 551 or 553 (RFC 5321: mailbox unavailable, not
    /// local, name not allowed). A policy refusal (`5.7.x`: relaying denied, the sender
    /// not authorised) is the sending account's, and another provider may take the send.
    static func failure(forRecipient reply: SMTPReply) -> DeliveryFailure {
        var failure = failure(for: reply)
        guard failure.kind == .permanent else { return failure }
        if let enhanced = reply.enhancedStatusCode {
            let subject = enhanced.split(separator: ".")[1]
            failure.concernsRecipient = subject == "1" || subject == "2"
        } else {
            failure.concernsRecipient = [550, 551, 553].contains(reply.code)
        }
        return failure
    }

    private static func base64(_ text: String) -> String {
        Data(text.utf8).base64EncodedString()
    }
}
