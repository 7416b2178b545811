import Delivery
import Foundation
import Logging
import ReminderCore
import ReminderStore
import ServiceContextModule
import ServiceLifecycle
import Synchronization
import Tracing

/// Sends due reminders. Claims them from the database (`FOR UPDATE SKIP LOCKED`, so any
/// number of instances share the work without sending anything twice), delivers each
/// through its channels with bounded concurrency, and records the outcome in batches.
/// Wakes when ingest announces new work (`LISTEN`), when the next reminder falls due,
/// when a sending slot frees up while it was full, and at the latest after
/// `maximumIdle` (leases that run out, a missed notification).
///
/// The leases of its sends are renewed while they are in flight and until their outcome
/// is recorded (`LeaseKeeper`); an outcome the database cannot take is kept and recorded
/// before anything new is claimed (`CompletionRecorder`); leases that ran out are taken
/// over only once this instance has reached the database for a whole lease.
///
/// Graceful shutdown: stops claiming, lets the sends in hand finish and records them.
///
/// Its waits (idle, backoff, a store call's limit) run on `C`, the continuous clock in
/// production and a `ManualClock` in tests; due times and leases are read against the
/// wall clock `now`.
public final class Dispatcher<C: Clock>: Service, Sendable where C.Duration == Duration {
    public typealias Configuration = DispatcherConfiguration

    private let store: any DispatchStoring
    private let deliverer: ReminderDeliverer
    private let wakeups: DatabaseConfiguration?
    private let configuration: Configuration
    private let logger: Logger
    private let slots: Mutex<SendSlots>
    private let metrics: ServiceMetrics
    /// The wall clock that due times, leases and expiries are read against.
    private let now: @Sendable () -> Date
    /// The clock the dispatcher waits on.
    private let clock: C

    /// `wakeups`: the database to `LISTEN` on for new work; nil to rely on timers only.
    /// `now`: the wall clock (tests move a store's and the dispatcher's clock together).
    /// `clock`: what the dispatcher's waits are measured on.
    public init(
        store: any DispatchStoring, deliverer: ReminderDeliverer, wakeups: DatabaseConfiguration?,
        configuration: Configuration, logger: Logger, metrics: ServiceMetrics = ServiceMetrics(),
        now: @escaping @Sendable () -> Date = { Date() }, clock: C
    ) {
        self.clock = clock
        self.now = now
        self.metrics = metrics
        self.store = store
        self.deliverer = deliverer
        self.wakeups = wakeups
        self.configuration = configuration
        self.logger = logger
        // Claims are batched: with sends in flight, the loop waits until a quarter of the
        // slots (or a claim batch) is free rather than claiming one by one. Outcomes: a
        // full batch being written and a full one waiting for it.
        slots = Mutex(
            SendSlots(
                concurrency: configuration.concurrency,
                minimumClaim: max(1, min(configuration.claimBatch, configuration.concurrency / 4)),
                backlogLimit: 2 * configuration.recordBatch))
    }

    public func run() async {
        let wake = WakeSignal()
        let leases = LeaseKeeper(lease: configuration.lease, clock: clock, now: now, logger: logger)
        let recorder = CompletionRecorder(
            store: store, maximumBatch: configuration.recordBatch,
            retry: RetryLoop(backoff: configuration.retry, clock: clock), statementLimit: .seconds(10), leases: leases,
            logger: logger)
        let recordGiveUp = configuration.recordGiveUp
        await withDiscardingTaskGroup { background in
            if let wakeups {
                background.addTask { [logger] in
                    await wakeups.listen(on: DispatchStore.wakeChannel, logger: logger) { wake.signal() }
                }
            }
            background.addTask { [store] in await leases.run(store: store) }
            await withDiscardingTaskGroup { sends in
                await withTaskCancellationHandler {
                    await withGracefulShutdownHandler {
                        await claimLoop(sends: &sends, wake: wake, recorder: recorder, leases: leases)
                    } onGracefulShutdown: {
                        wake.signal()
                        Task { await recorder.giveUp(after: recordGiveUp) }
                    }
                } onCancel: {
                    wake.signal()
                    // Cancelled (the shutdown's time is up): sends waiting for their
                    // outcome to be stored stop waiting at the recorder's next failure.
                    Task { await recorder.giveUp(after: .zero) }
                }
                // Leaving this scope waits for the sends in hand.
            }
            background.cancelAll()
        }
        logger.info("dispatcher stopped")
    }

    private func claimLoop(
        sends: inout DiscardingTaskGroup, wake: WakeSignal, recorder: CompletionRecorder<C>, leases: LeaseKeeper<C>
    ) async {
        let retry = RetryLoop(backoff: configuration.retry, clock: clock)
        let clock = self.clock
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            // No room while the slots are (nearly) all taken, or while the outcome
            // statements have fallen behind: an answer or a group commit wakes the loop.
            let free = slots.withLock { $0.room() }
            if free <= 0 {
                await wake.wait(timeout: configuration.maximumIdle, on: clock)
                continue
            }
            // Outcomes the database did not take come first: nothing new is claimed
            // until they are stored.
            if await recorder.isFailing {
                await wake.wait(timeout: min(configuration.maximumIdle, leases.interval), on: clock)
                continue
            }
            let limit = min(free, configuration.claimBatch)
            let claimed: [DispatchStore.Claimed]
            let claimStarted = DefaultTracerClock.now
            do {
                let store = self.store
                let lease = configuration.lease
                // A wake-up (work announced, as after the database's return) ends the
                // backoff early. Whether leases that ran out may be taken over is asked
                // again on every try: a claim retried through an outage must not take
                // over with a permission from before it (a failure withdraws it until
                // the database has answered for a whole lease), or it takes the
                // reminders of live senders that have not renewed yet.
                claimed = try await retry.run(
                    stopWhen: { Task.isShuttingDownGracefully },
                    waitingWith: { await wake.wait(timeout: $0, on: clock) },
                    onFailure: { failure in
                        leases.observe(reached: false)
                        logger.warning(
                            "claiming due reminders failed",
                            metadata: ["error": "\(failure.error)", "retry_in": "\(failure.retryIn)"])
                    }
                ) {
                    try await StoreDeadline.run(.seconds(10), on: clock, operation: "claim due reminders") {
                        try await store.claim(limit: limit, lease: lease, takingOver: leases.mayTakeOver)
                    }
                }
                leases.observe(reached: true)
            } catch {
                // Cancelled or shutting down while the claims failed.
                return
            }
            if !claimed.isEmpty {
                leases.hold(claimed)
                DispatchTrace.claimed(claimed, startedAt: claimStarted)
                slots.withLock { $0.claimed(claimed.count) }
                for reminder in claimed {
                    sends.addTask {
                        let retrying = await self.deliver(reminder, recorder: recorder, leases: leases) {
                            // The slot is free once the provider has answered, while the
                            // outcome waits for its group commit.
                            if self.slots.withLock({ $0.answered() }) { wake.signal() }
                        }
                        // A retry may fall due before the loop's next look.
                        if self.slots.withLock({ $0.recorded() }) || retrying { wake.signal() }
                    }
                }
            }
            // A full claim: more may be due right now.
            if claimed.count == limit { continue }
            await wake.wait(timeout: await idleTime(), on: clock)
        }
    }

    /// Until the next reminder falls due, at most `maximumIdle`.
    private func idleTime() async -> Duration {
        let store = self.store
        let lookup = try? await StoreDeadline.run(.seconds(10), on: clock, operation: "look up the next due time") {
            try await store.nextDueTime()
        }
        guard let next = lookup else { return configuration.maximumIdle }
        let seconds = next.timeIntervalSince(now())
        // Due already, yet not claimed: locked by another instance or by ingest, or a
        // lease that ran out which this instance may not take over yet. A short pause
        // instead of spinning on the same rows (a longer one for the lease would delay
        // due work that merely came due since the claim).
        guard seconds > 0 else { return .milliseconds(20) }
        return min(configuration.maximumIdle, .microseconds(Int64(seconds * 1_000_000) + 1_000))
    }

    /// One delivery attempt of a claimed reminder, recorded; `afterSending` runs between
    /// the two. Returns whether a retry was scheduled.
    @discardableResult
    func deliver(
        _ claimed: DispatchStore.Claimed, recorder: CompletionRecorder<C>, leases: LeaseKeeper<C>? = nil,
        afterSending: @Sendable () -> Void
    ) async -> Bool {
        var logger = self.logger
        logger[metadataKey: "reminder_id"] = "\(claimed.reminderID)"
        if let correlationID = claimed.correlationID { logger[metadataKey: "correlation_id"] = "\(correlationID)" }
        logger[metadataKey: "attempt"] = "\(claimed.attempt)"
        if let traceID = claimed.trace?.traceID { logger[metadataKey: "trace_id"] = "\(traceID)" }
        if claimed.previousState == .sending {
            logger.warning(
                "reminder taken over after its lease ran out; the earlier send may have reached the provider")
        }
        let span = DispatchTrace.startDelivery(claimed)
        let completion: DispatchStore.Completion
        if let span {
            completion = await ServiceContext.withValue(span.context) { await attempt(claimed, logger: logger) }
        } else {
            completion = await attempt(claimed, logger: logger)
        }
        afterSending()
        leases?.recording(claimed.id)
        let recording = await recorder.record(completion)
        leases?.release(claimed.id)
        if let span { DispatchTrace.finish(span, completion, recorded: recording.isRecorded) }
        if recording.isRecorded {
            metrics.dispatched(completion, dueAt: claimed.dueAt, at: now(), decided: recording == .recorded)
        }
        switch (completion.result, recording) {
        case (_, .leaseLost):
            logger.warning("outcome not recorded: the lease ran out and another dispatcher took the reminder")
        case (_, .failed):
            break
        case (_, .changed(let change)):
            logger.info(
                "the attempt was not accepted; the \(change.rawValue) that waited on the reminder applied",
                metadata: ["error_class": "\(completion.errorClass ?? "")"])
        case (.delivered, .recorded):
            let lateness = now().timeIntervalSince(claimed.dueAt)
            logger.info("reminder delivered", metadata: ["lateness_ms": "\(Int(lateness * 1_000))"])
        case (.retry(let delay), .recorded):
            logger.info(
                "delivery failed; retry scheduled",
                metadata: ["retry_in": "\(delay)", "error_class": "\(completion.errorClass ?? "")"])
        case (.postponed(let delay), .recorded):
            logger.info("due inside the user's quiet hours; postponed to their end", metadata: ["due_in": "\(delay)"])
        case (.deadLetter(let reason, _), .recorded):
            logger.warning(
                "reminder dead-lettered",
                metadata: ["reason": "\(reason.rawValue)", "error_class": "\(completion.errorClass ?? "")"])
        }
        switch (completion.result, recording) {
        // Due again (a replacement that applied may be due now).
        case (.retry, .recorded), (.postponed, .recorded), (_, .changed(.replace)): return true
        default: return false
        }
    }

    private func attempt(_ claimed: DispatchStore.Claimed, logger: Logger) async -> DispatchStore.Completion {
        func completion(_ result: DispatchStore.Completion.Result, progress: ChannelProgress, errorClass: String?)
            -> DispatchStore.Completion
        {
            DispatchStore.Completion(
                id: claimed.id, attempt: claimed.attempt, result: result, progress: progress, errorClass: errorClass,
                channelAttempts: [], series: series, occurrence: claimed.occurrence, occurrenceAt: occurrenceAt)
        }
        let (series, occurrenceAt) = claimed.series(now: Instant(now()))
        let channels: [Channel]
        let content: Content
        do {
            channels = try StoredDelivery.channels(fromJSON: claimed.channels)
            content = try StoredDelivery.content(fromJSON: claimed.content)
        } catch {
            // The progress goes back as it was stored.
            let stored = ChannelProgress(
                channelCount: claimed.channelStatus.count, failures: claimed.channelFailures,
                statuses: claimed.channelStatus)
            return completion(
                .deadLetter(.permanentFailure, error: "the stored reminder cannot be read: \(error)"), progress: stored,
                errorClass: "unreadable")
        }
        let progress = ChannelProgress(
            channelCount: channels.count, failures: claimed.channelFailures, statuses: claimed.channelStatus)
        if let expired = CompletionPlanner.expiry(
            expiresAt: claimed.expiresAt.map(Instant.init), now: Instant(now()))
        {
            return completion(expired, progress: progress, errorClass: "expired")
        }
        // A retry, replay or takeover that fell due inside the user's quiet hours waits
        // for their end, unsent.
        if let postponed = CompletionPlanner.postponement(
            quietHours: claimed.quietHours, timeZone: claimed.timeZone, now: Instant(now()))
        {
            return completion(postponed, progress: progress, errorClass: nil)
        }
        let request = DeliveryRequest(
            reminderID: claimed.reminderID, userID: claimed.userID, correlationID: claimed.correlationID,
            channel: channels[0], content: content, attempt: claimed.attempt, dueAt: Instant(claimed.dueAt),
            occurrence: claimed.occurrence)
        let report = await deliverer.deliver(request, channels: channels, progress: progress, logger: logger)
        // A retry that would fall due inside the quiet hours waits for their end.
        let outcome = CompletionPlanner.outsideQuietHours(
            report.outcome, quietHours: claimed.quietHours, timeZone: claimed.timeZone, now: Instant(now()))
        return DispatchStore.Completion(
            id: claimed.id, attempt: claimed.attempt, result: outcome, progress: report.progress,
            errorClass: report.attempts.last(where: { $0.errorClass != nil })?.errorClass,
            channelAttempts: report.attempts, series: series, occurrence: claimed.occurrence, occurrenceAt: occurrenceAt
        )
    }
}

/// How a `Dispatcher` claims, sends and records.
public struct DispatcherConfiguration: Sendable {
    /// Sends in flight at most.
    public var concurrency: Int
    /// Reminders claimed per statement at most.
    public var claimBatch: Int
    /// How long a claim holds a reminder: longer than the slowest attempt through all
    /// of a reminder's channels, or another instance takes it over mid-send.
    public var lease: Duration
    /// The longest sleep without looking for work.
    public var maximumIdle: Duration
    /// Outcomes recorded per statement at most. While two batches' worth wait for the
    /// database, nothing new is claimed: at most `concurrency + 2 × recordBatch`
    /// reminders are sent and not yet recorded at any time (a crash sends those again).
    public var recordBatch: Int
    /// The longest a graceful shutdown waits for the database to take the outcomes still
    /// held (while running, an outcome is retried until it is stored): an outcome not
    /// recorded is sent again once its lease runs out.
    public var recordGiveUp: Duration
    /// Backoff of claims and records while the database fails.
    public var retry: ExponentialBackoff

    public init(
        concurrency: Int = 128, claimBatch: Int = 100, lease: Duration = .seconds(300),
        maximumIdle: Duration = .seconds(5), recordBatch: Int = 500, recordGiveUp: Duration = .seconds(60),
        retry: ExponentialBackoff = .infrastructure
    ) {
        self.recordGiveUp = recordGiveUp
        self.concurrency = concurrency
        self.claimBatch = claimBatch
        self.lease = lease
        self.maximumIdle = maximumIdle
        self.recordBatch = recordBatch
        self.retry = retry
    }
}

extension Dispatcher where C == ContinuousClock {
    /// A dispatcher that waits on the continuous clock, as in production.
    public convenience init(
        store: any DispatchStoring, deliverer: ReminderDeliverer, wakeups: DatabaseConfiguration?,
        configuration: Configuration, logger: Logger, metrics: ServiceMetrics = ServiceMetrics(),
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.init(
            store: store, deliverer: deliverer, wakeups: wakeups, configuration: configuration, logger: logger,
            metrics: metrics, now: now, clock: ContinuousClock())
    }
}
