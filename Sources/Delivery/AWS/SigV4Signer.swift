import Crypto
import Foundation
import ReminderCore

/// AWS credentials for Signature Version 4. Secret: its `description` names only the
/// access key id, so a logged value leaks nothing that signs.
public struct AWSCredentials: Sendable, Equatable, CustomStringConvertible {
    public var accessKeyID: String
    public var secretAccessKey: String
    /// The session token of temporary credentials (STS), sent as `X-Amz-Security-Token`.
    public var sessionToken: String?

    public init(accessKeyID: String, secretAccessKey: String, sessionToken: String? = nil) {
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
    }

    public var description: String { "AWSCredentials(\(accessKeyID), secret redacted)" }
}

/// AWS Signature Version 4 with the `Authorization` header: a pure function of the
/// request, the credentials, the region, the service and the signing time, so it is
/// checked against AWS's published test vectors without a clock or a network.
///
/// The canonical request follows the specification for services other than S3: the
/// path with its dot segments and repeated slashes removed, then URI-encoded (every
/// byte but `A–Z a–z 0–9 - . _ ~` and `/` as `%XY`; a path already percent-encoded is
/// encoded again, as those services expect); query parameters percent-decoded,
/// re-encoded strictly and sorted by name then value; header names lower-cased and
/// sorted, their values trimmed with inner runs of white space (line folds included)
/// made one space, repeated headers joined with commas in their order; the payload's
/// SHA-256 in hex. The session token, when there is one, is signed (the suite's
/// `post-sts-header-before`), as SES and SNS accept.
public struct SigV4Signer: Sendable {
    /// What a request consists of, as far as the signature is concerned.
    public struct Request: Sendable {
        public var method: String
        /// The path as it goes on the request line (without the query).
        public var path: String
        /// The query as it goes on the request line, without `?` ("" for none).
        public var query: String
        /// Every header to sign, `Host` included; repeated names are allowed.
        public var headers: [(name: String, value: String)]
        public var body: [UInt8]

        public init(
            method: String, path: String, query: String = "", headers: [(name: String, value: String)],
            body: [UInt8] = []
        ) {
            self.method = method
            self.path = path
            self.query = query
            self.headers = headers
            self.body = body
        }
    }

    /// The result of signing: the headers to add to the request, and the intermediate
    /// texts (for the tests, and for comparing with another signer).
    public struct Signature: Sendable, Equatable {
        public let canonicalRequest: String
        public let stringToSign: String
        /// `AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…`.
        public let authorization: String
        /// `X-Amz-Date`, `X-Amz-Security-Token` (with session credentials),
        /// `X-Amz-Content-Sha256` (when asked for) and `Authorization`: added to the
        /// request as they are. Those the request already had are not repeated.
        public let headers: [HTTPHeaderField]
    }

    public struct HTTPHeaderField: Sendable, Equatable {
        public let name: String
        public let value: String
    }

    public let credentials: AWSCredentials
    public let region: String
    public let service: String
    /// Adds and signs `X-Amz-Content-Sha256` (S3 needs it; other services accept it).
    public let signsContentSHA256: Bool

    public init(credentials: AWSCredentials, region: String, service: String, signsContentSHA256: Bool = false) {
        self.credentials = credentials
        self.region = region
        self.service = service
        self.signsContentSHA256 = signsContentSHA256
    }

    /// Signs `request` as made at `date`.
    public func sign(_ request: Request, date: Date) -> Signature {
        let amzDate = Self.amzDate(date)
        let day = String(amzDate.prefix(8))
        let payloadHash = HexEncoding.string(SHA256.hash(data: request.body))

        var headers = request.headers
        var added: [HTTPHeaderField] = []
        func addUnlessPresent(_ name: String, _ value: String) {
            if headers.contains(where: { $0.name.lowercased() == name.lowercased() }) { return }
            headers.append((name, value))
            added.append(HTTPHeaderField(name: name, value: value))
        }
        // A given X-Amz-Date must agree with the signing time: it is replaced.
        headers.removeAll { $0.name.lowercased() == "x-amz-date" }
        headers.append(("X-Amz-Date", amzDate))
        added.append(HTTPHeaderField(name: "X-Amz-Date", value: amzDate))
        if let token = credentials.sessionToken { addUnlessPresent("X-Amz-Security-Token", token) }
        if signsContentSHA256 { addUnlessPresent("X-Amz-Content-Sha256", payloadHash) }

        let (canonicalHeaders, signedHeaders) = Self.canonicalHeaders(headers)
        let canonicalRequest = [
            request.method.uppercased(),
            Self.canonicalURI(request.path),
            Self.canonicalQuery(request.query),
            canonicalHeaders,
            signedHeaders,
            payloadHash,
        ].joined(separator: "\n")

        let scope = "\(day)/\(region)/\(service)/aws4_request"
        let stringToSign = [
            "AWS4-HMAC-SHA256", amzDate, scope,
            HexEncoding.string(SHA256.hash(data: Array(canonicalRequest.utf8))),
        ].joined(separator: "\n")

        let signature = HexEncoding.string(
            HMAC<SHA256>.authenticationCode(for: Array(stringToSign.utf8), using: signingKey(day: day)))
        let authorization =
            "AWS4-HMAC-SHA256 Credential=\(credentials.accessKeyID)/\(scope), SignedHeaders=\(signedHeaders), Signature=\(signature)"
        added.append(HTTPHeaderField(name: "Authorization", value: authorization))
        return Signature(
            canonicalRequest: canonicalRequest, stringToSign: stringToSign, authorization: authorization,
            headers: added)
    }

    /// The key derived for one day, region and service (HMAC chain from `AWS4` + secret).
    func signingKey(day: String) -> SymmetricKey {
        func hmac(_ key: SymmetricKey, _ text: String) -> SymmetricKey {
            SymmetricKey(data: Array(HMAC<SHA256>.authenticationCode(for: Array(text.utf8), using: key)))
        }
        let secret = SymmetricKey(data: Array("AWS4\(credentials.secretAccessKey)".utf8))
        return hmac(hmac(hmac(hmac(secret, day), region), service), "aws4_request")
    }

    /// `yyyyMMdd'T'HHmmss'Z'` in UTC, computed without a formatter (no locale involved).
    static func amzDate(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC") ?? TimeZone(secondsFromGMT: 0) ?? calendar.timeZone
        let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        func pad(_ value: Int?, _ width: Int) -> String {
            let text = String(value ?? 0)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return pad(parts.year, 4) + pad(parts.month, 2) + pad(parts.day, 2) + "T" + pad(parts.hour, 2)
            + pad(parts.minute, 2) + pad(parts.second, 2) + "Z"
    }

    /// The path without `.` and `..` segments and empty segments, URI-encoded; a
    /// trailing slash is kept; an empty path is `/`.
    static func canonicalURI(_ path: String) -> String {
        var segments: [Substring] = []
        for segment in path.split(separator: "/", omittingEmptySubsequences: true) {
            switch segment {
            case ".": continue
            case "..": if !segments.isEmpty { segments.removeLast() }
            default: segments.append(segment)
            }
        }
        var normalized = "/" + segments.joined(separator: "/")
        let last = path.split(separator: "/", omittingEmptySubsequences: false).last
        if !segments.isEmpty, path.hasSuffix("/") || last == "." || last == ".." {
            normalized += "/"
        }
        return uriEncode(normalized, keepingSlash: true)
    }

    /// Parameters decoded, re-encoded strictly, sorted by name then value.
    static func canonicalQuery(_ query: String) -> String {
        guard !query.isEmpty else { return "" }
        var pairs: [(String, String)] = []
        for parameter in query.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = parameter.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = String(parts[0])
            let value = parts.count > 1 ? String(parts[1]) : ""
            pairs.append(
                (
                    uriEncode(name.removingPercentEncoding ?? name, keepingSlash: false),
                    uriEncode(value.removingPercentEncoding ?? value, keepingSlash: false)
                ))
        }
        // Sorted by code point (byte order of the encoded ASCII text), as specified.
        pairs.sort {
            $0.0 != $1.0
                ? Array($0.0.utf8).lexicographicallyPrecedes(Array($1.0.utf8))
                : Array($0.1.utf8).lexicographicallyPrecedes(Array($1.1.utf8))
        }
        return pairs.map { "\($0.0)=\($0.1)" }.joined(separator: "&")
    }

    /// The canonical header block (each line ending in a newline) and the signed
    /// header list.
    static func canonicalHeaders(_ headers: [(name: String, value: String)]) -> (String, String) {
        var names: [String] = []
        var values: [String: [String]] = [:]
        for header in headers {
            let name = header.name.lowercased().trimmingCharacters(in: .whitespaces)
            if values[name] == nil { names.append(name) }
            values[name, default: []].append(collapsed(header.value))
        }
        names.sort { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
        let block = names.map { "\($0):\(values[$0, default: []].joined(separator: ","))\n" }.joined()
        return (block, names.joined(separator: ";"))
    }

    /// Trimmed, with every run of spaces, tabs and line breaks made one space.
    static func collapsed(_ value: String) -> String {
        value.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }).joined(separator: " ")
    }

    /// RFC 3986 unreserved characters kept (and `/` when asked), every other UTF-8 byte
    /// as `%XY` in upper case.
    static func uriEncode(_ text: String, keepingSlash: Bool) -> String {
        let hex = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                UInt8(ascii: "~"):
                out.append(byte)
            case UInt8(ascii: "/") where keepingSlash:
                out.append(byte)
            default:
                out.append(UInt8(ascii: "%"))
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 0x0f)])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
