import ReminderCore
import ReminderStore
import Tracing

/// The dispatcher's spans. A claim that took reminders is a span linked to each of
/// their traces; each delivery attempt is a span in the trace of the reminder's event
/// (a child of its consume span, however long ago that was), with a child span per
/// channel tried (`ReminderDeliverer`). With the no-op tracer no attribute is built.
enum DispatchTrace {
    /// Records a claim that took reminders, from `startedAt` until now.
    static func claimed(_ reminders: [DispatchStore.Claimed], startedAt: DefaultTracerClock.Instant) {
        guard TracingBackend.isEnabled, !reminders.isEmpty else { return }
        let span = startSpan("claim due reminders", context: .topLevel, ofKind: .internal, at: startedAt)
        span.attributes["db.system.name"] = "postgresql"
        span.attributes["notification.claimed"] = reminders.count
        for reminder in reminders.prefix(TracePropagation.maximumLinks) {
            span.addLink(SpanLink(context: TracePropagation.context(continuing: reminder.trace), attributes: [:]))
        }
        span.end()
    }

    /// The span of one delivery attempt, continuing the reminder's trace; nil with the
    /// no-op tracer (nothing to start, and no context for the sends to run in).
    static func startDelivery(_ reminder: DispatchStore.Claimed) -> (any Span)? {
        guard TracingBackend.isEnabled else { return nil }
        let span = startSpan(
            "deliver reminder", context: TracePropagation.context(continuing: reminder.trace), ofKind: .internal)
        guard span.isRecording else { return span }
        span.updateAttributes { attributes in
            attributes["notification.reminder_id"] = reminder.reminderID
            attributes["notification.attempt"] = reminder.attempt
            if reminder.previousState == .sending { attributes["notification.taken_over"] = true }
        }
        return span
    }

    /// Ends a delivery attempt's span with what came of it.
    static func finish(_ span: any Span, _ completion: DispatchStore.Completion, recorded: Bool) {
        defer { span.end() }
        // The no-op span keeps nothing: no attribute is built for it.
        guard span.isRecording else { return }
        switch completion.result {
        case .delivered:
            span.attributes["notification.outcome"] = "delivered"
        case .retry(let delay):
            span.attributes["notification.outcome"] = "retry"
            span.attributes["notification.retry_in_ms"] = Int(delay.wholeMilliseconds)
        case .postponed(let delay):
            span.attributes["notification.outcome"] = "postponed"
            span.attributes["notification.retry_in_ms"] = Int(delay.wholeMilliseconds)
        case .deadLetter(let reason, _):
            span.attributes["notification.outcome"] = "dead_letter"
            span.attributes["notification.dead_letter.reason"] = reason.rawValue
            span.setStatus(SpanStatus(code: .error, message: reason.rawValue))
        }
        if let errorClass = completion.errorClass { span.attributes["error.type"] = errorClass }
        if !recorded { span.attributes["notification.recorded"] = false }
    }
}
