#ifndef NOTIFICATION_SERVICE_CRDKAFKA_SHIM_H
#define NOTIFICATION_SERVICE_CRDKAFKA_SHIM_H

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

/* rd_kafka_producev() takes a variadic list built with macros, which Swift cannot
 * call. This wrapper produces one message to a topic handle with optional key,
 * value (NULL for a tombstone) and headers (ownership passes to librdkafka on
 * success; the caller destroys them on failure). The payload is copied. */
static inline rd_kafka_resp_err_t
crdkafka_produce(rd_kafka_t *rk, rd_kafka_topic_t *rkt, int32_t partition,
                 const void *key, size_t key_len,
                 const void *value, size_t value_len,
                 rd_kafka_headers_t *headers, void *msg_opaque) {
    if (headers) {
        return rd_kafka_producev(rk, RD_KAFKA_V_RKT(rkt), RD_KAFKA_V_PARTITION(partition),
                                 RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                 RD_KAFKA_V_KEY(key, key_len), RD_KAFKA_V_VALUE(value, value_len),
                                 RD_KAFKA_V_HEADERS(headers), RD_KAFKA_V_OPAQUE(msg_opaque),
                                 RD_KAFKA_V_END);
    }
    return rd_kafka_producev(rk, RD_KAFKA_V_RKT(rkt), RD_KAFKA_V_PARTITION(partition),
                             RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                             RD_KAFKA_V_KEY(key, key_len), RD_KAFKA_V_VALUE(value, value_len),
                             RD_KAFKA_V_OPAQUE(msg_opaque), RD_KAFKA_V_END);
}

#endif
