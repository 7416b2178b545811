import Delivery
import Logging
import PostgresNIO
import ReminderStore

extension ServiceSettings {
    /// The dispatcher of one instance on `database`, sending through `providers`.
    public func makeDispatcher(
        database: PostgresClient, providers: DeliveryProviders, configuration: Dispatcher.Configuration? = nil,
        logger: Logger, metrics: ServiceMetrics = ServiceMetrics()
    ) -> Dispatcher {
        Dispatcher(
            store: DispatchStore(client: database, logger: logger),
            deliverer: ReminderDeliverer(providers: providers.directory), wakeups: self.database,
            configuration: configuration ?? dispatch.dispatcher, logger: logger,
            metrics: metrics)
    }
}
