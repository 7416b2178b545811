import CRdKafka

/// Builds an `rd_kafka_conf_t` from properties. The caller owns the result until it
/// hands it to `rd_kafka_new`, which takes it over on success.
enum RdKafkaConfig {
    static func make(_ properties: [(String, String)]) throws(KafkaError) -> OpaquePointer {
        let conf = rd_kafka_conf_new()!
        var errorText = [CChar](repeating: 0, count: 512)
        for (name, value) in properties {
            let result = rd_kafka_conf_set(conf, name, value, &errorText, errorText.count)
            guard result == RD_KAFKA_CONF_OK else {
                rd_kafka_conf_destroy(conf)
                let message = String(nulTerminated: errorText)
                throw KafkaError(
                    category: .configuration,
                    name: result == RD_KAFKA_CONF_UNKNOWN ? "unknown_property" : "invalid_value",
                    message: message, operation: "configure", property: name)
            }
        }
        return conf
    }

    /// Throws as `make` would, for checking properties without a client.
    static func check(_ properties: [(String, String)]) throws(KafkaError) {
        rd_kafka_conf_destroy(try make(properties))
    }
}
