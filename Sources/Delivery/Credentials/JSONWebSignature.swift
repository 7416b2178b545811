import Foundation
import ReminderCore

/// The compact form of a JSON Web Signature (RFC 7515), as both push services take
/// their signed tokens: base64url(header) . base64url(claims) . base64url(signature),
/// the signature over the first two parts.
enum JSONWebSignature {
    static func compact(
        header: JSONValue, claims: JSONValue, sign: ([UInt8]) throws -> [UInt8]
    ) rethrows -> String {
        let signingInput = base64URL(Array(header.serialized.utf8)) + "." + base64URL(Array(claims.serialized.utf8))
        return signingInput + "." + base64URL(try sign(Array(signingInput.utf8)))
    }

    /// Base64 with the URL alphabet and without padding (RFC 7515 section 2).
    static func base64URL(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// A JSON number for whole seconds since 1970.
    static func seconds(_ date: Date) -> JSONValue {
        .number(String(Int64(date.timeIntervalSince1970.rounded(.down))))
    }
}
