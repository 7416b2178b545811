import Foundation
import ReminderCore
import _CryptoExtras

/// A Google service account's JSON key, as the Cloud console issues it: who signs
/// (`client_email`, `private_key_id`), with what (`private_key`, PKCS#8 PEM RSA), and
/// where the signed assertion is exchanged for access tokens (`token_uri`).
public struct GoogleServiceAccount: Sendable, CustomStringConvertible {
    public let projectID: String
    public let clientEmail: String
    public let privateKeyID: String
    /// The token endpoint: the key's own value, an http(s) URL (loopback included: the
    /// tests point it at a local endpoint, and the key is trusted as given).
    public let tokenURI: String
    /// The key in DER (swift-crypto's key type is not `Sendable` here); it is rebuilt
    /// from it for each assertion, about once an hour.
    private let privateKey: [UInt8]

    /// Parses the key file's contents. The errors name the field at fault, never its value.
    public init(json: [UInt8]) throws(CredentialFileError) {
        guard let document = try? JSONParser.parse(json), case .object = document else {
            throw CredentialFileError(.file, "is not a JSON object")
        }
        func field(_ name: String) throws(CredentialFileError) -> String {
            guard case .string(let value)? = document[name], !value.isEmpty else {
                throw CredentialFileError(.file, "lacks the string field \(name)")
            }
            return value
        }
        guard try field("type") == "service_account" else {
            throw CredentialFileError(.file, "is not a service account key (type is not service_account)")
        }
        projectID = try field("project_id")
        clientEmail = try field("client_email")
        privateKeyID = try field("private_key_id")
        tokenURI = try field("token_uri")
        guard let url = URL(string: tokenURI), let scheme = url.scheme?.lowercased(),
            ["http", "https"].contains(scheme),
            url.host?.isEmpty == false
        else {
            throw CredentialFileError(.file, "token_uri is not an http(s) URL")
        }
        let pem = try field("private_key")
        do {
            privateKey = Array(try _RSA.Signing.PrivateKey(pemRepresentation: pem).derRepresentation)
        } catch {
            throw CredentialFileError(.file, "private_key is not a PEM RSA private key of 2048 bits or more")
        }
    }

    /// Reads and parses the key file at `path`.
    public init(contentsOf path: String) throws(CredentialFileError) {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CredentialFileError(.file, "cannot read \(path)")
        }
        try self.init(json: Array(data))
    }

    /// The signed assertion (RFC 7523) that asks for an access token with `scope`,
    /// valid for an hour from `now` (the longest Google accepts).
    func assertion(scope: String, now: Date) throws -> String {
        let header = JSONValue.object([
            ("alg", .string("RS256")), ("typ", .string("JWT")), ("kid", .string(privateKeyID)),
        ])
        let claims = JSONValue.object([
            ("iss", .string(clientEmail)), ("scope", .string(scope)), ("aud", .string(tokenURI)),
            ("iat", JSONWebSignature.seconds(now)), ("exp", JSONWebSignature.seconds(now.addingTimeInterval(3_600))),
        ])
        return try JSONWebSignature.compact(header: header, claims: claims) { input in
            // RS256 is RSASSA-PKCS1-v1_5 with SHA-256 (RFC 7518 section 3.3).
            let key = try _RSA.Signing.PrivateKey(derRepresentation: privateKey)
            return Array(try key.signature(for: input, padding: .insecurePKCS1v1_5).rawRepresentation)
        }
    }

    /// Names the project only: the client's address and the key stay out of logs.
    public var description: String { "Google service account of project \(projectID) (key redacted)" }
}
