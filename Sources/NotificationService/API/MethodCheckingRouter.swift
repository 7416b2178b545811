import Hummingbird

/// A Hummingbird router that also answers a method a known path does not serve: 405
/// Method Not Allowed with an `Allow` header listing the methods the path does serve
/// (RFC 9110, 15.5.6), where the plain router answers 404 as if the path did not exist.
/// Unknown paths stay 404.
///
/// It records every route as it is added, through groups too, so a route added later is
/// covered without a list kept by hand. The check comes before any middleware of the
/// routes: a method no route of the path has needs no token to be told so.
public final class MethodCheckingRouter<Context: RequestContext>: RouterMethods, HTTPResponderBuilder {
    private let router: Router<Context>
    /// Each path's methods, in the order the routes were added.
    private var methodsByPath: [(path: RouterPath, methods: [HTTPRequest.Method])] = []

    public init(context: Context.Type = BasicRequestContext.self) {
        router = Router(context: context)
    }

    /// Every route added, as (method, path template: `/v1/reminders/{id}`).
    public var routes: [(method: String, path: String)] {
        methodsByPath.flatMap { entry in
            entry.methods.map { (method: $0.rawValue, path: entry.path.description) }
        }
    }

    @discardableResult public func on<Responder: HTTPResponder>(
        _ path: RouterPath, method: HTTPRequest.Method, responder: Responder
    ) -> Self where Responder.Context == Context {
        router.on(path, method: method, responder: responder)
        if let index = methodsByPath.firstIndex(where: { $0.path.description == path.description }) {
            methodsByPath[index].methods.append(method)
        } else {
            methodsByPath.append((path, [method]))
        }
        return self
    }

    @discardableResult public func add(middleware: any MiddlewareProtocol<Request, Response, Context>) -> Self {
        router.add(middleware: middleware)
        return self
    }

    public func buildResponder() -> Responder {
        // A second router with the same paths, each answering the probe method with the
        // path's methods: Hummingbird's own matching (captures, wildcards, options)
        // decides whether a path is known, not a copy of it here.
        let paths = Router(context: Context.self)
        for (path, methods) in methodsByPath {
            let allow = methods.map(\.rawValue).joined(separator: ", ")
            paths.on(path, method: Responder.probe) { _, _ in
                Response(status: .methodNotAllowed, headers: [.allow: allow])
            }
        }
        return Responder(routes: router.buildResponder(), paths: paths.buildResponder())
    }

    public struct Responder: HTTPResponder {
        /// The method the path router's routes answer: any one does, the request's own
        /// method is what gets checked against the answer's `Allow`.
        static var probe: HTTPRequest.Method { .get }

        let routes: RouterResponder<Context>
        let paths: RouterResponder<Context>

        public func respond(to request: Request, context: Context) async throws -> Response {
            let probe = Request(
                head: HTTPRequest(method: Self.probe, scheme: nil, authority: nil, path: request.head.path),
                body: RequestBody(buffer: ByteBuffer()))
            let known = try await paths.respond(to: probe, context: context)
            guard known.status == .methodNotAllowed, let allow = known.headers[.allow],
                !allow.split(separator: ", ").contains(Substring(request.method.rawValue))
            else {
                return try await routes.respond(to: request, context: context)
            }
            var error = APIError(.methodNotAllowed, "method_not_allowed", "this path answers \(allow) only")
            error.headers = [.allow: allow]
            return try error.response(from: request, context: context)
        }
    }
}
