import BenchmarkSupport
import Foundation
import PostgresNIO
import ReminderStore
import TestSupport

extension ChaosSuite {
    /// Occurrences of each series of `recurringSeries` (its rule's `count`).
    static let recurringOccurrences = 10

    /// 8. Recurring reminders under SIGKILL: `series` reminders, each with a daily rule of
    /// ten occurrences from tomorrow on, against two instances. The smallest step of a rule
    /// is a day, so instead of waiting the scenario pulls every scheduled occurrence's due
    /// time to now, over and over (the service still chooses each next occurrence itself,
    /// and since all of them lie ahead none is passed over as late); meanwhile each instance
    /// in turn is killed with SIGKILL at a random moment and restarted at once. The receiver
    /// answers after 50 ms, so that sends are in flight when a sender dies.
    ///
    /// Its row counts occurrences (stored: the series' rows). Every occurrence 1...10 of
    /// every series must reach the receiver under `<reminder_id>#<occurrence>` (else it is
    /// lost); a key accepted again is a duplicate, inside the windows when that occurrence
    /// was taken over from a sender whose lease ran out or its send timed out
    /// (`ScenarioRun.windowCondition`). Violations, counted as duplicates:
    /// a request whose key does not name its body's reminder and occurrence, or names an
    /// occurrence outside the rule; a reminder that does not end `DELIVERED` at its last
    /// occurrence; an occurrence without exactly one `delivered` row in `delivery_attempts`.
    func recurringSeries(_ random: inout SeededRandom, start: ContinuousClock.Instant) async throws -> Outcome {
        let occurrences = Self.recurringOccurrences
        let run = try await ScenarioRun("recurring", suite: self) { _, _ in .after(milliseconds: 50, .ok) }
        for slot in 0..<2 { try run.start(slot) }
        let ids = (0..<series).map { "recurring-\($0)" }
        // Tomorrow at 09:00 UTC: every occurrence is ahead of now.
        let tomorrow = ISO8601DateFormatter.string(
            from: Date().addingTimeInterval(86_400), timeZone: TimeZone(identifier: "UTC")!,
            formatOptions: [.withFullDate])
        try await run.publish(
            ids.enumerated().map {
                run.recurringEvent(
                    $0.element, user: $0.offset % 1_000, firstLocal: "\(tomorrow)T09:00", count: occurrences,
                    path: "/recurring")
            })
        try await waitUntil(.seconds(300), "every series to be stored") {
            (try? await run.count("SELECT count(*)::int8 FROM reminders WHERE occurrence = 1")) == ids.count
        }
        // Bounded: ten minutes, eight kills; ends as soon as no occurrence is left to send.
        // One connection for the loop rather than one per look.
        try await run.withClient { client in
            var kills = 0
            var nextKill = ContinuousClock.now + .milliseconds(Int.random(in: 1_000...3_000, using: &random))
            let deadline = ContinuousClock.now + .seconds(600)
            while ContinuousClock.now < deadline {
                let waiting = try await client.count(
                    "SELECT count(*)::int8 FROM reminders WHERE state IN ('SCHEDULED', 'RETRY', 'SENDING')")
                if waiting == 0 { break }
                await client.bringOccurrencesDue()
                if kills < 8 && ContinuousClock.now >= nextKill {
                    // Each instance in turn: both die while holding sends.
                    let slot = kills % 2
                    let delivered = try await client.count(
                        "SELECT count(*)::int8 FROM delivery_attempts WHERE outcome = 'delivered'")
                    say("recurring: killing instance \(slot) after \(delivered) occurrences delivered")
                    try await run.stop(slot, SIGKILL)
                    try run.start(slot)
                    kills += 1
                    nextKill = ContinuousClock.now + .milliseconds(Int.random(in: 1_000...3_000, using: &random))
                }
                try await Task.sleep(for: .milliseconds(200))
            }
        }
        // A moment more, for a late duplicate to show.
        try await Task.sleep(for: .seconds(2))
        let outcome = try await recurringOutcome(
            run, ids: ids, occurrences: occurrences, seconds: ScenarioRun.seconds(since: start))
        await run.close()
        return outcome
    }

    /// The row of `recurringSeries`: the receiver's arrivals by idempotency key, the
    /// takeovers and timed-out sends of each occurrence, and where every series and its
    /// records ended.
    private func recurringOutcome(_ run: ScenarioRun, ids: [String], occurrences: Int, seconds: Double)
        async throws -> Outcome
    {
        let known = Set(ids)
        var violations: [String] = []
        // Times each occurrence's key was accepted.
        var accepted: [String: Int] = [:]
        for arrival in run.sink.arrivals where arrival.path == "/recurring" {
            guard let occurrence = arrival.occurrence, known.contains(arrival.reminderID),
                (1...occurrences).contains(occurrence),
                arrival.idempotencyKey == "\(arrival.reminderID)#\(occurrence)"
            else {
                violations.append(
                    "a request with key \(arrival.idempotencyKey) for \(arrival.reminderID) occurrence \(arrival.occurrence.map(String.init) ?? "none")"
                )
                continue
            }
            if arrival.answer.accepted { accepted[arrival.idempotencyKey, default: 0] += 1 }
        }
        var windows: [String: Int] = [:]
        var finals: [String: (state: String, occurrence: Int?)] = [:]
        var deliveredRows: [String: Int] = [:]
        try await run.withClient { client in
            let windowRows = try await client.query(
                """
                SELECT r.reminder_id, t.occurrence, count(*)::int8 FROM reminder_history t
                JOIN reminders r ON r.id = t.reminder_id
                WHERE \(unescaped: ScenarioRun.windowCondition) AND t.occurrence IS NOT NULL
                GROUP BY r.reminder_id, t.occurrence
                """, logger: benchLogger)
            for try await (id, occurrence, count) in windowRows.decode((String, Int32, Int).self) {
                windows["\(id)#\(occurrence)"] = count
            }
            let rows = try await client.query(
                "SELECT reminder_id, state, occurrence FROM reminders", logger: benchLogger)
            for try await (id, state, occurrence) in rows.decode((String, String, Int32?).self) {
                finals[id] = (state, occurrence.map(Int.init))
            }
            let records = try await client.query(
                """
                SELECT r.reminder_id, a.occurrence, count(*)::int8 FROM delivery_attempts a
                JOIN reminders r ON r.id = a.reminder_id WHERE a.outcome = 'delivered'
                GROUP BY r.reminder_id, a.occurrence
                """, logger: benchLogger)
            for try await (id, occurrence, count) in records.decode((String, Int32?, Int).self) {
                deliveredRows["\(id)#\(occurrence.map(String.init) ?? "none")"] = count
            }
        }
        var delivered = 0
        var windowDuplicates = 0
        var duplicates = 0
        var expectedRows = Set<String>()
        for id in ids {
            if let final = finals[id] {
                if final.state != "DELIVERED" || final.occurrence != occurrences {
                    violations.append(
                        "\(id) ended \(final.state) at occurrence \(final.occurrence.map(String.init) ?? "none")")
                }
            } else {
                violations.append("\(id) was never stored")
            }
            for occurrence in 1...occurrences {
                let key = "\(id)#\(occurrence)"
                expectedRows.insert(key)
                if deliveredRows[key] != 1 {
                    violations.append("\(key) has \(deliveredRows[key] ?? 0) delivered rows in delivery_attempts")
                }
                guard let times = accepted[key] else { continue }
                delivered += 1
                let explained = min(times - 1, windows[key] ?? 0)
                windowDuplicates += explained
                duplicates += times - 1 - explained
            }
        }
        for key in Set(deliveredRows.keys).subtracting(expectedRows) {
            violations.append("\(key) has a delivered row, yet is no occurrence of the rule")
        }
        if !violations.isEmpty {
            say("recurring: \(violations.count) violations")
            for violation in violations.prefix(5) { say("recurring: \(violation)") }
        }
        return Outcome(
            scenario: run.name, published: ids.count * occurrences,
            stored: try await run.count("SELECT count(*)::int8 FROM reminders"), delivered: delivered,
            deadLettered: try await run.count("SELECT count(*)::int8 FROM dead_letters"),
            cancelled: try await run.count("SELECT count(*)::int8 FROM reminders WHERE state = 'CANCELLED'"),
            windowDuplicates: windowDuplicates, duplicates: duplicates + violations.count,
            lost: ids.count * occurrences - delivered, seconds: seconds)
    }
}

extension PostgresClient {
    /// Makes every scheduled occurrence of a recurring reminder due now and wakes the
    /// dispatchers as ingest does. A failure (PostgreSQL busy) is said and the next round
    /// tries again.
    fileprivate func bringOccurrencesDue() async {
        do {
            _ = try await query(
                """
                UPDATE reminders SET due_at = now()
                WHERE state = 'SCHEDULED' AND occurrence IS NOT NULL AND due_at > now()
                """, logger: benchLogger
            ).collect()
            _ = try await query("SELECT pg_notify(\(DispatchStore.wakeChannel), '')", logger: benchLogger).collect()
        } catch {
            say("recurring: making occurrences due failed: \(String(reflecting: error))")
        }
    }

    /// The one number `sql` selects.
    fileprivate func count(_ sql: String) async throws -> Int {
        try await query(PostgresQuery(unsafeSQL: sql), logger: benchLogger).collect().first!.decode(Int.self)
    }
}
