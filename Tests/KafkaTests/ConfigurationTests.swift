import Testing

@testable import Kafka

@Suite struct ConfigurationTests {
    private let client = KafkaClientConfiguration(bootstrapServers: ["127.0.0.1:1"])

    @Test func aMisspeltPropertyFailsWithItsName() {
        var configuration = KafkaConsumerConfiguration(client: client, groupID: "g")
        configuration.client.properties["enable.auto.comit"] = "false"
        let error = #expect(throws: KafkaError.self) { try KafkaConsumer(configuration: configuration) }
        #expect(error?.category == .configuration)
        #expect(error?.property == "enable.auto.comit")
        #expect(error?.description.contains("enable.auto.comit") == true)
    }

    @Test func anInvalidValueFailsWithThePropertyAndLibrdkafkasMessage() {
        var configuration = KafkaProducerConfiguration(client: client)
        configuration.client.properties["queue.buffering.max.messages"] = "lots"
        let error = #expect(throws: KafkaError.self) { try KafkaProducer(configuration: configuration) }
        #expect(error?.property == "queue.buffering.max.messages")
        #expect(error?.message.isEmpty == false)
    }

    @Test func anEmptyGroupIsRefusedBeforeAnyHandleIsMade() {
        let error = #expect(throws: KafkaError.self) {
            try KafkaConsumer(configuration: KafkaConsumerConfiguration(client: client, groupID: ""))
        }
        #expect(error?.property == "group.id")
    }

    @Test func idempotenceWithoutAcksAllIsRefused() {
        let error = #expect(throws: KafkaError.self) {
            try KafkaProducer(configuration: KafkaProducerConfiguration(client: client, idempotent: true, acks: 1))
        }
        #expect(error?.property == "acks")
    }

    @Test func descriptionsNeverShowSecrets() {
        var configuration = KafkaClientConfiguration(
            bootstrapServers: ["b:9092"],
            security: KafkaSecurity(
                transport: .saslSSL, sasl: .init(mechanism: .scramSHA512, username: "svc", password: "hunter2")),
            properties: ["ssl.key.password": "s3cret"])
        configuration.clientID = "c"
        #expect(!configuration.description.contains("hunter2"))
        #expect(!configuration.description.contains("s3cret"))
        #expect(configuration.description.contains("ssl.key.password"))
    }

    @Test func theLoadedLibraryIsNewEnough() throws {
        try KafkaLibrary.checkVersion()
        let parts = KafkaLibrary.version.split(separator: ".").compactMap { Int($0) }
        #expect(parts.count >= 2)
        #expect(parts[0] > 2 || (parts[0] == 2 && parts[1] >= 2))
    }

    @Test func aLibraryOlderThan2_2IsRefusedNamingTheVersionAndTheFix() throws {
        let error = try #require(KafkaLibrary.versionError(loaded: 0x0200_02ff, named: "2.0.2"))
        #expect(error.category == .unsupportedLibrary)
        #expect(error.message.contains("librdkafka 2.0.2 is loaded"))
        #expect(error.message.contains("scripts/setup.sh"))
        #expect(KafkaLibrary.versionError(loaded: 0x0201_01ff, named: "2.1.1") != nil)
        #expect(KafkaLibrary.versionError(loaded: 0x0202_00ff, named: "2.2.0") == nil)
        #expect(KafkaLibrary.versionError(loaded: 0x0300_00ff, named: "3.0.0") == nil)
    }
}
