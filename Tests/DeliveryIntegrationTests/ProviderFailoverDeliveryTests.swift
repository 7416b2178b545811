import Delivery
import Foundation
import Logging
import ReminderCore
import TestSupport
import Testing

/// Failover within a channel: two SMS accounts (Twilio-style, at a loopback HTTPS
/// server that answers as scripted), tried in order by `ReminderDeliverer`.
@Suite(.timeLimit(.minutes(6)))
struct ProviderFailoverDeliveryTests {
    static let logger = Logger(label: "failover-tests")
    static let policy = RetryPolicy(
        initialDelay: .seconds(2), multiplier: 2, maximumDelay: .seconds(60), maximumAttempts: 5, jitter: 0)
    static func path(_ account: String) -> String { "/2010-04-01/Accounts/\(account)/Messages.json" }

    let request = DeliveryRequest(
        reminderID: "reminder-failover", userID: "user-1", correlationID: nil, channel: .sms(to: "+4915112345678"),
        content: Content(title: "Zahnarzt", body: "Morgen um 9:30", data: nil), attempt: 1,
        dueAt: Instant(secondsSinceEpoch: 1_790_000_000))

    /// Two accounts, AC1 first: their sends, answered as `first` and `second` script.
    func withTwoAccounts(
        failureThreshold: Int = 100,
        _ body: (ReminderDeliverer, ProviderSink) async throws -> Void
    ) async throws {
        let sink = try await ProviderSink(lifetime: 120)
        let transport = try HTTPTransport(configuration: .init(timeout: .seconds(30), caFile: sink.caFile))
        let accounts = ["AC1", "AC2"].map { account in
            GuardedProvider(
                provider: SMSProvider(
                    transport: transport,
                    configuration: .init(
                        baseURL: sink.baseURL, accountSID: account, authToken: "token", from: "+15550001111"),
                    logger: Self.logger),
                breaker: .init(failureThreshold: failureThreshold, openDuration: .seconds(60), halfOpenProbes: 1),
                rateLimit: nil)
        }
        let deliverer = ReminderDeliverer(
            providers: ProviderDirectory(sms: accounts, defaultRetryPolicy: Self.policy), random: { 0.5 })
        do {
            try await body(deliverer, sink)
        } catch {
            try? await transport.shutdown()
            await sink.stop()
            throw error
        }
        try await transport.shutdown()
        await sink.stop()
    }

    func deliver(_ deliverer: ReminderDeliverer, channels: [Channel]? = nil) async -> ReminderDeliverer.Report {
        let channels = channels ?? [request.channel]
        return await deliverer.deliver(
            request, channels: channels, progress: ChannelProgress(channelCount: channels.count), logger: Self.logger)
    }

    func sends(_ sink: ProviderSink, _ account: String) async throws -> Int {
        try await sink.requests(path: Self.path(account)).count
    }

    @Test func aTransientFailureHandsTheSameAttemptToTheNextProvider() async throws {
        try await withTwoAccounts { deliverer, sink in
            try await sink.script(Self.path("AC1"), [.status(503)])
            try await sink.script(Self.path("AC2"), [.status(201, body: #"{"sid":"SM2"}"#)])
            let report = await deliver(deliverer)
            #expect(report.outcome == .delivered)
            #expect(report.attempts.map(\.outcome) == [.transient, .delivered])
            #expect(report.attempts.map(\.channelIndex) == [0, 0])
            #expect(report.attempts.map(\.provider) == ["twilio", "twilio"])
            #expect(report.progress.failures == [0])
            #expect(try await sends(sink, "AC1") == 1)
            #expect(try await sends(sink, "AC2") == 1)
        }
    }

    @Test func theRecipientsRefusalDoesNotFailOver() async throws {
        try await withTwoAccounts { deliverer, sink in
            try await sink.script(Self.path("AC1"), [.status(400, body: #"{"code":21211,"message":"invalid"}"#)])
            let report = await deliver(deliverer)
            #expect(
                report.outcome
                    == .deadLetter(.permanentFailure, error: "sms via twilio: http_400 (HTTP 400 code 21211)"))
            #expect(report.attempts.map(\.outcome) == [.permanent])
            #expect(try await sends(sink, "AC1") == 1)
            #expect(try await sends(sink, "AC2") == 0)
        }
    }

    @Test func aRefusalOfTheAccountFailsOver() async throws {
        try await withTwoAccounts { deliverer, sink in
            // 21408: the account may not send to the number's region; another may.
            try await sink.script(Self.path("AC1"), [.status(400, body: #"{"code":21408,"message":"region"}"#)])
            let report = await deliver(deliverer)
            #expect(report.outcome == .delivered)
            #expect(report.attempts.map(\.outcome) == [.permanent, .delivered])
            #expect(report.progress.statusCodes == "o")
        }
    }

    @Test func anOpenCircuitIsPassedWithoutAskingTheProvider() async throws {
        try await withTwoAccounts(failureThreshold: 1) { deliverer, sink in
            try await sink.script(Self.path("AC1"), [.status(503)])
            #expect(await deliver(deliverer).outcome == .delivered)
            // AC1's circuit is open now: the next send goes straight to AC2.
            let report = await deliver(deliverer)
            #expect(report.outcome == .delivered)
            #expect(report.attempts.map(\.outcome) == [.circuitOpen, .delivered])
            #expect(try await sends(sink, "AC1") == 1)
            #expect(try await sends(sink, "AC2") == 2)
        }
    }

    @Test func whenEveryProviderFailsTheChannelIsRetriedOnceAsAWhole() async throws {
        try await withTwoAccounts { deliverer, sink in
            try await sink.script(Self.path("AC1"), [.status(429, headers: ["Retry-After": "30"])])
            try await sink.script(Self.path("AC2"), [.status(503, headers: ["Retry-After": "10"])])
            let report = await deliver(deliverer)
            // One failure of the channel (not two), retried when both may be asked again
            // by their Retry-After (the sooner, 10 s, is above the 2 s backoff).
            #expect(report.outcome == .retry(after: .seconds(10)))
            #expect(report.progress.failures == [1])
            #expect(report.attempts.map(\.outcome) == [.transient, .transient])
            #expect(report.attempts.map(\.errorClass) == ["http_429", "http_503"])
        }
    }

    @Test func aChannelWhoseProvidersAllFailFallsBackToTheNextChannelOnlyWhenClosed() async throws {
        try await withTwoAccounts { deliverer, sink in
            try await sink.script(Self.path("AC1"), [.status(400, body: #"{"code":21408}"#)])
            try await sink.script(Self.path("AC2"), [.status(400, body: #"{"code":21408}"#)])
            // Both accounts refuse the request: the SMS channel fails permanently and the
            // reminder's next channel (another number) is tried, again from AC1.
            let report = await deliver(deliverer, channels: [request.channel, .sms(to: "+4915100000000")])
            #expect(report.outcome == .delivered)
            #expect(report.attempts.map(\.channelIndex) == [0, 0, 1])
            #expect(report.progress.statusCodes == "po")
            #expect(try await sends(sink, "AC1") == 2)
            #expect(try await sends(sink, "AC2") == 1)
        }
    }
}
