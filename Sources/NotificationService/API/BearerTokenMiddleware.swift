import Crypto
import Hummingbird

/// Lets a request through only with `Authorization: Bearer <token>` equal to the
/// configured token. Both are hashed before comparing, and the digests compared without
/// an early exit, so the time taken says nothing about how much of a guess was right.
/// Without a configured token every request is refused.
struct BearerTokenMiddleware<Context: RequestContext>: RouterMiddleware {
    /// The token's SHA-256 digest.
    private let expected: [UInt8]?

    init(token: String?) {
        expected = token.map { Array(SHA256.hash(data: Array($0.utf8))) }
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response)
        async throws -> Response
    {
        guard let expected else {
            throw refusal("the /v1 API is off: API_TOKEN is not set on this instance")
        }
        // The scheme's name is case-insensitive (RFC 9110, 11.1).
        guard let header = request.headers[.authorization], let space = header.firstIndex(of: " "),
            header[..<space].lowercased() == "bearer"
        else {
            throw refusal("a bearer token is required")
        }
        let presented = Array(SHA256.hash(data: Array(header[header.index(after: space)...].utf8)))
        var difference: UInt8 = 0
        for (a, b) in zip(expected, presented) { difference |= a ^ b }
        guard difference == 0 else { throw refusal("the bearer token is not valid") }
        return try await next(request, context)
    }

    private func refusal(_ message: String) -> APIError {
        var error = APIError(.unauthorized, "unauthorized", message)
        error.headers = [.wwwAuthenticate: "Bearer realm=\"notification-service\""]
        return error
    }
}
