import ArgumentParser

/// The TLS identity of a benchmark's loopback HTTPS receiver (`WebhookSink`), as the
/// scripts make it; the service under test trusts the certificate as its CA file.
public struct ReceiverCertificate: ParsableArguments {
    @Option(help: "PEM certificate (for 127.0.0.1) of the loopback receiver.")
    public var certificate: String

    @Option(help: "Its private key.")
    public var key: String

    public init() {}
}
