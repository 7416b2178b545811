import Kafka
import TestSupport

/// Events the tests of a whole `serve` process publish, and the settings they need.
enum ServiceEvents {
    /// A webhook reminder due now, keyed by its user.
    static func webhook(_ id: String, url: String, topic: String) -> KafkaProducerMessage {
        let user = "user-\(id)"
        let value = """
            {"schema_version":1,"type":"schedule","idempotency_key":"key-\(id)","reminder_id":"\(id)",\
            "user_id":"\(user)","deliver_at":"2026-01-01T09:00:00Z","channels":[{"type":"webhook","url":"\(url)"}],\
            "content":{"title":"\(title(id))","body":"\(body(id))"},"correlation_id":"corr-\(id)"}
            """
        return KafkaProducerMessage(topic: topic, key: Array(user.utf8), value: Array(value.utf8))
    }

    /// The reminder's text: personal data, which no log line may hold.
    static func title(_ id: String) -> String { "Title of \(id), private" }
    static func body(_ id: String) -> String { "Body of \(id), private" }

    /// A schedule without channels: dead-lettered as invalid_event.
    static func invalid(topic: String) -> KafkaProducerMessage {
        let value = """
            {"schema_version":1,"type":"schedule","idempotency_key":"key-invalid","reminder_id":"invalid-1",\
            "user_id":"user-invalid","deliver_at":"2026-01-01T09:00:00Z","content":{"title":"T","body":"B"}}
            """
        return KafkaProducerMessage(topic: topic, key: Array("user-invalid".utf8), value: Array(value.utf8))
    }

    /// The settings a `serve` process needs to send webhooks to the test sink. The send
    /// limit is generous: these tests are not about time-outs, and on a loaded machine a
    /// 2 s limit turned an answered send into a retry (a second send, or a 400 lost).
    static func settings(_ sink: ProviderSink) -> [String: String] {
        [
            "WEBHOOK_SIGNING_SECRET": "0123456789abcdef-secret", "WEBHOOK_ALLOW_LOOPBACK": "true",
            "HTTP_PROVIDER_CA_FILE": sink.caFile, "HTTP_PROVIDER_TIMEOUT_MS": "30000",
        ]
    }
}
