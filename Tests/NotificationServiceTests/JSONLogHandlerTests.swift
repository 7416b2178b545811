import Foundation
import Logging
import NotificationService
import TestSupport
import Testing

@Suite struct JSONLogHandlerTests {
    @Test func eachRecordIsOneLineOfJSONWithItsMetadata() throws {
        let captured = CapturedLog()
        var logger = captured.logger("svc")
        logger[metadataKey: "reminder_id"] = "r-1"
        logger.info(
            "a \"quoted\"\nmessage", metadata: ["partition": "3", "tags": ["a", "b"], "nested": ["k": "v"]])
        logger.debug("not at info")
        let lines = captured.lines.withLock { $0 }
        #expect(lines.count == 1)
        #expect(!lines[0].contains("\n"))
        let record = try #require(captured.records.first)
        #expect(record["message"] as? String == "a \"quoted\"\nmessage")
        #expect(record["level"] as? String == "info")
        #expect(record["label"] as? String == "svc")
        #expect(record["reminder_id"] as? String == "r-1")
        #expect(record["partition"] as? String == "3")
        #expect(record["tags"] as? [String] == ["a", "b"])
        #expect((record["nested"] as? [String: String]) == ["k": "v"])
        let timestamp = try #require(record["ts"] as? String)
        #expect(timestamp.count == 24 && timestamp.hasSuffix("Z"))
    }

    @Test func theTimestampIsNowInUTCWithMillisecondsAndMetadataCannotReplaceTheRecordsOwnMembers() throws {
        let captured = CapturedLog()
        let before = Date()
        captured.logger("svc").warning(
            "m", metadata: ["message": "other", "ts": "x", "a\"key": .stringConvertible(42), "list": [["k": "v"]]])
        let after = Date()
        let line = try #require(captured.lines.withLock { $0.first })
        #expect(
            line.hasSuffix(
                #","level":"warning","label":"svc","message":"m","a\"key":"42","list":[{"k":"v"}]}"#))
        let record = try #require(captured.records.first)
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let stamp = try #require(record["ts"] as? String)
        #expect(stamp.count == 24 && stamp.hasSuffix("Z"))
        let at = try #require(formatter.date(from: stamp))
        #expect(at >= before.addingTimeInterval(-0.001) && at <= after)
    }

    @Test(arguments: [("LOG_FORMAT", "xml"), ("LOG_LEVEL", "loud")])
    func aBadLogSettingNamesItsVariable(variable: String, value: String) {
        let error = #expect(throws: ServiceSettings.Invalid.self) { try LogSetup.choice([variable: value]) }
        #expect(error?.variable == variable)
    }

    @Test func jsonAtInfoIsTheDefault() throws {
        #expect(try LogSetup.choice([:]) == LogSetup.Choice(json: true, level: .info))
        #expect(try LogSetup.choice(["LOG_FORMAT": "text", "LOG_LEVEL": "debug"]) == .init(json: false, level: .debug))
    }
}
