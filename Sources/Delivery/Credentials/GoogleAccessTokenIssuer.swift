import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import ReminderCore

/// Gets OAuth 2 access tokens for a service account (RFC 7523 JWT bearer grant): signs
/// an assertion, posts it to the key's `token_uri`, and reads `access_token` and
/// `expires_in` from the answer.
///
/// Every failure is transient with class `auth`, and its answer holds the status and
/// the endpoint's `error` code at most: never the assertion or a token.
public struct GoogleAccessTokenIssuer: TokenIssuer {
    /// What FCM's HTTP v1 API asks for.
    public static let messagingScope = "https://www.googleapis.com/auth/firebase.messaging"

    private let account: GoogleServiceAccount
    private let scope: String
    private let transport: HTTPTransport
    private let logger: Logger

    public init(
        account: GoogleServiceAccount, scope: String = Self.messagingScope, transport: HTTPTransport, logger: Logger
    ) {
        self.account = account
        self.scope = scope
        self.transport = transport
        self.logger = logger
    }

    public func issue(now: Date) async throws(DeliveryFailure) -> IssuedToken {
        let assertion: String
        do {
            assertion = try account.assertion(scope: scope, now: now)
        } catch {
            throw .transient("auth", "token exchange: the assertion could not be signed")
        }
        var request = HTTPClientRequest(url: account.tokenURI)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        request.headers.add(name: "Accept", value: "application/json")
        // The assertion is base64url and dots: nothing in it needs form encoding.
        let form = "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=\(assertion)"
        request.body = .bytes(ByteBuffer(string: form))
        let answer: HTTPTransport.Answer
        do throws(DeliveryFailure) {
            answer = try await transport.perform(request, logger: logger)
        } catch {
            if error.isCancellation { throw error }
            throw .transient("auth", "token exchange: \(error.errorClass)")
        }
        let document = try? JSONParser.parse(answer.body)
        guard (200..<300).contains(answer.status) else {
            var code = ""
            if case .string(let error)? = document?["error"] { code = " " + Self.printable(error) }
            throw .transient("auth", "token exchange: HTTP \(answer.status)\(code)")
        }
        guard case .string(let token)? = document?["access_token"], !token.isEmpty,
            case .number(let expiresIn)? = document?["expires_in"], let seconds = Double(expiresIn), seconds > 0,
            seconds.isFinite
        else {
            throw .transient("auth", "token exchange: HTTP \(answer.status) without access_token and expires_in")
        }
        // Google's tokens live an hour; a lifetime beyond a day is kept as a day.
        return .accessToken(token, requestedAt: now, lifetime: .milliseconds(Int64(min(seconds, 86_400) * 1_000)))
    }

    /// An OAuth error code as it may be shown: short, and in its defined alphabet.
    static func printable(_ code: String) -> String {
        String(code.prefix(40).filter { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") })
    }

    public var description: String { "access tokens for the \(account)" }
}
