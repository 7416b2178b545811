import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import ReminderCore

/// Classifies what went wrong below SMTP — the connection, the TLS session — for the
/// dispatcher. All of it is transient: a server that cannot be reached now may be
/// reachable later, and the message is the same.
enum SMTPTransportFailure {
    static func classify(_ error: any Error) -> DeliveryFailure {
        switch error {
        case let failure as DeliveryFailure:
            return failure
        case ChannelError.connectTimeout:
            return .transient("timeout", "connecting to the SMTP server timed out")
        case let error as NIOConnectionError:
            if error.connectionErrors.isEmpty && (error.dnsAError != nil || error.dnsAAAAError != nil) {
                return .transient("connection", "cannot resolve the SMTP server's name")
            }
            let causes = error.connectionErrors.map { classify($0.error) }
            let errorClass = causes.contains { $0.errorClass == "connection" } ? "connection" : "timeout"
            let answers = Set(causes.map(\.answer)).sorted().joined(separator: ", ")
            return .transient(
                causes.isEmpty ? "connection" : errorClass, "cannot connect to the SMTP server: \(answers)")
        case let error as IOError:
            switch error.errnoCode {
            case ECONNREFUSED: return .transient("connection", "connection refused")
            case ECONNRESET, EPIPE: return .transient("connection", "connection reset")
            case ETIMEDOUT: return .transient("timeout", "connection timed out")
            case EHOSTUNREACH, ENETUNREACH: return .transient("connection", "host unreachable")
            default: return .transient("connection", "I/O error \(error.errnoCode)")
            }
        case is NIOSSLError, is BoringSSLError, is NIOSSLExtraError, is NIOSSLCloseTimedOutError:
            // The library's description names the TLS error (CERTIFICATE_VERIFY_FAILED and
            // the like), nothing personal.
            return .transient("tls", "TLS with the SMTP server failed: \(error)")
        case let error as ChannelError:
            return .transient("connection", "connection to the SMTP server failed: \(error)")
        default:
            return .transient("connection", "connection to the SMTP server failed: \(type(of: error))")
        }
    }
}
