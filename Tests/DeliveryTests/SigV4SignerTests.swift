import Foundation
import Testing

@testable import Delivery

/// The signer against reference vectors: botocore's signer on this project's requests
/// (always, from Fixtures/sigv4), and AWS's published SigV4 test suite when a copy of it
/// is at hand (Fixtures/sigv4/README.md says why it is not in the repository).
@Suite struct SigV4SignerTests {
    /// One request and what botocore made of it.
    struct Vector: Decodable, Sendable, CustomTestStringConvertible {
        let name: String
        let method: String
        let path: String
        let query: String
        let headers: [[String]]
        let body: String
        let sessionToken: String?
        let region: String
        let service: String
        let canonicalRequest: String
        let stringToSign: String
        let authorization: String

        var testDescription: String { name }
    }

    struct Document: Decodable {
        let accessKeyID: String
        let secretAccessKey: String
        let date: String
        let vectors: [Vector]
    }

    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/sigv4")

    static let document: Document? = {
        guard let data = try? Data(contentsOf: fixtures.appendingPathComponent("botocore-vectors.json")) else {
            return nil
        }
        return try? JSONDecoder().decode(Document.self, from: data)
    }()

    /// 2015-08-30T12:36:00Z, the suite's signing time.
    static let suiteDate = Date(timeIntervalSince1970: 1_440_938_160)

    @Test func theReferenceVectorsAreThere() throws {
        let document = try #require(Self.document)
        #expect(document.vectors.count >= 15)
        #expect(SigV4Signer.amzDate(Self.suiteDate) == document.date)
    }

    @Test(arguments: document?.vectors ?? [])
    func signsAsBotocoreDoes(_ vector: Vector) throws {
        let document = try #require(Self.document)
        let signer = SigV4Signer(
            credentials: AWSCredentials(
                accessKeyID: document.accessKeyID, secretAccessKey: document.secretAccessKey,
                sessionToken: vector.sessionToken),
            region: vector.region, service: vector.service)
        let request = SigV4Signer.Request(
            method: vector.method, path: vector.path, query: vector.query,
            headers: vector.headers.map { ($0[0], $0[1]) }, body: Array(vector.body.utf8))
        let signature = signer.sign(request, date: Self.suiteDate)
        #expect(signature.canonicalRequest == vector.canonicalRequest)
        #expect(signature.stringToSign == vector.stringToSign)
        #expect(signature.authorization == vector.authorization)
    }

    @Test func addsTheDateTokenAndAuthorizationHeaders() {
        let signer = SigV4Signer(
            credentials: AWSCredentials(accessKeyID: "AKID", secretAccessKey: "secret", sessionToken: "tok"),
            region: "eu-west-1", service: "ses", signsContentSHA256: true)
        let signature = signer.sign(
            SigV4Signer.Request(method: "POST", path: "/", headers: [("Host", "h.example")], body: []),
            date: Self.suiteDate)
        #expect(
            signature.headers.map(\.name) == [
                "X-Amz-Date", "X-Amz-Security-Token", "X-Amz-Content-Sha256", "Authorization",
            ])
        #expect(signature.canonicalRequest.contains("\nx-amz-content-sha256:e3b0c442"))
        #expect(
            signature.authorization.hasPrefix(
                "AWS4-HMAC-SHA256 Credential=AKID/20150830/eu-west-1/ses/aws4_request, "
                    + "SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-security-token, Signature="))
    }

    @Test func credentialsNeverPrintTheirSecret() {
        let credentials = AWSCredentials(accessKeyID: "AKID", secretAccessKey: "s3cr3t", sessionToken: "t0ken")
        for text in ["\(credentials)", String(reflecting: credentials)] {
            #expect(!text.contains("s3cr3t"))
            #expect(!text.contains("t0ken"))
        }
    }

    // MARK: AWS's published test suite

    /// The suite's folder (`aws4_testsuite` as botocore's tests keep it: one folder per
    /// case with `.req`, `.creq`, `.sts`, `.authz`): `NS_AWS4_TESTSUITE`, which
    /// scripts/env.sh sets and scripts/setup.sh fills from botocore's source distribution.
    static let suiteFolder: URL? = ProcessInfo.processInfo.environment["NS_AWS4_TESTSUITE"].map {
        URL(fileURLWithPath: $0)
    }

    /// Every case of the suite but `post-sts-header-after`, where the token is added
    /// after signing: this signer always signs the token (`post-sts-header-before`),
    /// which SES and SNS accept.
    static let suiteCases = [
        "get-header-key-duplicate", "get-header-value-multiline", "get-header-value-order", "get-header-value-trim",
        "get-unreserved", "get-utf8", "get-vanilla", "get-vanilla-empty-query-key", "get-vanilla-query",
        "get-vanilla-query-order-encoded", "get-vanilla-query-order-key", "get-vanilla-query-order-key-case",
        "get-vanilla-query-order-value", "get-vanilla-query-unreserved", "get-vanilla-utf8-query",
        "get-vanilla-with-session-token", "normalize-path/get-relative", "normalize-path/get-relative-relative",
        "normalize-path/get-slash", "normalize-path/get-slash-dot-slash", "normalize-path/get-slash-pointless-dot",
        "normalize-path/get-slashes", "normalize-path/get-space", "normalize-path/get-special-character",
        "post-header-key-case", "post-header-key-sort", "post-header-value-case",
        "post-sts-token/post-sts-header-before", "post-vanilla", "post-vanilla-empty-query-value",
        "post-vanilla-query", "post-x-www-form-urlencoded", "post-x-www-form-urlencoded-parameters",
    ]

    @Test(.enabled(if: suiteFolder != nil, "NS_AWS4_TESTSUITE names a copy of AWS's SigV4 test suite"))
    func signsAsAWSPublishedTestSuiteExpects() throws {
        let folder = try #require(Self.suiteFolder)
        // Named but missing is a broken setup, not a reason to skip.
        try #require(
            FileManager.default.fileExists(atPath: folder.appendingPathComponent("get-vanilla/get-vanilla.req").path),
            "scripts/setup.sh puts AWS's SigV4 test suite at \(folder.path)")
        for name in Self.suiteCases {
            let base = folder.appendingPathComponent(name).appendingPathComponent(
                String(name.split(separator: "/").last ?? ""))
            func read(_ suffix: String) throws -> String {
                try String(contentsOf: base.appendingPathExtension(suffix), encoding: .utf8)
                    .replacingOccurrences(of: "\r", with: "")
            }
            let expected = (creq: try read("creq"), sts: try read("sts"), authz: try read("authz"))
            var request = try #require(Self.parse(try read("req")), "\(name).req")
            // The session-token case names its token only in the canonical request.
            let token = expected.creq.split(separator: "\n").first { $0.hasPrefix("x-amz-security-token:") }
                .map { String($0.dropFirst("x-amz-security-token:".count)) }
            if token != nil { request.headers.removeAll { $0.name.lowercased() == "x-amz-security-token" } }
            let signer = SigV4Signer(
                credentials: AWSCredentials(
                    accessKeyID: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                    sessionToken: token),
                region: "us-east-1", service: "service")
            let signature = signer.sign(request, date: Self.suiteDate)
            #expect(signature.canonicalRequest == expected.creq, "\(name): canonical request")
            #expect(signature.stringToSign == expected.sts, "\(name): string to sign")
            #expect(signature.authorization == expected.authz, "\(name): Authorization")
        }
    }

    /// A `.req` file: the request line (its path may hold a space), headers (a line
    /// starting with white space continues the one before), a blank line, the body.
    static func parse(_ text: String) -> SigV4Signer.Request? {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard !lines.isEmpty else { return nil }
        let requestLine = lines.removeFirst()
        guard let firstSpace = requestLine.firstIndex(of: " "),
            let versionStart = requestLine.range(of: " HTTP/", options: .backwards)
        else { return nil }
        let method = String(requestLine[..<firstSpace])
        let target = String(requestLine[requestLine.index(after: firstSpace)..<versionStart.lowerBound])
        let parts = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        var headers: [(name: String, value: String)] = []
        var bodyLines: [String] = []
        var inBody = false
        for line in lines {
            if inBody {
                bodyLines.append(line)
            } else if line.isEmpty {
                inBody = true
            } else if line.first == " " || line.first == "\t", !headers.isEmpty {
                headers[headers.count - 1].value += "\n" + line
            } else if let colon = line.firstIndex(of: ":") {
                headers.append((String(line[..<colon]), String(line[line.index(after: colon)...])))
            }
        }
        return SigV4Signer.Request(
            method: method, path: String(parts[0]), query: parts.count > 1 ? String(parts[1]) : "",
            headers: headers, body: Array(bodyLines.joined(separator: "\n").utf8))
    }
}
