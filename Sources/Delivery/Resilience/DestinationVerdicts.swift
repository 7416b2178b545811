import Foundation
import Synchronization

/// `DestinationPolicy`'s answers for the addresses a provider was given, kept: a verdict
/// depends on the address's text alone (hosts are judged by name, never resolved), and
/// reading a URL and judging its host cost more than the rest of a webhook's own work per
/// send. At most `capacity` addresses are kept (`AddressMemo`).
final class DestinationVerdicts: Sendable {
    enum Verdict: Sendable, Equatable {
        case allowed
        case refused(String)
        /// Not a URL at all.
        case unreadable
    }

    let policy: DestinationPolicy
    private let known: Mutex<AddressMemo<Verdict>>

    init(_ policy: DestinationPolicy, capacity: Int = 4_096) {
        self.policy = policy
        self.known = Mutex(AddressMemo(capacity: capacity))
    }

    func verdict(for address: String) -> Verdict {
        // Judged outside the lock: sends to other addresses need not wait for it.
        if let verdict = known.withLock({ $0.value(for: address) }) { return verdict }
        let verdict: Verdict
        if let url = URL(string: address) {
            verdict = policy.refusal(for: url).map(Verdict.refused) ?? .allowed
        } else {
            verdict = .unreadable
        }
        known.withLock { $0.keep(verdict, for: address) }
        return verdict
    }

    /// How many addresses it holds.
    var count: Int { known.withLock { $0.count } }
}
