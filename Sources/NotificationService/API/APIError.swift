import Foundation
import Hummingbird

/// An error the API answers with: a status and a JSON body `{"error": code, "message": …}`.
/// Messages name what was wrong with the request, never personal data.
public struct APIError: HTTPResponseError, Sendable {
    public let status: HTTPResponse.Status
    public let code: String
    public let message: String
    public var headers: HTTPFields = [:]

    public init(_ status: HTTPResponse.Status, _ code: String, _ message: String) {
        self.status = status
        self.code = code
        self.message = message
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var response = try JSONResponse.make(ErrorBody(error: code, message: message), status: status)
        response.headers.append(contentsOf: headers)
        return response
    }

    struct ErrorBody: Encodable {
        let error: String
        let message: String
    }
}
