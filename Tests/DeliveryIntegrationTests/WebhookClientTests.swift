import Foundation
import NIOHTTP1
import ReminderCore
import Synchronization
import TestSupport
import Testing

@testable import Delivery

/// The webhook client against the loopback HTTPS sink: kept connections, the limit per
/// origin, each send's time limit, connections the answer closes, TLS and shutdown.
@Suite(.timeLimit(.minutes(4)))
struct WebhookClientTests {
    func withSink(
        connections: Int = 4, timeout: Duration = .seconds(30), trusted: Bool = true,
        names: TestCertificate.Names = .loopback, maximumOrigins: Int = 1_024,
        _ body: (ProviderSink, WebhookClient) async throws -> Void
    ) async throws {
        let sink = try await ProviderSink(lifetime: 120, names: names)
        let client = try WebhookClient(
            configuration: .init(
                timeout: timeout, caFile: trusted ? sink.caFile : nil, connectionsPerHost: connections,
                maximumOrigins: maximumOrigins))
        defer { client.shutdown() }
        do {
            try await body(sink, client)
        } catch {
            await sink.stop()
            throw error
        }
        await sink.stop()
    }

    func post(_ client: WebhookClient, _ url: String, body: String = #"{"n":1}"#) async -> Result<
        HTTPTransport.Answer, DeliveryFailure
    > {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/json")
        do throws(DeliveryFailure) {
            return .success(try await client.post(to: url, headers: headers, body: Array(body.utf8)))
        } catch {
            return .failure(error)
        }
    }

    /// Bounded: at most 10 s.
    func eventually(_ condition: () -> Bool) async throws -> Bool {
        for _ in 0..<200 {
            if condition() { return true }
            try await Task.sleep(for: .milliseconds(50))
        }
        return condition()
    }

    @Test func oneKeptConnectionCarriesSendsOneAfterAnother() async throws {
        try await withSink { sink, client in
            for number in 0..<10 {
                let answer = try await post(client, sink.baseURL + "/k/\(number)?q=a%2Fb", body: #"{"n":\#(number)}"#)
                    .get()
                #expect(answer.status == 200)
            }
            let counts = try #require(client.connections(to: sink.baseURL + "/"))
            #expect(counts.open == 1 && counts.idle == 1 && counts.waiting == 0, "\(counts)")
            let received = try await sink.requests()
            #expect(received.count == 10)
            for (number, request) in received.enumerated() {
                #expect(request.method == "POST")
                #expect(request.path.hasPrefix("/k/\(number)"))
                #expect(request.headers["host"] == "127.0.0.1:\(sink.port)")
                #expect(request.headers["content-length"] == String(request.body.count))
                #expect(request.bodyText == #"{"n":\#(number)}"#)
            }
        }
    }

    @Test func sendsBeyondTheLimitWaitForAConnectionAndAllAreAnswered() async throws {
        try await withSink(connections: 2) { sink, client in
            try await sink.script("/slow", Array(repeating: ProviderSink.Response(delayMilliseconds: 300), count: 8))
            let most = LockedMaximum()
            let results = await withTaskGroup(of: Int?.self) { group in
                for _ in 0..<8 {
                    group.addTask { try? await post(client, sink.baseURL + "/slow").get().status }
                }
                group.addTask {
                    for _ in 0..<100 {
                        if let counts = client.connections(to: sink.baseURL + "/") { most.observe(counts) }
                        try? await Task.sleep(for: .milliseconds(20))
                    }
                    return nil
                }
                var statuses: [Int] = []
                for await status in group { if let status { statuses.append(status) } }
                return statuses
            }
            #expect(results == Array(repeating: 200, count: 8))
            #expect(most.open == 2, "never more connections than the limit")
            #expect(most.waiting > 0, "sends waited for a connection")
            let count = try await sink.count()
            #expect(count == 8)
        }
    }

    @Test func aSendWaitingForAConnectionTakesANewOneWhenTheBusyOneIsLost() async throws {
        try await withSink(connections: 1) { sink, client in
            try await sink.script("/d", [ProviderSink.Response(delayMilliseconds: 1_000, action: "drop")])
            async let first = post(client, sink.baseURL + "/d")
            try await Task.sleep(for: .milliseconds(200))
            let second = await post(client, sink.baseURL + "/d")
            #expect(try second.get().status == 200)
            #expect(await first.failure?.errorClass == "connection", "the dropped send fails")
            #expect(client.connections(to: sink.baseURL + "/")?.open == 1)
        }
    }

    @Test func aSendThatOutlivesItsLimitTimesOutAndItsConnectionIsClosed() async throws {
        try await withSink(timeout: .seconds(2)) { sink, client in
            // The connection is made (TLS and all) first, so that only the hang counts.
            #expect(try await post(client, sink.baseURL + "/warm").get().status == 200)
            try await sink.script("/h", [.hang])
            let started = ContinuousClock.now
            let failure = await post(client, sink.baseURL + "/h").failure
            #expect(failure?.errorClass == "timeout", "the hung send fails")
            #expect(failure?.kind == .transient)
            // Within the limit and the sweep's interval; not a measure of speed.
            #expect(ContinuousClock.now - started < .seconds(30))
            #expect(try await eventually { client.connections(to: sink.baseURL + "/")?.open == 0 })
        }
    }

    @Test func anAnswerThatClosesItsConnectionIsNotFollowedOnIt() async throws {
        try await withSink { sink, client in
            try await sink.script("/c", [.status(202, headers: ["Connection": "close"])])
            #expect(try await post(client, sink.baseURL + "/c").get().status == 202)
            #expect(try await eventually { client.connections(to: sink.baseURL + "/")?.open == 0 })
            #expect(try await post(client, sink.baseURL + "/c").get().status == 200)
            let count = try await sink.count()
            #expect(count == 2)
        }
    }

    @Test func aReceiverNamedByItsHostIsCheckedAgainstThatName() async throws {
        try await withSink { sink, client in
            // The sink's certificate names localhost (and 127.0.0.1); only 127.0.0.1 listens.
            let url = "https://localhost:\(sink.port)/named"
            #expect(try await post(client, url).get().status == 200)
            let received = try #require(try await sink.requests(path: "/named").first)
            #expect(received.headers["host"] == "localhost:\(sink.port)")
        }
    }

    @Test func aReceiverWithAnUntrustedCertificateIsATLSFailure() async throws {
        try await withSink(trusted: false) { sink, client in
            let failure = await post(client, sink.baseURL + "/t").failure
            #expect(failure?.errorClass == "tls", "an untrusted receiver is not sent to")
            let count = try await sink.count()
            #expect(count == 0)
        }
    }

    @Test func aReceiverWhoseCertificateNamesAnotherHostIsATLSFailure() async throws {
        // Trusted (self-signed, given as the CA file), for `receiver.invalid` only.
        try await withSink(names: .elsewhere) { sink, client in
            for url in [sink.baseURL + "/n", "https://localhost:\(sink.port)/n"] {
                let failure = await post(client, url).failure
                #expect(failure?.errorClass == "tls", "\(url): a certificate for another name is refused")
            }
            let count = try await sink.count()
            #expect(count == 0)
        }
    }

    @Test func pastItsBoundItForgetsThePoolsOfOriginsWithNothingOpen() async throws {
        try await withSink(maximumOrigins: 3) { sink, client in
            #expect(try await post(client, sink.baseURL + "/kept").get().status == 200)
            // Origins where nothing listens: each send is refused and leaves its pool empty.
            let refusing = try (0..<4).map { _ in try ReservedPort() }
            for reserved in refusing {
                let failure = await post(client, "https://127.0.0.1:\(reserved.port)/x").failure
                #expect(failure?.errorClass == "connection")
                #expect(client.originCount <= 3)
            }
            #expect(client.connections(to: "https://127.0.0.1:\(refusing[0].port)/") == nil, "forgotten")
            // The origin with a kept connection stays, and its connection with it.
            let kept = try #require(client.connections(to: sink.baseURL + "/"))
            #expect(kept.open == 1 && kept.idle == 1, "\(kept)")
            #expect(try await post(client, sink.baseURL + "/kept").get().status == 200)
            let count = try await sink.count()
            #expect(count == 2)
            #expect(client.connections(to: sink.baseURL + "/")?.open == 1, "the same connection carried both")
        }
    }

    @Test func aCancelledSendEndsAsCancelled() async throws {
        try await withSink { sink, client in
            try await sink.script("/h", [.hang])
            let send = Task { await post(client, sink.baseURL + "/h") }
            // Bounded: at most 10 s for the request to reach the sink.
            for _ in 0..<200 {
                if try await sink.count() > 0 { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            send.cancel()
            let cancelled = ContinuousClock.now
            let failure = await send.value.failure
            #expect(failure?.isCancellation == true, "the cancelled send fails as cancelled")
            #expect(ContinuousClock.now - cancelled < .seconds(5), "ended when cancelled, not at its limit")
        }
    }

    @Test func afterShutdownSendsFailAndNothingIsSent() async throws {
        try await withSink { sink, client in
            #expect(try await post(client, sink.baseURL + "/s").get().status == 200)
            client.shutdown()
            let failure = await post(client, sink.baseURL + "/s").failure
            #expect(failure?.errorClass == "connection", "a send after shutdown fails")
            let count = try await sink.count()
            #expect(count == 1)
        }
    }
}

extension Result where Failure == DeliveryFailure {
    /// The failure; nil when the send was answered.
    fileprivate var failure: DeliveryFailure? {
        if case .failure(let failure) = self { failure } else { nil }
    }
}

/// The most connections and waiting sends seen.
final class LockedMaximum: Sendable {
    private let state = Mutex((open: 0, waiting: 0))
    var open: Int { state.withLock { $0.open } }
    var waiting: Int { state.withLock { $0.waiting } }

    func observe(_ counts: (open: Int, idle: Int, waiting: Int)) {
        state.withLock {
            $0.open = max($0.open, counts.open)
            $0.waiting = max($0.waiting, counts.waiting)
        }
    }
}
