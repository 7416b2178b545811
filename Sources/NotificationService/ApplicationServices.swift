import Logging
import ServiceLifecycle

/// Runs a start-up step (migrations), then the given services side by side until all
/// have ended. Inside a service group, graceful shutdown reaches each of them.
public final class ApplicationServices: Service, Sendable {
    private let startup: @Sendable () async throws -> Void
    private let services: [any Service]

    public init(services: [any Service], startup: @escaping @Sendable () async throws -> Void = {}) {
        self.services = services
        self.startup = startup
    }

    public func run() async throws {
        try await startup()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for service in services {
                group.addTask { try await service.run() }
            }
            try await group.waitForAll()
        }
    }
}
