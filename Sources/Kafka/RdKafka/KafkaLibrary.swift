import CRdKafka

/// Facts about the librdkafka this process has loaded.
public enum KafkaLibrary {
    /// The loaded librdkafka's version, for example `2.8.0`.
    public static var version: String { String(cString: rd_kafka_version_str()) }

    /// The oldest librdkafka that talks to current brokers: 2.2.0 fixed the parsing of
    /// tagged fields (librdkafka PR #4278) that breaks the ApiVersions handshake before it.
    public static let minimumVersion = (major: 2, minor: 2, patch: 0)

    /// Throws when the librdkafka loaded at run time is older than `minimumVersion`.
    ///
    /// Headers and library can disagree: both the old and the new library are named
    /// `librdkafka.so.1`, so a binary built against new headers without a run path loads
    /// the system's old one. Every client checks this before it creates a handle.
    public static func checkVersion() throws(KafkaError) {
        if let versionError { throw versionError }
    }

    private static let versionError = versionError(loaded: Int(rd_kafka_version()), named: version)

    /// The error for a loaded librdkafka (its `rd_kafka_version()` number and name), or
    /// nil when it is new enough.
    static func versionError(loaded: Int, named name: String) -> KafkaError? {
        let (major, minor, patch) = ((loaded >> 24) & 0xFF, (loaded >> 16) & 0xFF, (loaded >> 8) & 0xFF)
        let minimum = minimumVersion
        if (major, minor, patch) >= (minimum.major, minimum.minor, minimum.patch) { return nil }
        return KafkaError(
            category: .unsupportedLibrary,
            name: "unsupported_librdkafka",
            message: """
                librdkafka \(name) is loaded, but \(minimum.major).\(minimum.minor).\(minimum.patch) or newer \
                is required (older versions fail the ApiVersions handshake with current brokers). \
                Run scripts/setup.sh and build with its environment (source scripts/env.sh; ns_use_rdkafka) \
                so that the binary's run path points at the newer library, or install librdkafka >= 2.2.
                """,
            operation: "start")
    }
}
