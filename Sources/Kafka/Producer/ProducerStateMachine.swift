/// A producer's life as a state machine without I/O: producing, then asked to stop
/// (with how long to flush what is queued), then closed. The poll thread and the callers
/// hold one lock around it and make librdkafka's calls themselves.
struct ProducerStateMachine: Equatable {
    enum PollAction: Equatable {
        /// Serve delivery reports.
        case poll
        /// Deliver what is queued within this time, fail the rest, free the handle.
        case shutDown(flushTimeout: Duration)
        /// Closed: the poll thread has ended.
        case none
    }

    private enum State: Equatable {
        case producing
        case stopRequested(flushTimeout: Duration)
        case shuttingDown
        case closed
    }

    private var state = State.producing

    /// Asks the producer to stop. The first request's flush timeout holds.
    mutating func requestStop(flushTimeout: Duration) {
        if state == .producing { state = .stopRequested(flushTimeout: flushTimeout) }
    }

    mutating func nextPollAction() -> PollAction {
        switch state {
        case .producing:
            return .poll
        case .stopRequested(let flushTimeout):
            state = .shuttingDown
            return .shutDown(flushTimeout: flushTimeout)
        case .shuttingDown, .closed:
            return .none
        }
    }

    mutating func closed() {
        state = .closed
    }
}
