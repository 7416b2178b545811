import Foundation

/// Self-signed certificates made once per test process with the openssl command: the
/// loopback provider servers present them, and the clients under test trust them through
/// their CA-file setting.
public struct TestCertificate: Sendable {
    /// Which names a certificate is for.
    public enum Names: Sendable {
        /// 127.0.0.1 and localhost: where the servers listen.
        case loopback
        /// Only `receiver.invalid`: a client that checks the name it connects to refuses it
        /// at 127.0.0.1 and at localhost.
        case elsewhere
    }

    public let certificateFile: String
    public let keyFile: String

    /// For 127.0.0.1 and localhost.
    public static let shared = make(
        directory: "ns-test-cert", commonName: "localhost", alternativeNames: "IP:127.0.0.1,DNS:localhost")
    /// For `receiver.invalid` only.
    public static let elsewhere = make(
        directory: "ns-test-cert-elsewhere", commonName: "receiver.invalid", alternativeNames: "DNS:receiver.invalid")

    private static func make(directory name: String, commonName: String, alternativeNames: String) -> TestCertificate {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("\(name)-\(getpid())")
        try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let certificate = directory.appendingPathComponent("cert.pem").path
        let key = directory.appendingPathComponent("key.pem").path
        let status = LocalStack.run(
            [
                "/usr/bin/openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=\(commonName)",
                "-days", "2", "-addext", "subjectAltName=\(alternativeNames)", "-keyout", key, "-out", certificate,
            ], ProcessInfo.processInfo.environment)
        precondition(
            status == 0, "openssl could not make the test certificate (status \(status.map(String.init) ?? "none"))")
        return TestCertificate(certificateFile: certificate, keyFile: key)
    }

    /// The certificate for `names`, made on a thread of its own the first time: openssl
    /// runs for a second or more when every test starts at once, and every task that
    /// reaches it meanwhile blocks the thread it runs on (two in all on a 2-core machine).
    public static func made(_ names: Names = .loopback) async throws -> TestCertificate {
        try await OffPool.run {
            switch names {
            case .loopback: shared
            case .elsewhere: elsewhere
            }
        }
    }
}
