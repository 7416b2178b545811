import Crypto
import Foundation
import ReminderCore
import Testing
import _CryptoExtras

@testable import Delivery

/// Google service-account keys and APNs .p8 keys: what is accepted, what is refused (the
/// refusal naming the setting and quoting nothing of the key), and the assertion signed
/// with a service account. Keys are made fresh for each test.
@Suite struct PushKeyTests {
    static let rsaKey = try! _RSA.Signing.PrivateKey(keySize: .bits2048)

    static func serviceAccount(_ changes: [String: Any?] = [:]) throws -> [UInt8] {
        var document: [String: Any] = [
            "type": "service_account", "project_id": "my-project", "private_key_id": "abc123def456",
            "private_key": rsaKey.pkcs8PEMRepresentation, "client_email": "sender@my-project.iam.gserviceaccount.com",
            "token_uri": "https://oauth2.googleapis.com/token",
        ]
        for (name, value) in changes { document[name] = value }
        return Array(try JSONSerialization.data(withJSONObject: document))
    }

    @Test func theAssertionIsRS256SignedWithTheClaimsGoogleAsksFor() throws {
        let account = try GoogleServiceAccount(json: try Self.serviceAccount())
        #expect(account.projectID == "my-project")
        let now = Date(timeIntervalSince1970: 1_790_000_000)
        let assertion = try account.assertion(scope: GoogleAccessTokenIssuer.messagingScope, now: now)
        let parts = assertion.split(separator: ".").map(String.init)
        try #require(parts.count == 3)
        let header = try RenewingCredentialTests.object(parts[0]) as? [String: String]
        #expect(header == ["alg": "RS256", "typ": "JWT", "kid": "abc123def456"])
        let claims = try RenewingCredentialTests.claims(of: assertion)
        #expect(claims["iss"] as? String == "sender@my-project.iam.gserviceaccount.com")
        #expect(claims["scope"] as? String == "https://www.googleapis.com/auth/firebase.messaging")
        #expect(claims["aud"] as? String == "https://oauth2.googleapis.com/token")
        #expect(claims["iat"] as? Int == 1_790_000_000)
        #expect(claims["exp"] as? Int == 1_790_003_600)
        let signatureBytes = try #require(RenewingCredentialTests.base64URL(parts[2]))
        let signature = _RSA.Signing.RSASignature(rawRepresentation: signatureBytes)
        #expect(
            Self.rsaKey.publicKey.isValidSignature(
                signature, for: Array("\(parts[0]).\(parts[1])".utf8), padding: .insecurePKCS1v1_5))
        #expect(!"\(account)".contains("PRIVATE") && !"\(account)".contains("sender@"))
    }

    @Test func aMalformedServiceAccountKeyIsRefusedWithoutQuotingIt() throws {
        let ecKey = P256.Signing.PrivateKey().pemRepresentation
        let cases: [([UInt8], String)] = [
            (Array("{\"private_key\": \"-----BEGIN PRIVATE KEY-----\\nMIIE".utf8), "is not a JSON object"),
            (try Self.serviceAccount(["type": "authorized_user"]), "type"),
            (try Self.serviceAccount(["client_email": nil]), "client_email"),
            (try Self.serviceAccount(["private_key_id": 42]), "private_key_id"),
            (try Self.serviceAccount(["token_uri": "ftp://oauth2.googleapis.com/token"]), "token_uri"),
            (try Self.serviceAccount(["private_key": ecKey]), "not a PEM RSA private key"),
            (try Self.serviceAccount(["private_key": "secret-but-not-a-key"]), "not a PEM RSA private key"),
        ]
        for (json, reason) in cases {
            let error = #expect(throws: CredentialFileError.self) { try GoogleServiceAccount(json: json) }
            #expect(error?.setting == .file)
            #expect(error?.reason.contains(reason) == true, "\(error?.reason ?? "")")
            #expect(error?.reason.contains("BEGIN") == false && error?.reason.contains("secret-but") == false)
        }
        // A token endpoint on loopback is the key's own choice (the tests use one).
        let local = try GoogleServiceAccount(json: try Self.serviceAccount(["token_uri": "http://127.0.0.1:9/token"]))
        #expect(local.tokenURI == "http://127.0.0.1:9/token")
    }

    @Test func anAPNsKeyMustBeP256AndItsIdsTenCharacters() throws {
        let pem = P256.Signing.PrivateKey().pemRepresentation
        #expect(pem.contains("BEGIN PRIVATE KEY"), "PKCS#8, as Apple's .p8 files are")
        let key = try APNsSigningKey(pem: pem, keyID: "ABCDE12345", teamID: "TEAM123456")
        #expect(!"\(key)".contains("PRIVATE"))
        let refusals: [(String, String, String, CredentialFileError.Setting)] = [
            (pem, "ABCDE1234", "TEAM123456", .keyID),
            (pem, "ABCDE1234-", "TEAM123456", .keyID),
            (pem, "ABCDE12345", "team 12345", .teamID),
            (P384.Signing.PrivateKey().pemRepresentation, "ABCDE12345", "TEAM123456", .file),
            (Self.rsaKey.pkcs8PEMRepresentation, "ABCDE12345", "TEAM123456", .file),
            ("not a key", "ABCDE12345", "TEAM123456", .file),
        ]
        for (pem, keyID, teamID, setting) in refusals {
            let error = #expect(throws: CredentialFileError.self) {
                try APNsSigningKey(pem: pem, keyID: keyID, teamID: teamID)
            }
            #expect(error?.setting == setting)
            #expect(error?.reason.contains("BEGIN") == false)
        }
    }
}
