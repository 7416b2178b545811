import Foundation

/// A self-signed certificate for 127.0.0.1 and localhost, made once per test process
/// with the openssl command: the loopback provider servers present it, and the clients
/// under test trust it through their CA-file setting.
public struct TestCertificate: Sendable {
    public let certificateFile: String
    public let keyFile: String

    public static let shared: TestCertificate = {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("ns-test-cert-\(getpid())")
        try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let certificate = directory.appendingPathComponent("cert.pem").path
        let key = directory.appendingPathComponent("key.pem").path
        let status = LocalStack.run(
            [
                "/usr/bin/openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost",
                "-days", "2", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", "-keyout", key, "-out",
                certificate,
            ], ProcessInfo.processInfo.environment)
        precondition(
            status == 0, "openssl could not make the test certificate (status \(status.map(String.init) ?? "none"))")
        return TestCertificate(certificateFile: certificate, keyFile: key)
    }()

    /// `shared`, made on a thread of its own the first time: openssl runs for a second or
    /// more when every test starts at once, and every task that reaches `shared`
    /// meanwhile blocks the thread it runs on (two in all on a 2-core machine).
    public static func made() async throws -> TestCertificate {
        try await OffPool.run { shared }
    }
}
