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

    /// A refusal of RCPT TO. A permanent one is the recipient's only when its RFC 3463
    /// code names the destination (`recipientStatusCodes`) or, without an enhanced code,
    /// when it is 551 (user not local). Anything else may be the sending account's: a
    /// server that delays its checks refuses a bad sender at RCPT (`553 5.1.8`), a bare
    /// 550 is as often "relaying denied" as "no such user", and `5.7.x` is policy; another
    /// provider may take those.
    static func failure(forRecipient reply: SMTPReply) -> DeliveryFailure {
        var failure = failure(for: reply)
        guard failure.kind == .permanent else { return failure }
        if let enhanced = reply.enhancedStatusCode {
            failure.concernsRecipient = recipientStatusCodes.contains(String(enhanced.dropFirst(2)))
        } else {
            failure.concernsRecipient = reply.code == 551
        }
        return failure
    }

    /// RFC 3463 details (after the class digit) about the destination: bad mailbox (1.1),
    /// bad system (1.2), bad address syntax (1.3), mailbox moved (1.6), no mail accepted
    /// by the domain (1.10, RFC 7505), mailbox disabled (2.1) or full (2.2).
    static let recipientStatusCodes: Set<String> = ["1.1", "1.2", "1.3", "1.6", "1.10", "2.1", "2.2"]

    private static func base64(_ text: String) -> String {
        Data(text.utf8).base64EncodedString()
    }
}
