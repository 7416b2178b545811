import Foundation
import PostgresNIO
import ReminderCore
import ReminderStore
import TestSupport
import Testing

@Suite(.timeLimit(.minutes(6)))
struct DispatchCompletionTests {
    let email: [[String: Any]] = [
        ["type": "email", "to": "ada@example.com"], ["type": "sms", "to": "+4915112345678"],
    ]

    private func claimOne(_ dispatch: DispatchStore, lease: Duration = .seconds(60)) async throws
        -> DispatchStore.Claimed
    {
        let claimed = try await dispatch.claim(limit: 1, lease: lease)
        return try #require(claimed.first)
    }

    private func history(_ client: PostgresClient, _ id: Int64) async throws -> [String] {
        var lines: [String] = []
        let rows = try await client.query(
            """
            SELECT coalesce(from_state, '-') || '>' || to_state || ':' || event || ':' || attempt
            FROM reminder_history WHERE reminder_id = \(id) ORDER BY id
            """, logger: TestDatabase.logger)
        for try await line in rows.decode(String.self) { lines.append(line) }
        return lines
    }

    @Test func aDeliveryIsRecordedWithItsHistoryAndChannelAttempts() async throws {
        try await TestDatabase.withDatabase { client, _ in
            try await DueReminders.store(client, count: 1, prefix: "d", channels: email)
            let dispatch = DispatchStore(client: client, logger: TestDatabase.logger)
            let claimed = try await claimOne(dispatch)
            #expect(claimed.channelStatus == "" && claimed.channelFailures.isEmpty)
            var progress = ChannelProgress(channelCount: 2)
            var planner = DeliveryAttemptPlanner(progress: progress, policies: [.default, .default])
            _ = planner.start()
            let bounced = SendOutcome.failed(.permanent("smtp_550", "550 5.1.1"))
            _ = planner.record(bounced, on: 0, random: 0)
            progress = planner.progress
            let lost = try await dispatch.complete([
                .init(
                    id: claimed.id, attempt: claimed.attempt, result: .delivered, progress: progress,
                    errorClass: "smtp_550",
                    channelAttempts: [
                        .init(
                            channelIndex: 0, channel: "email", provider: "smtp", sent: bounced,
                            latency: .microseconds(12_500)),
                        .init(
                            channelIndex: 1, channel: "sms", provider: "twilio", outcome: .delivered, errorClass: nil,
                            answer: "HTTP 201", latency: .milliseconds(3)),
                    ])
            ])
            #expect(lost == DispatchStore.CompletionReport())
            let transitions = try await history(client, claimed.id)
            #expect(
                transitions == [
                    "PENDING>SCHEDULED:schedule:0", "SCHEDULED>SENDING:claim:1", "SENDING>DELIVERED:deliver:1",
                ])
            let row = try await client.query(
                "SELECT state, channel_status, lease_until IS NULL FROM reminders WHERE id = \(claimed.id)",
                logger: TestDatabase.logger
            ).collect().first!.decode((String, String, Bool).self)
            #expect(row.0 == "DELIVERED" && row.1 == "po" && row.2)
            #expect(
                try await TestDatabase.count(
                    client,
                    "SELECT count(*)::int8 FROM delivery_attempts WHERE outcome = 'permanent' AND answer = '550 5.1.1'")
                    == 1)
        }
    }

    @Test func aRetryIsDueAgainAfterItsDelayAndKeepsItsProgress() async throws {
        try await TestDatabase.withDatabase { client, _ in
            try await DueReminders.store(client, count: 1, prefix: "r", channels: email)
            let dispatch = DispatchStore(client: client, logger: TestDatabase.logger)
            let first = try await claimOne(dispatch)
            let progress = ChannelProgress(channelCount: 2, failures: [1, 0], statuses: "oo")
            try await dispatch.complete([
                .init(
                    id: first.id, attempt: first.attempt, result: .retry(after: .seconds(4)), progress: progress,
                    errorClass: "smtp_451",
                    channelAttempts: [
                        .init(
                            channelIndex: 0, channel: "email", provider: "smtp", outcome: .transient,
                            errorClass: "smtp_451", answer: "451 4.3.0", latency: .milliseconds(1))
                    ])
            ])
            // Due exactly the delay after the failure was recorded (one transaction, one now()).
            #expect(
                try await TestDatabase.count(
                    client,
                    """
                    SELECT count(*)::int8 FROM reminders r JOIN reminder_history t ON t.reminder_id = r.id
                    WHERE t.event = 'scheduleRetry' AND r.state = 'RETRY' AND r.due_at = t.at + interval '4 seconds'
                    """) == 1)
            // Not claimable before then (4 s is far more than a claim takes on a loaded machine).
            #expect(try await dispatch.claim(limit: 1, lease: .seconds(60)).isEmpty)
            try await eventually(.seconds(15), "the retry falls due") {
                try await TestDatabase.count(client, "SELECT count(*)::int8 FROM reminders WHERE due_at <= now()") == 1
            }
            let second = try await claimOne(dispatch)
            #expect(second.attempt == 2 && second.previousState == .retry)
            #expect(second.channelFailures == [1, 0] && second.channelStatus == "oo")
            let transitions = try await history(client, first.id)
            #expect(
                transitions == [
                    "PENDING>SCHEDULED:schedule:0", "SCHEDULED>SENDING:claim:1", "SENDING>FAILED:fail:1",
                    "FAILED>RETRY:scheduleRetry:1",
                    "RETRY>SENDING:claim:2",
                ])
            #expect(
                try await TestDatabase.count(
                    client, "SELECT count(*)::int8 FROM delivery_attempts WHERE retry_delay_ms = 4000") == 1)
        }
    }

    @Test func aDeadLetterGoesToTheOutboxWithTheOriginalMessage() async throws {
        try await TestDatabase.withDatabase { client, _ in
            try await DueReminders.store(client, count: 1, prefix: "x", channels: email)
            let dispatch = DispatchStore(client: client, logger: TestDatabase.logger)
            let claimed = try await claimOne(dispatch)
            try await dispatch.complete([
                .init(
                    id: claimed.id, attempt: claimed.attempt,
                    result: .deadLetter(.permanentFailure, error: "email via smtp: smtp_550 (550 5.1.1)"),
                    progress: ChannelProgress(channelCount: 2, failures: [0, 0], statuses: "pp"),
                    errorClass: "smtp_550",
                    channelAttempts: [])
            ])
            let letters = try await DeadLetterStore(client: client, logger: TestDatabase.logger).unpublished(limit: 10)
            let letter = try #require(letters.first)
            #expect(letters.count == 1)
            #expect(letter.reason == "permanent_failure" && letter.attempts == 1)
            #expect(letter.idempotencyKey == "x-key-0" && letter.correlationID == "corr-x-0")
            #expect(letter.value.map { String(decoding: $0, as: UTF8.self).contains("\"x-0\"") } == true)
            let transitions = try await history(client, claimed.id)
            #expect(transitions.suffix(2) == ["SENDING>FAILED:fail:1", "FAILED>DEAD_LETTER:deadLetter:1"])
        }
    }

    @Test func anOutcomeAfterTheLeaseWasTakenOverIsNotRecorded() async throws {
        try await TestDatabase.withDatabase { client, _ in
            try await DueReminders.store(client, count: 1, prefix: "l", channels: email)
            let dispatch = DispatchStore(client: client, logger: TestDatabase.logger)
            let first = try await claimOne(dispatch, lease: .milliseconds(200))
            try await Task.sleep(for: .milliseconds(300))
            let second = try await claimOne(dispatch)
            #expect(second.id == first.id && second.previousState == .sending && second.attempt == 2)
            let lost = try await dispatch.complete([
                .init(
                    id: first.id, attempt: first.attempt, result: .delivered,
                    progress: ChannelProgress(channelCount: 2),
                    errorClass: nil, channelAttempts: [])
            ])
            #expect(lost.notRecorded == [first.id])
            #expect(
                try await TestDatabase.count(client, "SELECT count(*)::int8 FROM reminders WHERE state = 'SENDING'")
                    == 1)
        }
    }
}
