import Foundation
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import ReminderCore

/// Delivers email reminders to an SMTP submission server, speaking SMTP itself on
/// SwiftNIO: one connection per send (EHLO, STARTTLS, AUTH, MAIL, RCPT, DATA, QUIT),
/// which keeps every send independent and its failure easy to classify, and at most
/// `maxConnections` of them at once (the rest wait for a slot). A reminder with
/// `content.html` goes as `multipart/alternative` (its text body, then the HTML); one
/// with `content.unsubscribeURL` carries `List-Unsubscribe`.
///
/// The Message-ID is derived from the reminder id, so a repeated send carries the same
/// one and mail programs can recognise the duplicate. Neither the recipient, the subject
/// nor the body is ever logged or reported; failures carry reply codes only.
public struct SMTPProvider: NotificationProvider {
    public var name: String { "smtp" }

    private let configuration: SMTPConfiguration
    private let tls: SMTPClientHandler.TLS?
    private let eventLoopGroup: any EventLoopGroup
    private let connections: ConnectionSlots
    private let logger: Logger
    private let now: @Sendable () -> Instant

    /// Checks `configuration` and loads its trust roots, so that a wrong setting stops
    /// the service at start. `now` dates the messages (a fixed clock in tests).
    public init(
        configuration: SMTPConfiguration,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "notification-service.smtp"),
        now: @escaping @Sendable () -> Instant = SMTPProvider.systemNow
    ) throws(SMTPConfigurationError) {
        self.configuration = try configuration.validated()
        self.tls = configuration.startTLS == .off ? nil : try Self.makeTLS(configuration)
        self.eventLoopGroup = eventLoopGroup
        self.connections = ConnectionSlots(limit: configuration.maxConnections)
        self.logger = logger
        self.now = now
    }

    /// The connections to the relay taken and the sends waiting for one.
    public var connectionUse: ConnectionSlots.Use? { connections.use }

    /// The system's wall clock.
    public static let systemNow: @Sendable () -> Instant = {
        Instant.now
    }

    public func send(_ request: DeliveryRequest) async throws(DeliveryFailure) -> DeliveryReceipt {
        var logger = self.logger
        logger[metadataKey: "reminder_id"] = "\(request.reminderID)"
        logger[metadataKey: "attempt"] = "\(request.attempt)"
        do throws(DeliveryFailure) {
            let message = try makeMessage(request)
            guard await connections.acquire() else { throw DeliveryFailure.cancelled }
            defer { connections.release() }
            let receipt = try await exchange(message)
            logger.debug("smtp server accepted the message", metadata: ["answer": "\(receipt.answer)"])
            return receipt
        } catch {
            logger.info(
                "smtp send failed",
                metadata: [
                    "kind": "\(error.kind.rawValue)", "error_class": "\(error.errorClass)", "answer": "\(error.answer)",
                ])
            throw error
        }
    }

    private func makeMessage(_ request: DeliveryRequest) throws(DeliveryFailure) -> SMTPMessage {
        guard case .email(let recipient) = request.channel else {
            throw .permanent(
                "invalid_request", "the smtp provider sends \(request.channel.type) reminders only by email")
        }
        let messageID = SMTPMessageID.make(
            reminderID: request.idempotencyKey, domain: configuration.from.domain,
            fallbackDomain: configuration.heloName)
        return try SMTPMessage(
            from: configuration.from, to: recipient, subject: request.content.title, body: request.content.body,
            html: request.content.html, unsubscribeURL: request.content.unsubscribeURL, date: now(),
            messageID: messageID)
    }

    /// One connection, one conversation, bounded by the send timeout from the first
    /// connection attempt to the server's answer to QUIT (the wait for a slot before it
    /// is not counted).
    private func exchange(_ message: SMTPMessage) async throws(DeliveryFailure) -> DeliveryReceipt {
        let eventLoop = eventLoopGroup.next()
        let outcome = eventLoop.makePromise(of: DeliveryReceipt.self)
        let deadline = NIODeadline.now() + TimeAmount(configuration.sendTimeout)
        let session = SMTPSession(
            heloName: configuration.heloName, startTLS: configuration.startTLS, credentials: configuration.credentials,
            message: message)
        let tls = self.tls
        let connected = ClientBootstrap(group: eventLoop)
            .connectTimeout(TimeAmount(min(configuration.connectTimeout, configuration.sendTimeout)))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandlers(
                        ByteToMessageHandler(SMTPReplyDecoder()),
                        SMTPClientHandler(session: session, tls: tls, deadline: deadline, outcome: outcome))
                }
            }
            .connect(host: configuration.host, port: configuration.port)
        // Completing twice is harmless: the handler's outcome wins when it was first.
        connected.whenFailure { outcome.fail($0) }
        do {
            return try await withTaskCancellationHandler {
                try await outcome.futureResult.get()
            } onCancel: {
                outcome.fail(DeliveryFailure.cancelled)
                connected.whenSuccess { $0.close(promise: nil) }
            }
        } catch {
            throw SMTPTransportFailure.classify(error)
        }
    }

    private static func makeTLS(_ configuration: SMTPConfiguration) throws(SMTPConfigurationError)
        -> SMTPClientHandler.TLS
    {
        var tlsConfiguration = TLSConfiguration.makeClientConfiguration()
        if let path = configuration.trustRootsPath {
            let certificates: [NIOSSLCertificate]
            do {
                certificates = try NIOSSLCertificate.fromPEMFile(path)
            } catch {
                throw SMTPConfigurationError(
                    setting: "trustRootsPath", reason: "cannot read PEM certificates from \(path)", underlying: error)
            }
            guard !certificates.isEmpty else {
                throw SMTPConfigurationError(setting: "trustRootsPath", reason: "no PEM certificate in \(path)")
            }
            tlsConfiguration.trustRoots = .certificates(certificates)
        }
        do {
            let context = try NIOSSLContext(configuration: tlsConfiguration)
            let isIPAddress = (try? SocketAddress(ipAddress: configuration.host, port: 0)) != nil
            return SMTPClientHandler.TLS(context: context, serverHostname: isIPAddress ? nil : configuration.host)
        } catch {
            throw SMTPConfigurationError(setting: "startTLS", reason: "cannot set up TLS", underlying: error)
        }
    }
}
