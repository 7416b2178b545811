import Foundation

/// scripts/smtp_sink.py (aiosmtpd) on a free loopback port, with a maildir of its own:
/// the real SMTP server the provider's integration tests deliver to.
public final class SMTPSink: @unchecked Sendable {
    /// One message as the sink stored it.
    public struct Received: Decodable {
        public var mailFrom: String
        public var recipients: [String]
        public var mailOptions: [String]
        public var tls: Bool
        /// The mechanism and login of a successful AUTH.
        public var auth: [String: String]?
        /// The connections open at the sink when this message's DATA ended.
        public var connectionsOpen: Int
        /// The DATA content in base64, dot-stuffing undone.
        public var raw: String
        /// The headers as Python's email package decodes them.
        public var headers: [String: String]
        public var fromDisplayName: String?
        public var fromAddress: String?
        /// The decoded body in base64 (empty for a multipart message).
        public var body: String
        /// The message's content type, as Python's email package reads it.
        public var contentType: String
        /// The leaf parts in order (the message itself when it is not multipart).
        public var parts: [Part]
        /// The names of the defects Python's email package found while parsing.
        public var defects: [String]

        public struct Part: Decodable {
            public var contentType: String
            public var charset: String?
            public var transferEncoding: String?
            /// The decoded body in base64.
            public var body: String

            enum CodingKeys: String, CodingKey {
                case contentType = "content_type", transferEncoding = "transfer_encoding", charset, body
            }

            public var text: String { String(decoding: Data(base64Encoded: body) ?? Data(), as: UTF8.self) }
        }

        enum CodingKeys: String, CodingKey {
            case mailFrom = "mail_from", recipients = "rcpt_tos", mailOptions = "mail_options"
            case fromDisplayName = "from_display_name", fromAddress = "from_address"
            case contentType = "content_type", connectionsOpen = "connections_open"
            case tls, auth, raw, headers, body, parts, defects
        }

        public var rawBytes: [UInt8] { Array(Data(base64Encoded: raw) ?? Data()) }
        public var bodyBytes: [UInt8] { Array(Data(base64Encoded: body) ?? Data()) }
        /// The raw header section's lines, folding kept.
        public var rawHeaderLines: [String] {
            let text = String(decoding: rawBytes, as: UTF8.self)
            let head = text.components(separatedBy: "\r\n\r\n").first ?? ""
            return head.components(separatedBy: "\r\n")
        }
    }

    public let port: Int
    public let maildir: URL
    private let process: Process

    public init(_ arguments: [String] = []) async throws {
        maildir = FileManager.default.temporaryDirectory.appendingPathComponent("smtp-sink-\(UUID().uuidString)")
        let (process, text) = try await PythonScript.start(
            "smtp_sink.py", ["--port", "0", "--maildir", maildir.path, "--lifetime", "120"] + arguments)
        self.process = process
        port = text.hasPrefix("PORT ") ? Int(text.dropFirst(5)) ?? 0 : 0
    }

    /// The messages stored so far, in the order they arrived.
    public func received() throws -> [Received] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: maildir.path)) ?? []
        return try names.filter { $0.hasSuffix(".json") }.sorted().map { name in
            try JSONDecoder().decode(Received.self, from: Data(contentsOf: maildir.appendingPathComponent(name)))
        }
    }

    deinit {
        process.terminate()
        try? FileManager.default.removeItem(at: maildir)
    }
}
