import Delivery
import Foundation
import Logging
import ReminderCore
import TestSupport
import Testing

/// FCM and APNs credentials that renew themselves, against scripts/token_endpoint.py:
/// a token endpoint, `messages:send` and APNs' device endpoint that check the signed
/// tokens with PyJWT, with keys made fresh for each test. (The stand-in speaks
/// HTTP/1.1: APNs' HTTP/2-only framing is not covered here.)
@Suite(.timeLimit(.minutes(6)))
struct PushCredentialTests {
    static let logger = Logger(label: "push-credential-tests")

    func request(_ platform: Channel.PushPlatform, reminderID: String = "reminder-1") -> DeliveryRequest {
        DeliveryRequest(
            reminderID: reminderID, userID: "user-1", correlationID: "corr-1",
            channel: .push(platform: platform, token: "device-token-1"),
            content: Content(title: "Zahnarzt", body: "Morgen um 9:30", data: nil), attempt: 1,
            dueAt: Instant(secondsSinceEpoch: 1_790_000_000))
    }

    func withEndpoint(
        tokenLifetime: Double = 3_600, apnsMaximumAge: Double = 3_600,
        _ body: (TokenEndpoint, HTTPTransport) async throws -> Void
    ) async throws {
        let endpoint = try await TokenEndpoint(tokenLifetime: tokenLifetime, apnsMaximumAge: apnsMaximumAge)
        let transport = try HTTPTransport(configuration: .init(timeout: .seconds(30), caFile: endpoint.caFile))
        do {
            try await body(endpoint, transport)
        } catch {
            try? await transport.shutdown()
            await endpoint.stop()
            throw error
        }
        try await transport.shutdown()
        await endpoint.stop()
    }

    func fcm(_ endpoint: TokenEndpoint, _ transport: HTTPTransport, keyFile: String? = nil, logger: Logger = logger)
        throws -> PushProvider
    {
        let account = try GoogleServiceAccount(contentsOf: keyFile ?? endpoint.serviceAccountFile)
        return PushProvider(
            transport: transport,
            service: .fcm(
                .init(
                    baseURL: endpoint.baseURL, projectID: account.projectID, authentication: .serviceAccount(account))),
            logger: logger)
    }

    func apns(_ endpoint: TokenEndpoint, _ transport: HTTPTransport, keyFile: String? = nil) throws -> PushProvider {
        let key = try APNsSigningKey(
            contentsOf: keyFile ?? endpoint.apnsKeyFile, keyID: endpoint.apnsKeyID, teamID: endpoint.apnsTeamID)
        return PushProvider(
            transport: transport,
            service: .apns(
                .init(baseURL: endpoint.baseURL, topic: "com.example.app", authentication: .signingKey(key))),
            logger: Self.logger)
    }

    func failure(_ body: () async throws(DeliveryFailure) -> DeliveryReceipt) async -> DeliveryFailure? {
        do {
            _ = try await body()
            return nil
        } catch {
            return error
        }
    }

    @Test func fcmSendsGoOnAcrossSeveralTokenRenewals() async throws {
        // Two-second tokens, a send every 100 ms until three tokens have been issued (a
        // minute at most): without renewal every send after the second would be refused.
        try await withEndpoint(tokenLifetime: 2) { endpoint, transport in
            let log = CapturedLog()
            let provider = try fcm(endpoint, transport, logger: log.logger("push", level: .trace))
            let start = ContinuousClock.now
            var sent = 0
            var failures: [DeliveryFailure] = []
            while sent < 600, ContinuousClock.now - start < .seconds(60), try await endpoint.counts().issued < 3 {
                let reminderID = "r-\(sent)"
                if let failure = await failure({ () async throws(DeliveryFailure) in
                    try await provider.send(request(.fcm, reminderID: reminderID))
                }) {
                    failures.append(failure)
                }
                sent += 1
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(failures.isEmpty, "\(failures)")
            let counts = try await endpoint.counts()
            #expect(counts.issued >= 3)
            #expect(counts.exchangeRejected == 0)
            #expect(counts.fcmAccepted == sent)
            // Nothing secret in the log: no access token, assertion or key.
            let lines = log.lines.withLock { $0 }.joined(separator: "\n")
            #expect(!lines.contains("ya29."))
            #expect(!lines.contains("eyJ"))
            #expect(!lines.contains("PRIVATE KEY"))
        }
    }

    @Test func anFCMRefusalRenewsTheTokenOnceAndRetriesTheSend() async throws {
        try await withEndpoint { endpoint, transport in
            let provider = try fcm(endpoint, transport)
            for number in 0..<3 {
                _ = try await provider.send(request(.fcm, reminderID: "r-\(number)"))
            }
            #expect(try await endpoint.counts().issued == 1, "a fresh token is reused")

            try await endpoint.revokeTokens()
            let receipt = try await provider.send(request(.fcm))
            #expect(receipt.answer == "HTTP 200")
            var counts = try await endpoint.counts()
            #expect(counts.issued == 2)
            #expect(counts.fcmUnauthenticated == 1)
            #expect(counts.fcmAccepted == 4)

            // Refused again with the new token: one renewal, one retry, then a transient
            // `auth` failure, without a loop.
            try await endpoint.rejectFCM(true)
            let refused = await failure { () async throws(DeliveryFailure) in
                try await provider.send(request(.fcm))
            }
            #expect(refused?.kind == .transient && refused?.errorClass == "auth")
            counts = try await endpoint.counts()
            #expect(counts.issued == 3)
            #expect(counts.fcmSends == 7)
        }
    }

    @Test func concurrentSendsRefusedAtOnceShareOneRenewal() async throws {
        try await withEndpoint { endpoint, transport in
            let provider = try fcm(endpoint, transport)
            _ = try await provider.send(request(.fcm))
            try await endpoint.revokeTokens()
            let failures = await withTaskGroup(of: DeliveryFailure?.self) { group in
                for number in 0..<20 {
                    group.addTask {
                        await failure { () async throws(DeliveryFailure) in
                            try await provider.send(request(.fcm, reminderID: "r-\(number)"))
                        }
                    }
                }
                return await group.reduce(into: [DeliveryFailure]()) { all, failure in
                    if let failure { all.append(failure) }
                }
            }
            #expect(failures.isEmpty, "\(failures)")
            let counts = try await endpoint.counts()
            #expect(counts.fcmUnauthenticated == 20)
            #expect(counts.issued == 2, "twenty refusals of one token, one exchange")
            #expect(counts.fcmAccepted == 21)
        }
    }

    @Test func concurrentSendsWithAnExpiredTokenShareOneExchange() async throws {
        // The first token lives 5 s (long enough for its send on a loaded machine), then
        // runs out while nothing is sent; the next one lives long, so that a slow batch
        // cannot outlive it.
        try await withEndpoint(tokenLifetime: 5) { endpoint, transport in
            let provider = try fcm(endpoint, transport)
            _ = try await provider.send(request(.fcm))
            try await endpoint.configure(["token_lifetime": 600])
            try await Task.sleep(for: .milliseconds(5_300))
            let failures = await withTaskGroup(of: DeliveryFailure?.self) { group in
                for number in 0..<20 {
                    group.addTask {
                        await failure { () async throws(DeliveryFailure) in
                            try await provider.send(request(.fcm, reminderID: "r-\(number)"))
                        }
                    }
                }
                return await group.reduce(into: [DeliveryFailure]()) { all, failure in
                    if let failure { all.append(failure) }
                }
            }
            #expect(failures.isEmpty, "\(failures)")
            let counts = try await endpoint.counts()
            #expect(counts.issued == 2)
            #expect(counts.fcmUnauthenticated == 0, "the expired token was not sent")
            #expect(counts.fcmAccepted == 21)
        }
    }

    @Test func aRefusedAssertionIsATransientAuthFailureThatShowsNoSecret() async throws {
        try await withEndpoint { endpoint, transport in
            let provider = try fcm(endpoint, transport, keyFile: endpoint.foreignServiceAccountFile)
            let refused = await failure { () async throws(DeliveryFailure) in
                try await provider.send(request(.fcm))
            }
            #expect(refused?.kind == .transient && refused?.errorClass == "auth")
            #expect(refused?.answer == "token exchange: HTTP 400 invalid_grant")
            let counts = try await endpoint.counts()
            #expect(counts.exchangeRejected == 1)
            #expect(counts.fcmSends == 0)
        }
    }

    @Test func anAPNsTokenRefusedAsExpiredIsRenewedOnceAndTheSendSucceeds() async throws {
        try await withEndpoint(apnsMaximumAge: 3_600) { endpoint, transport in
            let provider = try apns(endpoint, transport)
            _ = try await provider.send(request(.apns))
            // Now provider tokens more than four seconds old count as expired: the cached
            // one is, when the next send goes out; a fresh one is not (four seconds leave a
            // loaded machine time for the renewed send and the one after it).
            try await endpoint.configure(["apns_max_age": 4])
            try await Task.sleep(for: .milliseconds(4_500))
            let receipt = try await provider.send(request(.apns))
            #expect(receipt.answer == "HTTP 200")
            var counts = try await endpoint.counts()
            #expect(counts.apnsExpired == 1)
            #expect(counts.apnsSends == 3)
            #expect(counts.apnsAccepted == 2)
            // The renewed token is kept: the next send needs no renewal.
            _ = try await provider.send(request(.apns))
            counts = try await endpoint.counts()
            #expect(counts.apnsSends == 4 && counts.apnsAccepted == 3 && counts.apnsExpired == 1)
        }
    }

    @Test func anAPNsTokenOfAnUnknownKeyIsATransientAuthFailureWithoutRetry() async throws {
        try await withEndpoint { endpoint, transport in
            let provider = try apns(endpoint, transport, keyFile: endpoint.foreignAPNsKeyFile)
            let refused = await failure { () async throws(DeliveryFailure) in
                try await provider.send(request(.apns))
            }
            #expect(refused?.kind == .transient && refused?.errorClass == "auth")
            let counts = try await endpoint.counts()
            #expect(counts.apnsInvalid == 1)
            #expect(counts.apnsSends == 1)
        }
    }
}
