import Crypto
import Foundation
import ReminderCore

/// An APNs token-based authentication key: the .p8 file Apple issues (a PKCS#8 PEM
/// P-256 key), its 10-character key id and the team's 10-character id.
public struct APNsSigningKey: Sendable, CustomStringConvertible {
    public let keyID: String
    public let teamID: String
    /// The key's 32 raw bytes (swift-crypto's key type is not `Sendable` here); the key
    /// is rebuilt from them for each signature, once in 40 minutes.
    private let privateKey: [UInt8]

    public init(pem: String, keyID: String, teamID: String) throws(CredentialFileError) {
        guard Self.isAppleID(keyID) else {
            throw CredentialFileError(.keyID, "must be the key's 10-character id (letters and digits)")
        }
        guard Self.isAppleID(teamID) else {
            throw CredentialFileError(.teamID, "must be the team's 10-character id (letters and digits)")
        }
        do {
            // Throws for any other curve or kind of key.
            privateKey = Array(try P256.Signing.PrivateKey(pemRepresentation: pem).rawRepresentation)
        } catch {
            throw CredentialFileError(.file, "is not a PEM P-256 (ES256) private key")
        }
        self.keyID = keyID
        self.teamID = teamID
    }

    /// Reads the .p8 file at `path`.
    public init(contentsOf path: String, keyID: String, teamID: String) throws(CredentialFileError) {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CredentialFileError(.file, "cannot read \(path)")
        }
        try self.init(pem: String(decoding: data, as: UTF8.self), keyID: keyID, teamID: teamID)
    }

    /// Apple's key and team ids: ten ASCII letters or digits.
    static func isAppleID(_ text: String) -> Bool {
        text.utf8.count == 10 && text.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber) }
    }

    /// The provider token for `issuedAt` (RFC 7519 with ES256: the signature is the raw
    /// 64 bytes r || s, not DER).
    func providerToken(issuedAt: Date) throws -> String {
        let header = JSONValue.object([("alg", .string("ES256")), ("kid", .string(keyID))])
        let claims = JSONValue.object([("iss", .string(teamID)), ("iat", JSONWebSignature.seconds(issuedAt))])
        return try JSONWebSignature.compact(header: header, claims: claims) { input in
            Array(try P256.Signing.PrivateKey(rawRepresentation: privateKey).signature(for: input).rawRepresentation)
        }
    }

    public var description: String { "APNs key \(keyID) of team \(teamID) (key redacted)" }
}
