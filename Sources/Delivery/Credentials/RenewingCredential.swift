import Foundation
import Logging
import ReminderCore

/// A bearer token that renews itself on its issuer's schedule and when the provider
/// refuses it as expired.
///
/// Renewal is single-flight: however many sends find the token due (or refused) at
/// once, one `issue` runs, in a task of its own (a send that is cancelled meanwhile does
/// not cancel it for the others), and all of them get its result. When a renewal fails
/// while the old token has not expired yet, the old one is still used (and renewal is
/// tried again by the next send): an outage of the token endpoint costs nothing until
/// the token runs out.
public actor RenewingCredential: BearerCredential {
    private let issuer: any TokenIssuer
    private let now: @Sendable () -> Date
    private let logger: Logger
    private var current: IssuedToken?
    private var inFlight: Task<Result<IssuedToken, DeliveryFailure>, Never>?

    /// `now`: the wall clock (JWT times are wall-clock seconds); tests pass their own.
    public init(issuer: any TokenIssuer, logger: Logger, now: @escaping @Sendable () -> Date = { Date() }) {
        self.issuer = issuer
        self.logger = logger
        self.now = now
    }

    public func token() async throws(DeliveryFailure) -> String {
        let time = now()
        if let current, time < current.renewAt { return current.value }
        switch await renewal() {
        case .success(let renewed):
            return renewed.value
        case .failure(let failure):
            // Checked after the renewal: a fresh `now`, since the attempt took time.
            if let current, now() < current.expiresAt {
                logger.warning(
                    "token renewal failed; the current token is used until it expires",
                    metadata: ["credential": "\(issuer)", "failure": "\(failure.errorClass)"])
                return current.value
            }
            throw failure
        }
    }

    public func renew(after rejected: String) async throws(DeliveryFailure) -> String? {
        if let current, current.value != rejected, now() < current.expiresAt, inFlight == nil {
            return current.value
        }
        return try await renewal().get().value
    }

    /// Joins the renewal in flight, or starts one.
    private func renewal() async -> Result<IssuedToken, DeliveryFailure> {
        if let inFlight { return await inFlight.value }
        let issuer = self.issuer
        let now = self.now
        let task = Task { () -> Result<IssuedToken, DeliveryFailure> in
            do throws(DeliveryFailure) {
                return .success(try await issuer.issue(now: now()))
            } catch {
                return .failure(error)
            }
        }
        inFlight = task
        let result = await task.value
        inFlight = nil
        if case .success(let renewed) = result {
            current = renewed
            logger.debug("token renewed", metadata: ["credential": "\(issuer)", "renew_at": "\(renewed.renewAt)"])
        }
        return result
    }

    public nonisolated var description: String { "renewing bearer token (redacted) from \(issuer)" }
}
