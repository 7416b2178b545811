import ArgumentParser

@main
struct NotificationServiceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "notification-service",
        abstract: "Delivers reminder events from Kafka to users, once, at the right local time.",
        subcommands: [
            ServeCommand.self, MigrateCommand.self, DeadLetterCommand.self, PublishCommand.self, DevCommand.self,
            EraseCommand.self,
            ResealCommand.self,
        ]
    )
}
