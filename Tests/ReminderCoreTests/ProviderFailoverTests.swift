import ReminderCore
import Testing

@Suite struct ProviderFailoverTests {
    static let accepted = SendOutcome.delivered(DeliveryReceipt(answer: "HTTP 202"))
    static let unavailable = SendOutcome.failed(.transient("http_503", "HTTP 503"))
    static let throttled = SendOutcome.failed(.transient("http_429", "HTTP 429", retryAfter: .seconds(30)))
    static let slowDown = SendOutcome.failed(.transient("throttling", "HTTP 400 Throttling", retryAfter: .seconds(5)))
    static let refusedRequest = SendOutcome.failed(.permanent("invalid_request", "HTTP 400"))
    static let unknownMailbox = SendOutcome.failed(.recipient("smtp_550", "550 5.1.1"))
    static let open = SendOutcome.circuitOpen(retryAfter: .seconds(20))
    static let openLonger = SendOutcome.circuitOpen(retryAfter: .seconds(40))
    static let cancelled = SendOutcome.failed(.cancelled)
    /// Every kind of outcome, each with whether the rule hands the send to the next
    /// provider after it (stated here, not taken from the code under test).
    static let table: [(outcome: SendOutcome, handsOver: Bool)] = [
        (accepted, false), (unavailable, true), (throttled, true), (slowDown, true), (refusedRequest, true),
        (unknownMailbox, false), (open, true), (openLonger, true), (cancelled, false), (.notConfigured, true),
    ]
    static let every = table.map(\.outcome)

    @Test func whichOutcomesHandTheSendOn() {
        for (outcome, handsOver) in Self.table {
            #expect(ProviderFailover.handsOver(outcome) == handsOver, "\(outcome)")
        }
    }

    /// Runs a channel with `outcomes.count` providers that end as `outcomes` in order;
    /// returns the providers asked and what the channel's send came to.
    func run(_ outcomes: [SendOutcome]) -> (asked: [Int], result: SendOutcome) {
        var failover = ProviderFailover(providers: outcomes.count)
        var asked: [Int] = []
        var step = failover.start()
        while true {
            switch step {
            case .finished(let result): return (asked, result)
            case .send(let provider):
                asked.append(provider)
                step = failover.record(outcomes[provider])
            }
        }
    }

    @Test func aChannelWithoutProvidersIsNotConfigured() {
        var failover = ProviderFailover(providers: 0)
        #expect(failover.start() == .finished(.notConfigured))
    }

    @Test func theFirstProviderThatAcceptsDeliversAndNoLaterOneIsAsked() {
        let (asked, result) = run([Self.unavailable, Self.open, Self.accepted, Self.accepted])
        #expect(asked == [0, 1, 2])
        #expect(result == Self.accepted)
    }

    @Test func aRecipientsRefusalEndsTheChannelWithoutAskingTheNextProvider() {
        let (asked, result) = run([Self.unknownMailbox, Self.accepted])
        #expect(asked == [0])
        #expect(result == Self.unknownMailbox)
    }

    @Test func aRequestTheProviderRefusesItselfFailsOver() {
        let (asked, result) = run([Self.refusedRequest, .notConfigured, Self.accepted])
        #expect(asked == [0, 1, 2])
        #expect(result == Self.accepted)
    }

    @Test func aCancelledSendStopsAtOnce() {
        let (asked, result) = run([Self.cancelled, Self.accepted])
        #expect(asked == [0])
        #expect(result == Self.cancelled)
    }

    @Test func whenEveryProviderFailedATransientFailureMakesTheChannelWaitForARetry() {
        // The first transient failure names it; the retry may come as soon as one of the
        // providers that failed may be asked again.
        #expect(
            run([Self.open, Self.throttled, Self.slowDown]).result
                == .failed(.transient("http_429", "HTTP 429", retryAfter: .seconds(5))))
        // One without a Retry-After leaves the wait to the channel's retry policy.
        #expect(
            run([Self.throttled, Self.unavailable]).result
                == .failed(.transient("http_429", "HTTP 429", retryAfter: nil)))
        #expect(run([Self.refusedRequest, Self.unavailable]).result == Self.unavailable)
    }

    @Test func whenNoProviderFailedTransientlyAnOpenCircuitKeepsTheChannelForLater() {
        #expect(
            run([Self.openLonger, Self.refusedRequest, Self.open]).result == .circuitOpen(retryAfter: .seconds(20)))
    }

    @Test func whenEveryProviderRefusedTheRequestTheChannelFailsPermanently() {
        #expect(run([.notConfigured, Self.refusedRequest]).result == .notConfigured)
        #expect(run([Self.refusedRequest, .notConfigured]).result == Self.refusedRequest)
    }

    /// Every sequence of outcomes over one to three providers, against the rule stated
    /// outcome by outcome.
    @Test func everyCombinationOfUpToThreeProviders() {
        var sequences: [[SendOutcome]] = Self.every.map { [$0] }
        for _ in 1..<3 {
            sequences += sequences.filter { $0.count == sequences.last!.count }.flatMap { prefix in
                Self.every.map { prefix + [$0] }
            }
        }
        #expect(sequences.count == 10 + 100 + 1000)
        for outcomes in sequences {
            let (asked, result) = run(outcomes)
            let stop = outcomes.firstIndex { outcome in !Self.table.first { $0.outcome == outcome }!.handsOver }
            if let stop {
                // Asked in order up to the first provider that ends it, which decides.
                #expect(asked == Array(0...stop))
                #expect(result == outcomes[stop])
                continue
            }
            #expect(asked == Array(outcomes.indices))
            let failures = outcomes.compactMap(\.failure)
            #expect(!failures.contains { $0.concernsRecipient || $0.isCancellation })
            switch result {
            case .delivered:
                Issue.record("delivered without an acceptance: \(outcomes)")
            case .failed(let failure) where failure.kind == .transient:
                let transient = failures.filter { $0.kind == .transient }
                #expect(failure.errorClass == transient.first?.errorClass)
                let waits = transient.map(\.retryAfter)
                #expect(failure.retryAfter == (waits.contains(nil) ? nil : waits.map { $0! }.min()))
            case .failed(let failure):
                #expect(!failures.contains { $0.kind == .transient })
                #expect(!outcomes.contains { if case .circuitOpen = $0 { true } else { false } })
                #expect(failure == failures.first)
            case .circuitOpen(let retryAfter):
                #expect(!failures.contains { $0.kind == .transient })
                #expect(retryAfter == (outcomes.contains(Self.open) ? .seconds(20) : .seconds(40)))
            }
        }
    }
}
