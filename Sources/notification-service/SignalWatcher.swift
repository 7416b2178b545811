import Dispatch
import Foundation

/// Calls `handler` once on the first of the given signals, instead of the default
/// action (termination), so that the service can shut down cleanly.
/// `@unchecked`: the sources are only created in `init` and cancelled, which Dispatch allows from any thread.
final class SignalWatcher: @unchecked Sendable {
    private let sources: [any DispatchSourceSignal]

    init(signals: [Int32], handler: @escaping @Sendable () -> Void) {
        let queue = DispatchQueue(label: "signal-watcher")
        sources = signals.map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
            source.setEventHandler(handler: handler)
            source.resume()
            return source
        }
    }

    func cancel() {
        sources.forEach { $0.cancel() }
    }
}
