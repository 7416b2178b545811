import Testing

@testable import Delivery

/// Settings that cannot work stop the provider's creation.
struct SMTPConfigurationTests {
    private let sender = SMTPMailbox(address: "reminders@example.test", displayName: "Reminders")

    private func error(_ configuration: SMTPConfiguration) -> SMTPConfigurationError? {
        do {
            _ = try SMTPProvider(configuration: configuration)
            return nil
        } catch {
            return error
        }
    }

    @Test func missingTrustRootsFileIsNamed() {
        let configuration = SMTPConfiguration(
            host: "127.0.0.1", port: 587, from: sender, startTLS: .required, trustRootsPath: "/nonexistent/ca.pem")
        #expect(error(configuration)?.setting == "trustRootsPath")
    }

    @Test func badSettingsAreNamed() {
        var configuration = SMTPConfiguration(
            host: "127.0.0.1", port: 0, from: sender, heloName: "client.test", startTLS: .off)
        #expect(error(configuration)?.setting == "port")
        configuration.port = 587
        configuration.from = SMTPMailbox(address: "a@b.test\r\nRCPT TO:<x@y>")
        #expect(error(configuration)?.setting == "from.address")
        configuration.from = SMTPMailbox(address: "a@b.test", displayName: "A\nB")
        #expect(error(configuration)?.setting == "from.displayName")
        configuration.from = sender
        configuration.heloName = "two words"
        #expect(error(configuration)?.setting == "heloName")
        configuration.heloName = "client.test"
        configuration.maxConnections = 0
        #expect(error(configuration)?.setting == "maxConnections")
        configuration.maxConnections = 1_001
        #expect(error(configuration)?.setting == "maxConnections")
        configuration.maxConnections = 1
        #expect(error(configuration) == nil)
    }

    @Test func passwordIsNeverPrinted() {
        let credentials = SMTPCredentials(username: "mailer", password: "s3cret")
        #expect(!"\(credentials)".contains("s3cret"))
    }
}
