import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import ReminderCore

/// One AWS service endpoint with its signer: builds signed requests for the SES and SNS
/// providers, and holds what their error classifications share.
struct AWSService: Sendable {
    let signer: SigV4Signer
    /// `scheme://host[:port]`, without a trailing slash.
    let endpoint: String
    /// The `Host` header as the request carries it: signed, so it is set here rather
    /// than left to the HTTP client.
    let hostHeader: String

    /// nil when `endpoint` is not an http(s) URL with a host.
    init?(signer: SigV4Signer, endpoint: String) {
        guard let url = URL(string: endpoint), let scheme = url.scheme?.lowercased(),
            scheme == "https" || scheme == "http", let host = url.host, !host.isEmpty
        else { return nil }
        self.signer = signer
        self.endpoint = endpoint.hasSuffix("/") ? String(endpoint.dropLast()) : endpoint
        let defaultPort = scheme == "https" ? 443 : 80
        let bracketed = host.contains(":") ? "[\(host)]" : host
        hostHeader = url.port.map { $0 == defaultPort ? bracketed : "\(bracketed):\($0)" } ?? bracketed
    }

    /// A POST of `body` to `path`, signed as made at `date`.
    func post(path: String, contentType: String, body: [UInt8], date: Date) -> HTTPClientRequest {
        let headers = [("Host", hostHeader), ("Content-Type", contentType)]
        let signature = signer.sign(
            SigV4Signer.Request(method: "POST", path: path, headers: headers, body: body), date: date)
        var request = HTTPClientRequest(url: endpoint + path)
        request.method = .POST
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        for field in signature.headers { request.headers.add(name: field.name, value: field.value) }
        request.body = .bytes(ByteBuffer(bytes: body))
        return request
    }

    /// Error codes that say the credentials or their permissions are wrong: the
    /// operator's to fix, so the reminder waits (transient `auth`) rather than being
    /// dead-lettered for it.
    static let authErrorCodes: Set<String> = [
        "AccessDenied", "AccessDeniedException", "AuthorizationError", "ExpiredToken", "ExpiredTokenException",
        "IncompleteSignature", "IncompleteSignatureException", "InvalidClientTokenId", "InvalidSignatureException",
        "MissingAuthenticationToken", "MissingAuthenticationTokenException", "SignatureDoesNotMatch",
        "UnrecognizedClientException", "NotAuthorized", "OptInRequired",
    ]

    /// Error codes that ask for fewer requests.
    static let throttlingErrorCodes: Set<String> = [
        "Throttling", "ThrottlingException", "Throttled", "TooManyRequestsException", "LimitExceededException",
        "RequestLimitExceeded",
    ]

    /// An error code as AWS spells it (`Foo`, `FooException`), or nil for anything else:
    /// only such a name goes into a failure's answer, never an error message (which may
    /// quote the address or number).
    static func safeCode(_ text: Substring?) -> String? {
        guard let text else { return nil }
        // `aws.protocoltests#FooException` and `FooException:http://…` both name `FooException`.
        var code = text
        if let hash = code.lastIndex(of: "#") { code = code[code.index(after: hash)...] }
        if let colon = code.firstIndex(of: ":") { code = code[..<colon] }
        code = code.drop { $0 == " " }
        guard !code.isEmpty, code.count <= 64,
            code.unicodeScalars.allSatisfy({
                $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "." || $0 == "_")
            })
        else { return nil }
        return String(code)
    }
}

/// What the SES and SNS providers share: signed POSTs to one AWS service endpoint over
/// the shared transport, signed at the time `now` gives (injected for tests).
struct AWSClient: Sendable {
    let transport: HTTPTransport
    /// nil when the endpoint is not an http(s) URL (the settings refuse one at start).
    let service: AWSService?
    let logger: Logger
    let now: @Sendable () -> Date

    init(
        transport: HTTPTransport, credentials: AWSCredentials, region: String, signingName: String, endpoint: String,
        logger: Logger, now: @escaping @Sendable () -> Date
    ) {
        self.transport = transport
        self.logger = logger
        self.now = now
        service = AWSService(
            signer: SigV4Signer(credentials: credentials, region: region, service: signingName), endpoint: endpoint)
    }

    /// POSTs `body` to `path`, signed; the answer, whatever its status.
    func post(path: String, contentType: String, body: [UInt8]) async throws(DeliveryFailure) -> HTTPTransport.Answer {
        guard let service else { throw .transient("configuration", "the endpoint is not an http(s) URL") }
        let request = service.post(path: path, contentType: contentType, body: body, date: now())
        return try await transport.perform(request, logger: logger)
    }
}
