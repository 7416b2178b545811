import Crypto
import Foundation
import Logging
import ReminderCore
import Synchronization
import Testing

@testable import Delivery

/// A wall clock the test moves by hand.
final class TestWallClock: Sendable {
    private let time: Mutex<Date>

    init(_ start: Date = Date(timeIntervalSince1970: 1_790_000_000)) {
        time = Mutex(start)
    }

    var now: Date { time.withLock { $0 } }

    func advance(minutes: Double) {
        time.withLock { $0 = $0.addingTimeInterval(minutes * 60) }
    }
}

/// An issuer that hands out `t1`, `t2`, … on a fixed schedule, counts its calls, can
/// be made to fail, and can be held inside `issue` until the test lets it go.
final class ScriptedIssuer: TokenIssuer {
    private struct State {
        var issued = 0
        var failing = false
        var held = false
        var waiting: [CheckedContinuation<Void, Never>] = []
    }
    private let state = Mutex(State())
    let renewAfter: TimeInterval
    let expireAfter: TimeInterval

    init(renewAfter: TimeInterval = 40 * 60, expireAfter: TimeInterval = 60 * 60) {
        self.renewAfter = renewAfter
        self.expireAfter = expireAfter
    }

    var calls: Int { state.withLock { $0.issued } }
    var waitingCount: Int { state.withLock { $0.waiting.count } }

    func fail(_ failing: Bool) { state.withLock { $0.failing = failing } }
    func hold() { state.withLock { $0.held = true } }

    func release() {
        let waiting = state.withLock { state in
            state.held = false
            defer { state.waiting = [] }
            return state.waiting
        }
        for continuation in waiting { continuation.resume() }
    }

    func issue(now: Date) async throws(DeliveryFailure) -> IssuedToken {
        let (number, failing, held) = state.withLock { state in
            state.issued += 1
            return (state.issued, state.failing, state.held)
        }
        if held {
            await withCheckedContinuation { continuation in
                let resumeNow = state.withLock { state in
                    guard state.held else { return true }
                    state.waiting.append(continuation)
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        }
        if failing { throw .transient("auth", "token exchange: HTTP 503") }
        return IssuedToken(
            value: "t\(number)", renewAt: now.addingTimeInterval(renewAfter),
            expiresAt: now.addingTimeInterval(expireAfter))
    }

    var description: String { "scripted issuer" }
}

@Suite struct RenewingCredentialTests {
    static let logger = Logger(label: "credential-tests")

    func credential(_ issuer: ScriptedIssuer, _ clock: TestWallClock) -> RenewingCredential {
        RenewingCredential(issuer: issuer, logger: Self.logger, now: { clock.now })
    }

    /// Waits (at most about ten seconds) until `condition` holds; a failure if it never does.
    func eventually(_ condition: () -> Bool, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        for _ in 0..<2_000 where !condition() {
            try await Task.sleep(for: .milliseconds(5))
        }
        if !condition() { Issue.record("the condition never held", sourceLocation: sourceLocation) }
    }

    @Test func anAPNsProviderTokenIsReusedUntilFortyMinutesOldThenRenewed() async throws {
        let clock = TestWallClock()
        let key = P256.Signing.PrivateKey()
        let issuer = APNsProviderTokenIssuer(
            key: try APNsSigningKey(pem: key.pemRepresentation, keyID: "ABCDE12345", teamID: "TEAM123456"))
        let credential = RenewingCredential(issuer: issuer, logger: Self.logger, now: { clock.now })
        let first = try await credential.token()
        clock.advance(minutes: 19)
        #expect(try await credential.token() == first)
        clock.advance(minutes: 20.9)
        #expect(try await credential.token() == first, "39.9 minutes old")
        clock.advance(minutes: 0.1)
        let second = try await credential.token()
        #expect(second != first, "40 minutes old: renewed")
        let claims = try Self.claims(of: second)
        #expect(claims["iat"] as? Int == Int(clock.now.timeIntervalSince1970))
        #expect(claims["iss"] as? String == "TEAM123456")
        // An ES256 signature is the raw r || s over the first two parts.
        let parts = second.split(separator: ".").map(String.init)
        let signatureBytes = try #require(Self.base64URL(parts[2]))
        let signature = try P256.Signing.ECDSASignature(rawRepresentation: signatureBytes)
        #expect(key.publicKey.isValidSignature(signature, for: Array("\(parts[0]).\(parts[1])".utf8)))
        let header = try Self.object(parts[0]) as? [String: String]
        #expect(header == ["alg": "ES256", "kid": "ABCDE12345"])
    }

    @Test func aTokenIsUsedWhileRenewalFailsButNeverOnceExpired() async throws {
        let clock = TestWallClock()
        let issuer = ScriptedIssuer()
        let credential = credential(issuer, clock)
        #expect(try await credential.token() == "t1")
        issuer.fail(true)
        clock.advance(minutes: 45)
        #expect(try await credential.token() == "t1", "the renewal failed; the token is 45 minutes old")
        clock.advance(minutes: 15)
        let failure = await #expect(throws: DeliveryFailure.self) { try await credential.token() }
        #expect(failure?.errorClass == "auth" && failure?.kind == .transient)
        #expect(issuer.calls == 3)
        issuer.fail(false)
        #expect(try await credential.token() == "t4")
    }

    @Test func anAccessTokenIsRenewedWhenATenthOfItsLifetimeOrFiveMinutesRemain() {
        let start = Date(timeIntervalSince1970: 1_790_000_000)
        let hour = IssuedToken.accessToken("a", requestedAt: start, lifetime: .seconds(3_600))
        #expect(hour.renewAt == start.addingTimeInterval(55 * 60))
        #expect(hour.expiresAt == start.addingTimeInterval(3_600))
        let tenMinutes = IssuedToken.accessToken("a", requestedAt: start, lifetime: .seconds(600))
        #expect(tenMinutes.renewAt == start.addingTimeInterval(540))
        let twoSeconds = IssuedToken.accessToken("a", requestedAt: start, lifetime: .seconds(2))
        #expect(twoSeconds.renewAt == start.addingTimeInterval(1.8))
        #expect(!"\(hour)".contains("a,") && "\(hour)".contains("redacted"))
    }

    @Test func concurrentCallersShareOneRenewal() async throws {
        let clock = TestWallClock()
        let issuer = ScriptedIssuer()
        let credential = credential(issuer, clock)
        _ = try await credential.token()
        clock.advance(minutes: 41)
        issuer.hold()
        let tokens = try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<20 {
                group.addTask { try await credential.token() }
            }
            try await eventually { issuer.waitingCount == 1 }
            // Let the other callers reach the credential before the renewal ends.
            try await Task.sleep(for: .milliseconds(50))
            issuer.release()
            return try await group.reduce(into: [String]()) { $0.append($1) }
        }
        #expect(tokens == Array(repeating: "t2", count: 20))
        #expect(issuer.calls == 2)
    }

    @Test func aRejectedTokenIsRenewedOncePerToken() async throws {
        let clock = TestWallClock()
        let issuer = ScriptedIssuer()
        let credential = credential(issuer, clock)
        #expect(try await credential.token() == "t1")
        #expect(try await credential.renew(after: "t1") == "t2")
        #expect(try await credential.renew(after: "t1") == "t2", "t1 was replaced already")
        #expect(try await credential.token() == "t2")
        #expect(try await credential.renew(after: "t2") == "t3")
        #expect(issuer.calls == 3)
    }

    @Test func concurrentRejectionsOfOneTokenShareOneRenewal() async throws {
        let clock = TestWallClock()
        let issuer = ScriptedIssuer()
        let credential = credential(issuer, clock)
        _ = try await credential.token()
        issuer.hold()
        let tokens = try await withThrowingTaskGroup(of: String?.self) { group in
            for _ in 0..<20 {
                group.addTask { try await credential.renew(after: "t1") }
            }
            try await eventually { issuer.waitingCount == 1 }
            try await Task.sleep(for: .milliseconds(50))
            issuer.release()
            return try await group.reduce(into: [String?]()) { $0.append($1) }
        }
        #expect(tokens == Array(repeating: "t2", count: 20))
        #expect(issuer.calls == 2)
    }

    @Test func aStaticTokenIsNeverRenewedNorShown() async throws {
        let credential = StaticBearerCredential("dev-token-123")
        #expect(try await credential.token() == "dev-token-123")
        #expect(try await credential.renew(after: "dev-token-123") == nil)
        #expect(!"\(credential)".contains("dev-token-123"))
    }

    static func base64URL(_ text: String) -> Data? {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
        return Data(base64Encoded: base64)
    }

    /// A base64url part of a JWT, decoded as a JSON object.
    static func object(_ part: String) throws -> [String: Any] {
        let bytes = try #require(base64URL(part))
        return try #require(try JSONSerialization.jsonObject(with: bytes) as? [String: Any])
    }

    static func claims(of token: String) throws -> [String: Any] {
        let parts = token.split(separator: ".").map(String.init)
        try #require(parts.count == 3)
        return try object(parts[1])
    }
}
