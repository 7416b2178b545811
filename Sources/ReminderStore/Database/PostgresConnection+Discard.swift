import PostgresNIO

extension PostgresConnection {
    /// Closes a connection that a failure left in a state not to be reused (a call given
    /// up in flight, a transaction not rolled back, a statement whose preparation failed),
    /// so that the pool opens another instead of handing this one out again. The close is
    /// waited for at most `limit`: asking a connection that had just been cut for a
    /// ROLLBACK once waited forever (the pruner, and a graceful shutdown with it, hung in
    /// ReadinessTests), so nothing here waits on the connection unbounded.
    func discard(within limit: Duration) async {
        _ = try? await StoreDeadline.run(limit, on: ContinuousClock(), operation: "close the connection") {
            try await self.close()
        }
    }
}
