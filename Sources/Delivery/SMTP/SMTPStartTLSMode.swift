/// Whether a send upgrades the connection to TLS with STARTTLS before it authenticates
/// and hands over the message.
public enum SMTPStartTLSMode: String, Sendable, Equatable, CaseIterable {
    /// Plain text throughout: only for a relay on a trusted network or loopback.
    case off
    /// TLS when the server offers STARTTLS, plain text otherwise. Credentials then travel
    /// in clear to a server that does not offer it: prefer `.required` with credentials.
    case opportunistic
    /// TLS or nothing: a server that does not offer STARTTLS fails the send with the
    /// transient `starttls_unavailable`, so the reminder waits for the server to be fixed
    /// instead of leaking the message or the password.
    case required
}
