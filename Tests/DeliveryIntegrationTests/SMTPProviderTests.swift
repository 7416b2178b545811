import Foundation
import ReminderCore
import TestSupport
import Testing

@testable import Delivery

/// The provider against a real SMTP server on loopback (aiosmtpd, scripts/smtp_sink.py):
/// what arrives, how it authenticates and upgrades to TLS, and how refusals and
/// unreachable servers are classified.
@Suite(.timeLimit(.minutes(6)))
struct SMTPProviderTests {
    static let sender = SMTPMailbox(address: "reminders@example.test", displayName: "Rappels Médicaux ⏰")
    static let subject = "Rendez-vous chez le médecin — n'oubliez pas la carte vitale 🏥, 会議は午後三時から、遅れないでください"
    static let body =
        ".starts with a dot\r\n..two dots\r\nGrüße, 你好 👋\n.\nbare LF line above was a lone dot\r\n"
        + String(repeating: "a very long line without any break ", count: 40)

    /// Limits that only end a send to a sink that has stopped: with the whole suite
    /// running on two cores, a connection to a sink that was up timed out after 5 s once
    /// (as calls to the other Python peers did after 10 s, `LoopbackPeerClient`).
    static func configuration(
        port: Int, host: String = "127.0.0.1", startTLS: SMTPStartTLSMode = .off, trustRootsPath: String? = nil,
        credentials: SMTPCredentials? = nil, sendTimeout: Duration = .seconds(90), maxConnections: Int = 32
    ) -> SMTPConfiguration {
        SMTPConfiguration(
            host: host, port: port, from: sender, heloName: "client.test", startTLS: startTLS,
            trustRootsPath: trustRootsPath, credentials: credentials, connectTimeout: .seconds(60),
            sendTimeout: sendTimeout, maxConnections: maxConnections)
    }

    static func request(
        reminderID: String = "rem-\(UUID().uuidString)", to: String = "patient@example.test",
        title: String = subject, body: String = body, html: String? = nil, unsubscribeURL: String? = nil
    ) -> DeliveryRequest {
        DeliveryRequest(
            reminderID: reminderID, userID: "user-1", correlationID: nil, channel: .email(to: to),
            content: Content(title: title, body: body, data: nil, html: html, unsubscribeURL: unsubscribeURL),
            attempt: 1, dueAt: Instant(secondsSinceEpoch: 1_700_000_000))
    }

    static func provider(_ configuration: SMTPConfiguration) throws -> SMTPProvider {
        try SMTPProvider(configuration: configuration, now: { Instant(secondsSinceEpoch: 1_700_000_000) })
    }

    /// The failure a send ends with, or nil when it succeeded.
    static func failure(_ provider: SMTPProvider, _ request: DeliveryRequest) async -> DeliveryFailure? {
        do {
            _ = try await provider.send(request)
            return nil
        } catch {
            return error
        }
    }

    @Test func messageArrivesWithItsEnvelopeHeadersAndExactBody() async throws {
        let sink = try await SMTPSink()
        try #require(sink.port > 0)
        let request = Self.request()
        let receipt = try await Self.provider(Self.configuration(port: sink.port)).send(request)

        let expectedID = SMTPMessageID.make(
            reminderID: request.reminderID, domain: "example.test", fallbackDomain: "client.test")
        #expect(receipt == DeliveryReceipt(answer: "250 2.0.0", providerMessageID: expectedID))
        let received = try sink.received()
        try #require(received.count == 1)
        let message = received[0]
        #expect(message.mailFrom == "reminders@example.test")
        #expect(message.recipients == ["patient@example.test"])
        #expect(!message.mailOptions.contains("SMTPUTF8"))
        // Python's email package decodes the headers on its own.
        #expect(message.headers["Subject"] == Self.subject)
        #expect(message.headers["To"] == "patient@example.test")
        #expect(message.headers["Message-ID"] == expectedID)
        #expect(message.headers["Date"] == "Tue, 14 Nov 2023 22:13:20 +0000")
        #expect(message.headers["X-Reminder-ID"] == nil)
        #expect(message.fromDisplayName == "Rappels Médicaux ⏰")
        #expect(message.fromAddress == "reminders@example.test")
        #expect(message.bodyBytes == Array(Self.body.utf8))
        // On the wire: 7-bit headers, encoded-words of at most 75 characters, short lines.
        let lines = message.rawHeaderLines
        #expect(lines.allSatisfy { line in line.utf8.allSatisfy { $0 < 0x80 } })
        #expect(lines.allSatisfy { $0.count <= 78 })
        let subjectStart = try #require(lines.firstIndex { $0.hasPrefix("Subject: ") })
        let subjectLines = [lines[subjectStart]] + lines[(subjectStart + 1)...].prefix { $0.hasPrefix(" ") }
        #expect(subjectLines.count > 2)
        let words = subjectLines.joined().dropFirst("Subject: ".count).split(separator: " ")
        #expect(words.allSatisfy { $0.hasPrefix("=?UTF-8?B?") && $0.hasSuffix("?=") && $0.count <= 75 })
    }

    /// Python's email package parses what arrived: two alternatives, text first, each
    /// decoding to exactly what was sent, and no defect found in the structure.
    @Test func htmlArrivesAsMultipartAlternativeWithTheUnsubscribeHeaders() async throws {
        let sink = try await SMTPSink()
        try #require(sink.port > 0)
        let html =
            "<!doctype html>\r\n<p>Grüße, 你好 👋</p>\n<p>.starts with a dot</p>\n"
            + String(repeating: "<span>no line break for a long while</span>", count: 60)
        let url = "https://example.com/unsubscribe?u=42&t=abc"
        _ = try await Self.provider(Self.configuration(port: sink.port)).send(
            Self.request(html: html, unsubscribeURL: url))
        let received = try sink.received()
        try #require(received.count == 1)
        let message = received[0]
        #expect(message.defects.isEmpty)
        #expect(message.contentType == "multipart/alternative")
        #expect(message.parts.map(\.contentType) == ["text/plain", "text/html"])
        #expect(message.parts.map(\.charset) == ["utf-8", "utf-8"])
        #expect(message.parts.map(\.text) == [Self.body, html])
        #expect(message.headers["List-Unsubscribe"] == "<\(url)>")
        #expect(message.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click")
        #expect(message.headers["Subject"] == Self.subject)
        let lines = String(decoding: message.rawBytes, as: UTF8.self).components(separatedBy: "\r\n")
        #expect(lines.allSatisfy { $0.utf8.count <= 998 })
    }

    @Test func aPlainReminderArrivesAsOneTextPartWithoutUnsubscribeHeaders() async throws {
        let sink = try await SMTPSink()
        try #require(sink.port > 0)
        let url = "mailto:unsubscribe@example.com?subject=stop"
        _ = try await Self.provider(Self.configuration(port: sink.port)).send(Self.request(unsubscribeURL: url))
        _ = try await Self.provider(Self.configuration(port: sink.port)).send(Self.request())
        let received = try sink.received()
        try #require(received.count == 2)
        for message in received {
            #expect(message.defects.isEmpty)
            #expect(message.contentType == "text/plain")
            #expect(message.parts.map(\.text) == [Self.body])
            #expect(message.headers["List-Unsubscribe-Post"] == nil)
        }
        #expect(received[0].headers["List-Unsubscribe"] == "<\(url)>")
        #expect(received[1].headers["List-Unsubscribe"] == nil)
    }

    @Test func aRepeatedSendCarriesTheSameMessageID() async throws {
        let sink = try await SMTPSink()
        try #require(sink.port > 0)
        let provider = try Self.provider(Self.configuration(port: sink.port))
        let request = Self.request(reminderID: "rem-repeated")
        let first = try await provider.send(request)
        let second = try await provider.send(request)
        #expect(first.providerMessageID == second.providerMessageID)
        let received = try sink.received()
        try #require(received.count == 2)
        #expect(received[0].headers["Message-ID"] == received[1].headers["Message-ID"])
        #expect(received[0].headers["Message-ID"] == first.providerMessageID)
    }

    @Test func authenticatesWithPlainWhenTheServerRequiresIt() async throws {
        let sink = try await SMTPSink(["--auth", "mailer:s3cret"])
        try #require(sink.port > 0)
        let credentials = SMTPCredentials(username: "mailer", password: "s3cret")
        _ = try await Self.provider(Self.configuration(port: sink.port, credentials: credentials)).send(Self.request())
        let received = try sink.received()
        try #require(received.count == 1)
        #expect(received[0].auth == ["mechanism": "PLAIN", "login": "mailer"])
    }

    @Test func authenticatesWithLoginWhenPlainIsNotOffered() async throws {
        let sink = try await SMTPSink(["--auth", "mailer:s3cret", "--auth-exclude", "PLAIN"])
        try #require(sink.port > 0)
        let credentials = SMTPCredentials(username: "mailer", password: "s3cret")
        _ = try await Self.provider(Self.configuration(port: sink.port, credentials: credentials)).send(Self.request())
        let received = try sink.received()
        try #require(received.count == 1)
        #expect(received[0].auth == ["mechanism": "LOGIN", "login": "mailer"])
    }

    @Test func wrongPasswordIsTransientSoTheReminderWaitsForTheOperator() async throws {
        let sink = try await SMTPSink(["--auth", "mailer:s3cret"])
        try #require(sink.port > 0)
        let credentials = SMTPCredentials(username: "mailer", password: "typo")
        let provider = try Self.provider(Self.configuration(port: sink.port, credentials: credentials))
        let failure = await Self.failure(provider, Self.request())
        #expect(failure?.kind == .transient)
        #expect(failure?.errorClass == "smtp_auth")
        #expect(failure?.answer.hasPrefix("535") == true)
        #expect(try sink.received().isEmpty)
    }

    /// By name (SNI and the certificate's DNS name) and by address (its IP address).
    @Test(arguments: ["localhost", "127.0.0.1"])
    func upgradesWithStartTLSTrustingTheConfiguredCertificate(host: String) async throws {
        let certificate = try await TestCertificate.made()
        let sink = try await SMTPSink([
            "--tls-cert", certificate.certificateFile, "--tls-key", certificate.keyFile, "--require-starttls",
            "--auth", "mailer:s3cret",
        ])
        try #require(sink.port > 0)
        let configuration = Self.configuration(
            port: sink.port, host: host, startTLS: .required, trustRootsPath: certificate.certificateFile,
            credentials: SMTPCredentials(username: "mailer", password: "s3cret"))
        let receipt = try await Self.provider(configuration).send(Self.request())
        #expect(receipt.answer == "250 2.0.0")
        let received = try sink.received()
        try #require(received.count == 1)
        #expect(received[0].tls)
        #expect(received[0].auth?["mechanism"] == "PLAIN")
        #expect(received[0].bodyBytes == Array(Self.body.utf8))
    }

    @Test func repliesPipelinedInClearBehindTheStartTLSGoAheadAreRefused() async throws {
        let server = try await SMTPInjectingServer()
        let configuration = Self.configuration(
            port: server.port, startTLS: .required, trustRootsPath: TestCertificate.shared.certificateFile)
        let failure = await Self.failure(try Self.provider(configuration), Self.request())
        try await server.close()
        #expect(failure == .transient("smtp_protocol", "data pipelined behind the STARTTLS reply"))
    }

    @Test func untrustedCertificateIsTransientTLS() async throws {
        let certificate = try await TestCertificate.made()
        let sink = try await SMTPSink(["--tls-cert", certificate.certificateFile, "--tls-key", certificate.keyFile])
        try #require(sink.port > 0)
        // The system's trust store does not know the test's self-signed certificate.
        let provider = try Self.provider(Self.configuration(port: sink.port, host: "localhost", startTLS: .required))
        let failure = await Self.failure(provider, Self.request())
        #expect(failure?.kind == .transient)
        #expect(failure?.errorClass == "tls")
        #expect(try sink.received().isEmpty)
    }

    @Test func requiredStartTLSThatIsNotOfferedSendsNothing() async throws {
        let sink = try await SMTPSink()
        try #require(sink.port > 0)
        let certificate = try await TestCertificate.made()
        let configuration = Self.configuration(
            port: sink.port, startTLS: .required, trustRootsPath: certificate.certificateFile)
        let failure = await Self.failure(try Self.provider(configuration), Self.request())
        #expect(failure == .transient("starttls_unavailable", "the server does not offer STARTTLS"))
        #expect(try sink.received().isEmpty)
    }

    @Test(arguments: [
        (451, "RCPT", DeliveryFailure.Kind.transient, "451 4.1.1"), (550, "RCPT", .permanent, "550 5.1.1"),
        (452, "DATA", .transient, "452 4.3.0"), (554, "DATA", .permanent, "554 5.3.0"),
    ])
    func refusalIsClassifiedByItsCodeWithoutTheServersText(
        code: Int, step: String, kind: DeliveryFailure.Kind, answer: String
    ) async throws {
        let sink = try await SMTPSink(["--reply-code", "\(code)", "--reply-at", step])
        try #require(sink.port > 0)
        let failure = await Self.failure(try Self.provider(Self.configuration(port: sink.port)), Self.request())
        // Only an unknown mailbox at RCPT is the recipient's (no other provider is asked).
        #expect(
            failure
                == DeliveryFailure(
                    kind, errorClass: "smtp_\(code)", answer: answer, concernsRecipient: answer == "550 5.1.1"))
        #expect(try sink.received().isEmpty)
    }

    @Test func nonASCIIRecipientIsSentWithSMTPUTF8() async throws {
        let sink = try await SMTPSink()
        try #require(sink.port > 0)
        _ = try await Self.provider(Self.configuration(port: sink.port)).send(Self.request(to: "jörg@bücher.test"))
        let received = try sink.received()
        try #require(received.count == 1)
        #expect(received[0].mailOptions.contains("SMTPUTF8"))
        #expect(received[0].recipients == ["jörg@bücher.test"])
        #expect(received[0].headers["To"] == "jörg@bücher.test")
    }

    @Test func nonASCIIRecipientWithoutSMTPUTF8IsPermanent() async throws {
        let sink = try await SMTPSink(["--no-smtputf8"])
        try #require(sink.port > 0)
        let failure = await Self.failure(
            try Self.provider(Self.configuration(port: sink.port)), Self.request(to: "jörg@bücher.test"))
        #expect(failure?.kind == .permanent)
        #expect(failure?.errorClass == "smtputf8_unsupported")
        #expect(try sink.received().isEmpty)
    }

    /// Sends them all at once and waits for every one; the receipts' count.
    static func sendAll(_ provider: SMTPProvider, _ count: Int) async throws -> Int {
        try await withThrowingTaskGroup(of: DeliveryReceipt.self) { group in
            for _ in 0..<count { group.addTask { try await provider.send(Self.request(title: "Slot")) } }
            return try await group.reduce(0) { sent, _ in sent + 1 }
        }
    }

    @Test func sendsBeyondMaxConnectionsWaitForOneOfThem() async throws {
        let sink = try await SMTPSink(["--data-delay-ms", "300"])
        try #require(sink.port > 0)
        let provider = try Self.provider(Self.configuration(port: sink.port, maxConnections: 3))
        let sending = Task { try await Self.sendAll(provider, 12) }
        // While the relay holds the first three, the rest wait (what /metrics shows).
        let deadline = ContinuousClock.now + .seconds(30)
        while provider.connectionUse?.waiting == 0 || provider.connectionUse?.inUse != 3,
            ContinuousClock.now < deadline
        {
            try await Task.sleep(for: .milliseconds(5))
        }
        #expect(provider.connectionUse?.inUse == 3)
        #expect((provider.connectionUse?.waiting ?? 0) > 0)
        #expect(try await sending.value == 12)
        #expect(provider.connectionUse == ConnectionSlots.Use(inUse: 0, waiting: 0))
        let received = try sink.received()
        #expect(received.count == 12)
        // Never more than three at the relay, and the three were used.
        #expect(received.map(\.connectionsOpen).max() == 3)
    }

    @Test func theWaitForAConnectionIsNotPartOfTheSendTimeout() async throws {
        // One connection to a server that never answers, a send timeout of two seconds,
        // two sends: the second waits for the first to time out and then has its own two
        // seconds. Were the wait counted, its time would be up when it got the
        // connection, and both would end together. (Only lower bounds: a loaded machine
        // makes the sends later, never sooner.)
        let server = try await SMTPSilentServer()
        let provider = try Self.provider(
            Self.configuration(port: server.port, sendTimeout: .seconds(2), maxConnections: 1))
        let ends = try await withThrowingTaskGroup(of: (DeliveryFailure?, ContinuousClock.Instant).self) { group in
            for _ in 0..<2 {
                group.addTask { (await Self.failure(provider, Self.request()), ContinuousClock.now) }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        // The second connection is made when the kernel completes it; the server's count
        // follows when its accept loop gets to it, which a loaded machine can put after
        // both sends have ended.
        try await eventually(.seconds(10), "the server to count both connections") { server.connections == 2 }
        try await server.close()
        #expect(ends.map { $0.0?.errorClass } == ["timeout", "timeout"])
        let times = ends.map(\.1).sorted()
        #expect(times[1] - times[0] >= .seconds(1))
        #expect(server.connections == 2)
    }

    @Test func closedPortIsTransientConnection() async throws {
        let closed = try ReservedPort()
        let failure = await Self.failure(try Self.provider(Self.configuration(port: closed.port)), Self.request())
        withExtendedLifetime(closed) {}
        #expect(failure?.kind == .transient)
        #expect(failure?.errorClass == "connection")
        #expect(failure?.answer.hasSuffix("connection refused") == true)
    }

    @Test func silentServerIsTransientTimeoutWithinTheSendTimeout() async throws {
        let server = try await SMTPSilentServer()
        let provider = try Self.provider(Self.configuration(port: server.port, sendTimeout: .seconds(1)))
        let started = ContinuousClock.now
        let failure = await Self.failure(provider, Self.request())
        let elapsed = ContinuousClock.now - started
        try await server.close()
        #expect(failure?.kind == .transient)
        #expect(failure?.errorClass == "timeout")
        #expect(elapsed >= .milliseconds(900))
        #expect(elapsed < .seconds(5))
        #expect(server.connections == 1)
    }

    @Test(arguments: [
        SMTPProviderTests.request(title: "Hello\r\nBcc: victim@example.test"),
        SMTPProviderTests.request(title: "Hello\nworld"),
        SMTPProviderTests.request(to: "patient@example.test\r\nRCPT TO:<victim@example.test>"),
    ])
    func headerInjectionIsPermanentAndNeverConnects(_ request: DeliveryRequest) async throws {
        let server = try await SMTPSilentServer()
        let failure = await Self.failure(try Self.provider(Self.configuration(port: server.port)), request)
        try await server.close()
        #expect(failure?.kind == .permanent)
        #expect(failure?.errorClass == "invalid_header")
        #expect(server.connections == 0)
    }

    @Test func nonEmailChannelIsAnInvalidRequest() async throws {
        var request = Self.request()
        request.channel = .sms(to: "+33600000000")
        let failure = await Self.failure(try Self.provider(Self.configuration(port: 25)), request)
        #expect(failure?.errorClass == "invalid_request")
        #expect(failure?.kind == .permanent)
    }
}
