import ArgumentParser
import BenchmarkSupport
import Foundation
import Kafka
import Synchronization
import TestSupport

extension ChaosSuite {
    /// Publishes `messages` in `chunks` parts, `pause` apart, while the caller injects
    /// faults; the returned task ends when everything is published.
    func publishing(_ run: ScenarioRun, _ messages: [KafkaProducerMessage], chunks: Int, pause: Duration)
        -> Task<Void, any Error>
    {
        Task {
            let size = max(1, messages.count / chunks)
            for start in stride(from: 0, to: messages.count, by: size) {
                try await run.publish(Array(messages[start..<min(start + size, messages.count)]))
                try await Task.sleep(for: pause)
            }
        }
    }

    /// 1. The service killed with SIGKILL at five random moments of a stream, restarted
    /// each time at once.
    func sigkill(_ random: inout SeededRandom, start: ContinuousClock.Instant) async throws -> Outcome {
        let run = try await ScenarioRun("sigkill", suite: self) { _, _ in .ok }
        try run.start()
        let (ids, messages) = run.stream("kill", count: stream)
        let publisher = publishing(run, messages, chunks: 20, pause: .milliseconds(500))
        for _ in 0..<5 {
            try await Task.sleep(for: .milliseconds(Int.random(in: 1_500...4_000, using: &random)))
            try await run.stop(0, SIGKILL)
            try run.start(0)
        }
        try await publisher.value
        return try await run.finish(ids, since: start)
    }

    /// 2. Three members of one group; members stopped and started again four times during
    /// the stream. Stopped with SIGKILL: with SIGTERM the member leaves the group
    /// properly, and when that member was the group's leader, Tansu 0.6 names it leader
    /// in every later JoinGroup answer, so no member ever gets an assignment again (seen
    /// with librdkafka's `cgrp` debug log; a broker defect, not reproducible on Apache
    /// Kafka, whose coordinator elects a new leader). A killed leader's session expires
    /// instead.
    func members(_ random: inout SeededRandom, start: ContinuousClock.Instant) async throws -> Outcome {
        let run = try await ScenarioRun("members", suite: self) { _, _ in .ok }
        for slot in 0..<3 { try run.start(slot) }
        let (ids, messages) = run.stream("member", count: stream / 2)
        let publisher = publishing(run, messages, chunks: 20, pause: .milliseconds(500))
        for _ in 0..<4 {
            try await Task.sleep(for: .milliseconds(Int.random(in: 1_000...3_000, using: &random)))
            let slot = Int.random(in: 0..<3, using: &random)
            try await run.stop(slot, SIGKILL)
            try await Task.sleep(for: .milliseconds(Int.random(in: 1_000...3_000, using: &random)))
            try run.start(slot)
        }
        try await publisher.value
        return try await run.finish(ids, since: start)
    }

    /// 3. PostgreSQL stopped for 20 s and started again, twice, during the stream.
    func databaseOutage(start: ContinuousClock.Instant) async throws -> Outcome {
        let run = try await ScenarioRun("database", suite: self) { _, _ in .ok }
        try run.start()
        let (ids, messages) = run.stream("outage", count: stream / 2)
        let publisher = publishing(run, messages, chunks: 20, pause: .milliseconds(1_000))
        for pause in [Duration.seconds(3), .seconds(5)] {
            try await Task.sleep(for: pause)
            try stack("pg-stop")
            try await Task.sleep(for: .seconds(20))
            try stack("pg-start")
        }
        try await publisher.value
        // No sender dies here: not even the documented window may show a duplicate.
        var outcome = try await run.finish(ids, since: start)
        outcome.strict = true
        return outcome
    }

    /// 3b. PostgreSQL stopped for four times the lease while two instances have sends in
    /// flight (the receiver answers after 400 ms, within the 1 s timeout): outcomes that cannot be recorded are
    /// kept, leases renewed once it is back, nothing taken over from a live sender. No
    /// duplicate of any kind.
    func longOutage(start: ContinuousClock.Instant) async throws -> Outcome {
        let run = try await ScenarioRun("long-outage", suite: self) { _, _ in .after(milliseconds: 400, .ok) }
        try run.start(0)
        try run.start(1)
        let (ids, messages) = run.stream("long", count: stream / 10)
        let publisher = publishing(run, messages, chunks: 10, pause: .milliseconds(500))
        try await Task.sleep(for: .seconds(4))
        try stack("pg-stop")
        // The suite's lease is 3 s.
        try await Task.sleep(for: .seconds(12))
        try stack("pg-start")
        try await publisher.value
        var outcome = try await run.finish(ids, since: start)
        outcome.strict = true
        return outcome
    }

    /// 3c. Cancels and replaces published while their sends are in flight: the receiver
    /// answers after a second and fails half the time; as soon as a reminder's first send
    /// arrives, its cancel (even ids) or replacement (odd ids, content sent to `/new`) is
    /// published. Violations, counted as duplicates: a reminder accepted twice; a send of
    /// the old content from a claim made after the change was stored; a cancelled reminder
    /// not `CANCELLED` unless its in-flight send was accepted (the history says the cancel
    /// came too late); a replaced one not delivered exactly once, with the new content
    /// unless the old one's in-flight send was accepted first.
    func cancelRace(_ random: inout SeededRandom, start: ContinuousClock.Instant) async throws -> Outcome {
        let draws = Mutex(SeededRandom(seed: random.next()))
        let run = try await ScenarioRun("cancel-race", suite: self) { _, _ in
            .after(
                milliseconds: 1_000,
                draws.withLock { Double.random(in: 0..<1, using: &$0) } < 0.5
                    ? .ok : .status(503, retryAfterSeconds: nil))
        }
        run.settings.merge([
            // The answer comes well within the timeout, with a connection for every send
            // in flight (a send that times out waiting for one, which the receiver then
            // takes anyway, is a duplicate no sender can avoid); the lease is three
            // timeouts, as start-up requires.
            "HTTP_PROVIDER_TIMEOUT_MS": "4000", "HTTP_PROVIDER_CONNECTIONS_PER_HOST": "64",
            "DISPATCH_CONCURRENCY": "64", "DISPATCH_LEASE_MS": "12000", "BREAKER_FAILURE_THRESHOLD": "10000",
            "RETRY_INITIAL_MS": "300",
        ]) { $1 }
        try run.start()
        let total = 2_000
        let ids = (0..<total).map { "race-\($0)" }
        let now = Date().timeIntervalSince1970
        try await run.publish(
            ids.enumerated().map { run.event($0.element, user: $0.offset, dueAt: now, path: "/race") })
        // Publish each reminder's change as soon as its first send reaches the receiver.
        var changed = Set<String>()
        let deadline = ContinuousClock.now + .seconds(300)
        while changed.count < total && ContinuousClock.now < deadline {
            let arrived = Set(run.sink.arrivals.map(\.reminderID)).subtracting(changed)
            let changes = arrived.compactMap { id -> KafkaProducerMessage? in
                guard let index = Int(id.dropFirst("race-".count)) else { return nil }
                return index % 2 == 0
                    ? run.event(id, user: index, dueAt: now, type: "cancel")
                    : run.event(id, user: index, dueAt: now, path: "/new", key: "replace-\(id)")
            }
            if !changes.isEmpty { try await run.publish(changes) }
            changed.formUnion(arrived)
            try await Task.sleep(for: .milliseconds(50))
        }
        try await run.settle(expected: total, within: .seconds(600))
        var outcome = try await run.outcome(published: Set(ids), seconds: ScenarioRun.seconds(since: start))
        let violations = try await raceViolations(run, ids)
        if violations > 0 { say("cancel-race: \(violations) violations") }
        await run.close()
        outcome = Outcome(
            scenario: outcome.scenario, published: outcome.published, stored: outcome.stored,
            delivered: outcome.delivered, deadLettered: outcome.deadLettered, cancelled: outcome.cancelled,
            windowDuplicates: outcome.windowDuplicates, duplicates: outcome.duplicates + violations,
            lost: outcome.lost, seconds: outcome.seconds, strict: true)
        return outcome
    }

    /// The reminders of `cancelRace` that broke its rules.
    private func raceViolations(_ run: ScenarioRun, _ ids: [String]) async throws -> Int {
        struct Step {
            let event: String
            let to: String
        }
        var history: [String: [Step]] = [:]
        var final: [String: String] = [:]
        try await run.withClient { client in
            let rows = try await client.query(
                """
                SELECT r.reminder_id, r.state, t.event, t.to_state FROM reminders r
                JOIN reminder_history t ON t.reminder_id = r.id ORDER BY t.id
                """, logger: benchLogger)
            for try await (id, state, event, to) in rows.decode((String, String, String, String).self) {
                history[id, default: []].append(Step(event: event, to: to))
                final[id] = state
            }
        }
        var arrivals: [String: [WebhookSink.Arrival]] = [:]
        for arrival in run.sink.arrivals { arrivals[arrival.reminderID, default: []].append(arrival) }
        var violations = 0
        for (index, id) in ids.enumerated() {
            let steps = history[id] ?? []
            let sent = arrivals[id] ?? []
            let accepted = sent.filter(\.answer.accepted)
            let cancelling = index % 2 == 0
            let change = cancelling ? "cancel" : "replace"
            // Claims made before the change was stored (deferred or applied at once).
            let changeAt = steps.firstIndex { $0.event == change } ?? steps.count
            let claimsBefore = steps[..<changeAt].filter { $0.event == "claim" }.count
            // Every send of the old content came from a claim made before the change.
            var broken = sent.filter { $0.path == "/race" }.count > claimsBefore
            switch (cancelling, final[id]) {
            case (true, "CANCELLED"):
                broken = broken || !accepted.isEmpty
            case (true, "DELIVERED"):
                // Its send in flight was accepted: the cancel came too late (or after).
                broken = broken || accepted.count != 1 || accepted[0].path != "/race"
            case (false, "DELIVERED"):
                // Once: with the new content, or the old one whose send was in flight.
                broken = broken || accepted.count != 1
            default:
                broken = true
            }
            if broken {
                violations += 1
                if violations <= 5 {
                    say(
                        "cancel-race: \(id) ended \(final[id] ?? "-"), sends \(sent.map { "\($0.path):\($0.answer.accepted)" }), history \(steps.map { "\($0.event)>\($0.to)" })"
                    )
                }
            }
        }
        return violations
    }

    /// 4. The broker restarted twice mid-stream. Tansu keeps its topics and offsets in
    /// memory unless told otherwise, so this scenario runs a broker of its own that keeps
    /// them in the loopback S3 server the suite was started with (AWS_ENDPOINT).
    func brokerRestart(start: ContinuousClock.Instant) async throws -> Outcome {
        let broker = [
            "NS_RUN_DIR": "\(logDirectory ?? "/tmp")/s3-broker", "NS_KAFKA_PORT": String(restartBrokerPort),
            "NS_BROKER_STORAGE": "s3://tansu/",
        ]
        try stack("broker-start", broker)
        let run = try await ScenarioRun(
            "broker", suite: self, bootstrapServers: "127.0.0.1:\(restartBrokerPort)"
        ) { _, _ in .ok }
        try run.start()
        let (ids, messages) = run.stream("broker", count: stream / 5)
        // Published in parts, each only once the broker is back.
        let parts = 10
        let size = messages.count / parts
        for part in 0..<parts {
            try await run.publish(Array(messages[(part * size)..<min((part + 1) * size, messages.count)]))
            if part == 3 || part == 6 { try stack("broker-restart", broker) }
        }
        defer { try? stack("broker-stop", broker) }
        return try await run.finish(ids, since: start)
    }

    /// Runs `scripts/stack.sh` on the suite's private stack (its environment is ours,
    /// with `environment` over it).
    func stack(_ command: String, _ environment: [String: String] = [:]) throws {
        let status = LocalStack.run(
            ["/bin/bash", "\(scripts)/stack.sh", command],
            ProcessInfo.processInfo.environment.merging(environment) { $1 })
        guard let status else { throw ValidationError("scripts/stack.sh \(command) could not be run") }
        guard status == 0 else { throw ValidationError("scripts/stack.sh \(command) failed (status \(status))") }
    }

    /// 5. Providers at fault: a webhook failing 30% of requests at random, one answering
    /// 429 with Retry-After to each reminder's first request, and an SMS provider that
    /// never answers, whose reminders fall back to a webhook once its circuit opens.
    func faultyProviders(_ random: inout SeededRandom, start: ContinuousClock.Instant) async throws -> Outcome {
        let draws = Mutex(SeededRandom(seed: random.next()))
        let throttled = Mutex(Set<String>())
        let run = try await ScenarioRun("providers", suite: self) { path, reminder in
            switch path {
            case "/flaky":
                return draws.withLock { Double.random(in: 0..<1, using: &$0) } < 0.3
                    ? .status(503, retryAfterSeconds: nil) : .ok
            case "/throttle":
                return throttled.withLock { $0.insert(reminder).inserted } ? .status(429, retryAfterSeconds: 1) : .ok
            case let path where path.hasSuffix("/Messages.json"):
                return .hang
            default:
                return .ok
            }
        }
        run.settings.merge([
            "SMS_ACCOUNT_SID": "ACchaos", "SMS_AUTH_TOKEN": "chaos-token", "SMS_FROM": "+15550000000",
            "SMS_BASE_URL": run.hook,
        ]) { $1 }
        try run.start()
        let now = Date().timeIntervalSince1970
        let total = 6_000
        let ids = (0..<total).map { "provider-\($0)" }
        let messages = ids.enumerated().map { index, id -> KafkaProducerMessage in
            switch index % 3 {
            case 0: return run.event(id, user: index % 1_000, dueAt: now, path: "/flaky")
            case 1: return run.event(id, user: index % 1_000, dueAt: now, path: "/throttle")
            default:
                return run.event(
                    id, user: index % 1_000, dueAt: now,
                    channels:
                        "[{\"type\":\"sms\",\"to\":\"+4915112345678\"},{\"type\":\"webhook\",\"url\":\"\(run.hook)/ok\"}]"
                )
            }
        }
        try await run.publish(messages)
        try await run.settle(expected: total, within: .seconds(900))
        let outcome = try await run.outcome(published: Set(ids), seconds: ScenarioRun.seconds(since: start))
        await run.close()
        return outcome
    }

    /// 6. A burst of reminders all due in the same second.
    func sameSecondBurst(start: ContinuousClock.Instant) async throws -> Outcome {
        let run = try await ScenarioRun("burst", suite: self) { _, _ in .ok }
        try run.start()
        // Due once ingest has had time to store them all.
        let due = (Date().timeIntervalSince1970 + 30).rounded(.up)
        let ids = (0..<burst).map { "burst-\($0)" }
        try await run.publish(ids.enumerated().map { run.event($0.element, user: $0.offset % 10_000, dueAt: due) })
        return try await run.finish(ids, since: start)
    }

    /// 7. Per-reminder order under failure: schedule (its first attempt fails, the retry
    /// is ten minutes away), the service killed, replace (due in an hour), killed again,
    /// cancel. Every reminder must end cancelled and get no send after its first, failed
    /// one. (A killed member's partitions come back only after the broker gives up on it,
    /// which took up to two minutes here: hence the long limits.)
    func orderUnderFailure(start: ContinuousClock.Instant) async throws -> Outcome {
        let failedOnce = Mutex(Set<String>())
        let run = try await ScenarioRun("order", suite: self) { _, reminder in
            failedOnce.withLock { $0.insert(reminder).inserted } ? .status(503, retryAfterSeconds: nil) : .ok
        }
        // Every first attempt reaches the receiver (the circuit stays closed) and fails;
        // the retry is ten minutes away.
        run.settings.merge([
            "WEBHOOK_RETRY_INITIAL_MS": "600000", "WEBHOOK_RETRY_MAX_MS": "600000",
            "BREAKER_FAILURE_THRESHOLD": "10000",
        ]) { $1 }
        try run.start()
        let total = 200
        let ids = (0..<total).map { "order-\($0)" }
        let now = Date().timeIntervalSince1970
        try await run.publish(
            ids.enumerated().map { run.event($0.element, user: $0.offset, dueAt: now, path: "/order") })
        try await waitUntil(.seconds(300), "every first attempt to fail") {
            (try? await run.count("SELECT count(*)::int8 FROM reminders WHERE state = 'RETRY'")) == total
        }
        let firstAttempts = run.sink.count
        try await run.stop(0, SIGKILL)
        try await run.publish(
            ids.enumerated().map {
                run.event(
                    $0.element, user: $0.offset, dueAt: Date().timeIntervalSince1970 + 3_600, path: "/order",
                    key: "replace-\($0.element)")
            })
        try run.start()
        try await waitUntil(.seconds(300), "every replacement to be stored") {
            (try? await run.count("SELECT count(*)::int8 FROM reminder_history WHERE event = 'replace'")) == total
        }
        try await run.stop(0, SIGKILL)
        try await run.publish(
            ids.enumerated().map { run.event($0.element, user: $0.offset, dueAt: now, type: "cancel") })
        try run.start()
        try await waitUntil(.seconds(300), "every reminder to be cancelled") {
            (try? await run.count("SELECT count(*)::int8 FROM reminders WHERE state = 'CANCELLED'")) == total
        }
        // Long enough for any send that should not happen.
        try await Task.sleep(for: .seconds(5))
        let outcome = try await run.outcome(published: Set(ids), seconds: ScenarioRun.seconds(since: start))
        // A send after the first, failed one is one too many.
        let extra = run.sink.count - firstAttempts
        await run.close()
        return Outcome(
            scenario: outcome.scenario, published: outcome.published, stored: outcome.stored,
            delivered: outcome.delivered, deadLettered: outcome.deadLettered, cancelled: outcome.cancelled,
            windowDuplicates: outcome.windowDuplicates, duplicates: outcome.duplicates + max(0, extra),
            lost: outcome.lost, seconds: outcome.seconds)
    }

    func waitUntil(_ limit: Duration, _ what: String, _ condition: () async -> Bool) async throws {
        let deadline = ContinuousClock.now + limit
        while !(await condition()) {
            guard ContinuousClock.now < deadline else { throw ValidationError("timed out waiting for \(what)") }
            try await Task.sleep(for: .milliseconds(200))
        }
    }
}
