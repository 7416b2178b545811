import Foundation
import Hummingbird
import Kafka
import Logging
import ReminderCore
import ReminderStore

/// The HTTP API: health for orchestrators, Prometheus metrics, and, behind a bearer
/// token, reminders and dead letters for operators. `openapi/openapi.json` documents it.
public struct AdminAPI: Sendable {
    private let lookup: any ReminderLookingUp
    private let deadLetters: any DeadLetterBrowsing
    private let replayer: DeadLetterReplayer
    private let readiness: Readiness
    private let scrape: MetricsScrape
    private let token: String?
    private let eraser: UserEraser?

    /// `lookup` and `deadLetters`: the PostgreSQL stores in the service, the memory ones of
    /// ReminderStoreTesting in tests of the routes without a database.
    public init(
        lookup: any ReminderLookingUp, deadLetters: any DeadLetterBrowsing, replayer: DeadLetterReplayer,
        readiness: Readiness, scrape: MetricsScrape, token: String?, eraser: UserEraser? = nil
    ) {
        self.lookup = lookup
        self.deadLetters = deadLetters
        self.replayer = replayer
        self.readiness = readiness
        self.scrape = scrape
        self.token = token
        self.eraser = eraser
    }

    /// Every route, as the OpenAPI document lists them (method and path template); the
    /// router's own record of its routes (`MethodCheckingRouter.routes`) is tested equal.
    public static let routes: [(method: String, path: String)] = [
        ("GET", "/health/live"), ("GET", "/health/ready"), ("GET", "/metrics"), ("GET", "/v1/reminders/{id}"),
        ("GET", "/v1/dead-letters"), ("GET", "/v1/dead-letters/{id}"), ("POST", "/v1/dead-letters/{id}/replay"),
        ("DELETE", "/v1/users/{user_id}"),
    ]

    public static let pageLimitDefault = 50
    public static let pageLimitMaximum = 500

    /// The routes; a method a path does not serve is answered 405 with `Allow`.
    public func router() -> MethodCheckingRouter<BasicRequestContext> {
        let router = MethodCheckingRouter()
        router.get("health/live") { _, _ in
            try JSONResponse.make(APIBodies.Health(status: "live", checks: [:]))
        }
        router.get("health/ready") { _, _ in try await ready() }
        router.get("metrics") { _, _ in
            let text = await scrape.render()
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
        }
        let v1 = router.group("v1").add(middleware: BearerTokenMiddleware(token: token))
        v1.get("reminders/:id") { _, context in
            // The router hands the path segment over as sent: %2F, %20 and the like undone.
            let raw = try context.parameters.require("id")
            let id = raw.removingPercentEncoding ?? raw
            let lookup = self.lookup
            guard let report = try await fromStore({ try await lookup.find(reminderID: id) }) else {
                throw APIError(.notFound, "not_found", "no reminder has this id")
            }
            return try JSONResponse.make(APIBodies.Reminder(report))
        }
        v1.get("dead-letters") { request, _ in try await listDeadLetters(request) }
        v1.get("dead-letters/:id") { _, context in
            let entry = try await deadLetter(context)
            return try JSONResponse.make(APIBodies.DeadLetter(entry))
        }
        v1.post("dead-letters/:id/replay") { _, context in try await replay(try await deadLetter(context)) }
        v1.delete("users/:user_id") { _, context in
            let raw = try context.parameters.require("user_id")
            return try await erase(userID: raw.removingPercentEncoding ?? raw)
        }
        return router
    }

    private func ready() async throws -> Response {
        let checks = await readiness.check()
        let ready = checks.allSatisfy(\.ok)
        return try JSONResponse.make(
            APIBodies.Health(
                status: ready ? "ready" : "not_ready",
                checks: Dictionary(
                    uniqueKeysWithValues: checks.map { ($0.name, APIBodies.Health.Check(ok: $0.ok, detail: $0.detail)) }
                )), status: ready ? .ok : .serviceUnavailable)
    }

    private func deadLetter(_ context: BasicRequestContext) async throws -> DeadLetterEntry {
        let text = try context.parameters.require("id")
        guard let id = UUID(uuidString: text) else {
            throw APIError(.badRequest, "invalid_id", "a dead letter id is a UUID")
        }
        let deadLetters = self.deadLetters
        guard let entry = try await fromStore({ try await deadLetters.find(id) }) else {
            throw APIError(.notFound, "not_found", "no dead letter has this id")
        }
        return entry
    }

    private func listDeadLetters(_ request: Request) async throws -> Response {
        let query = request.uri.queryParameters
        var filter = DeadLetterFilter()
        if let reason = query["reason"].map(String.init) {
            guard DeadLetterReason(rawValue: reason) != nil else {
                throw APIError(
                    .badRequest, "invalid_parameter",
                    "reason: one of \(DeadLetterReason.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            filter.reason = reason
        }
        filter.since = try Self.time(query["since"], "since")
        filter.until = try Self.time(query["until"], "until")
        var limit = Self.pageLimitDefault
        if let text = query["limit"] {
            guard let number = Int(text), (1...Self.pageLimitMaximum).contains(number) else {
                throw APIError(
                    .badRequest, "invalid_parameter", "limit: a whole number in 1...\(Self.pageLimitMaximum)")
            }
            limit = number
        }
        var cursor: Int64?
        if let text = query["cursor"] {
            // As the document has it: 1 to 18 digits (a next_cursor), nothing Int64 would
            // also take (a sign, 19 digits that may not fit).
            guard (1...18).contains(text.count), text.allSatisfy({ $0.isASCII && $0.isNumber }),
                let number = Int64(text)
            else {
                throw APIError(.badRequest, "invalid_parameter", "cursor: the next_cursor of the previous page")
            }
            cursor = number
        }
        // One more than the page: a cursor only when there is a next page.
        let deadLetters = self.deadLetters
        let entries = try await fromStore { [filter, cursor, limit] in
            try await deadLetters.list(filter, before: cursor, limit: limit + 1, includeMessage: false)
        }
        let page = entries.prefix(limit)
        return try JSONResponse.make(
            APIBodies.DeadLetterPage(
                items: page.map(APIBodies.DeadLetter.init),
                nextCursor: entries.count > limit ? page.last.map { String($0.sequence) } : nil))
    }

    private func replay(_ entry: DeadLetterEntry) async throws -> Response {
        switch DeadLetterReplayer.verdict(entry) {
        case .alreadyReplayed(let at):
            throw APIError(.conflict, "already_replayed", "replayed at \(at); replaying it again changes nothing")
        case .notReplayable(let why):
            throw APIError(.conflict, "not_replayable", why)
        case .replay:
            break
        }
        guard let outcome = await replayer.replay([entry], dryRun: false).first, let report = outcome.published else {
            throw APIError(.badGateway, "publish_failed", "the replay could not be published to the broker; try again")
        }
        return try JSONResponse.make(
            APIBodies.Replay(
                deadLetterId: entry.id.lowercasedText, topic: report.topic, partition: report.partition,
                offset: report.offset), status: .accepted)
    }

    private func erase(userID: String) async throws -> Response {
        guard let eraser else {
            throw APIError(.serviceUnavailable, "erasure_unavailable", "this instance does not erase user data")
        }
        let record: ErasureStore.Record
        do {
            record = try await eraser.erase(userID: userID)
        } catch let error as UserEraser.InvalidUserID {
            throw APIError(.badRequest, "invalid_parameter", "user_id: \(error)")
        } catch let error as UserEraser.StillSending {
            var answer = APIError(.serviceUnavailable, "still_sending", error.description)
            answer.headers[.retryAfter] = "5"
            throw answer
        } catch is StoreError {
            throw APIError(.serviceUnavailable, "database_unavailable", "the database did not answer; try again")
        }
        return try JSONResponse.make(APIBodies.Erasure(record))
    }

    /// A database read, bounded in time (PostgresNIO waits for a connection for as long as
    /// the database is away); a failure answers 503, which a client may retry.
    private func fromStore<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> T {
        do {
            return try await StoreDeadline.run(.seconds(5), on: ContinuousClock(), operation: "read for the API", body)
        } catch {
            throw APIError(.serviceUnavailable, "database_unavailable", "the database did not answer; try again")
        }
    }

    /// An RFC 3339 time from the query, or a 400 naming the parameter.
    static func time(_ text: Substring?, _ name: String) throws -> Date? {
        guard let text else { return nil }
        guard let date = RFC3339.parse(String(text))?.date else {
            throw APIError(.badRequest, "invalid_parameter", "\(name): an RFC 3339 time such as 2026-11-22T09:00:00Z")
        }
        return date
    }
}
