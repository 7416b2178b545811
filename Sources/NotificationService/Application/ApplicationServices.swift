import Logging
import ServiceLifecycle

/// Waits for a precondition (the HTTP server listening), runs a start-up step
/// (migrations), then the given services side by side until all have ended. Inside a
/// service group, graceful shutdown reaches each of them. When the precondition is not
/// met (the server could not listen, or shutdown came first), nothing starts.
public final class ApplicationServices: Service, Sendable {
    private let precondition: @Sendable () async -> Bool
    private let startup: @Sendable () async throws -> Void
    private let services: [any Service]

    public init(
        services: [any Service], precondition: @escaping @Sendable () async -> Bool = { true },
        startup: @escaping @Sendable () async throws -> Void = {}
    ) {
        self.services = services
        self.precondition = precondition
        self.startup = startup
    }

    public func run() async throws {
        guard await precondition() else { return }
        try await startup()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for service in services {
                group.addTask { try await service.run() }
            }
            try await group.waitForAll()
        }
    }
}
