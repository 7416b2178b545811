import ArgumentParser
import BenchmarkSupport
import Foundation
import Logging
import TestSupport

/// The fault suite: end-to-end scenarios against the real broker, PostgreSQL and a
/// loopback HTTPS receiver, each with its own topic and database, bounded in time and
/// traffic. Prints one row per scenario (published, stored, delivered at the receiver,
/// dead-lettered, cancelled, duplicates inside and outside the documented windows, lost)
/// and exits 1 if any scenario lost or doubled anything.
@main
struct ChaosSuite: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chaos-suite",
        abstract: "Fault scenarios end to end: nothing lost, nothing doubled.",
        discussion:
            "Run it through scripts/chaos.sh, which starts a private broker and database, makes a certificate and builds in release mode."
    )

    @OptionGroup var target: ServiceUnderTest

    @OptionGroup var receiver: ReceiverCertificate

    @Option(help: "Events of the SIGKILL stream (the membership and database streams take half).")
    var stream = 100_000

    @Option(help: "Reminders of the burst due in the same second.")
    var burst = 50_000

    @Option(help: "Recurring reminders of the recurring scenario, ten occurrences each.")
    var series = 1_000

    @Option(help: "Scenarios to run (comma-separated names); all by default.")
    var only: String?

    @Option(help: "Seed of the random choices (kill moments, failing requests).")
    var seed: UInt64 = 20_261_122

    @Option(help: "A folder for the services' logs (none when not given).")
    var logDirectory: String?

    @Option(help: "The project's scripts folder (to stop and start PostgreSQL and the broker).")
    var scripts: String

    @Option(
        help:
            "Port of the broker restart scenario's own broker, which keeps its data in the loopback S3 of AWS_ENDPOINT."
    )
    var restartBrokerPort = 39_692

    static let names = [
        "sigkill", "members", "database", "long-outage", "cancel-race", "broker", "providers", "burst", "order",
        "recurring",
    ]

    func run() async throws {
        let chosen = only.map { Set($0.split(separator: ",").map(String.init)) } ?? Set(Self.names)
        if let unknown = chosen.subtracting(Self.names).first {
            throw ValidationError("--only: no scenario \(unknown); one of \(Self.names.joined(separator: ", "))")
        }
        var random = SeededRandom(seed: seed)
        var outcomes: [Outcome] = []
        for name in Self.names where chosen.contains(name) {
            say("scenario \(name): started")
            let start = ContinuousClock.now
            let outcome: Outcome
            switch name {
            case "sigkill": outcome = try await sigkill(&random, start: start)
            case "members": outcome = try await members(&random, start: start)
            case "database": outcome = try await databaseOutage(start: start)
            case "long-outage": outcome = try await longOutage(start: start)
            case "cancel-race": outcome = try await cancelRace(&random, start: start)
            case "broker": outcome = try await brokerRestart(start: start)
            case "providers": outcome = try await faultyProviders(&random, start: start)
            case "burst": outcome = try await sameSecondBurst(start: start)
            case "recurring": outcome = try await recurringSeries(&random, start: start)
            default: outcome = try await orderUnderFailure(start: start)
            }
            say("scenario \(name): \(outcome.passed ? "passed" : "FAILED") in \(Int(outcome.seconds)) s")
            outcomes.append(outcome)
        }
        say("")
        say(Report.table(outcomes))
        if outcomes.contains(where: { !$0.passed }) { throw ExitCode(1) }
    }
}

let benchLogger = Logger(label: "chaos-suite")
