/* The baseline the Swift wrapper is measured against: the same librdkafka, driven
 * directly from C the way kcat does it (rd_kafka_consumer_poll per message, produce
 * with a delivery-report callback).
 *
 *   rdkafka_baseline consume BOOTSTRAP TOPIC GROUP COUNT [prop=value ...]
 *   rdkafka_baseline produce BOOTSTRAP TOPIC COUNT SIZE [prop=value ...]
 *
 * Prints one line: "<mode> <messages> <seconds> <messages per second>". For consume the
 * clock starts at the first message, so that joining the group is not counted. */
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void set(rd_kafka_conf_t *conf, const char *name, const char *value) {
    char errstr[512];
    if (rd_kafka_conf_set(conf, name, value, errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
        fprintf(stderr, "baseline: %s: %s\n", name, errstr);
        exit(2);
    }
}

static void set_extra(rd_kafka_conf_t *conf, int argc, char **argv, int first) {
    for (int i = first; i < argc; i++) {
        char *eq = strchr(argv[i], '=');
        if (!eq) { fprintf(stderr, "baseline: expected prop=value, got %s\n", argv[i]); exit(2); }
        *eq = '\0';
        set(conf, argv[i], eq + 1);
    }
}

static long delivered = 0, failed = 0;

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
    (void)rk; (void)opaque;
    if (m->err) failed++; else delivered++;
}

static int consume(int argc, char **argv) {
    if (argc < 6) return 2;
    long count = atol(argv[5]);
    char errstr[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    set(conf, "bootstrap.servers", argv[2]);
    set(conf, "group.id", argv[4]);
    set(conf, "auto.offset.reset", "earliest");
    set(conf, "enable.auto.commit", "false");
    set(conf, "enable.auto.offset.store", "false");
    set_extra(conf, argc, argv, 6);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
    if (!rk) { fprintf(stderr, "baseline: %s\n", errstr); return 1; }
    rd_kafka_poll_set_consumer(rk);
    rd_kafka_topic_partition_list_t *topics = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(topics, argv[3], RD_KAFKA_PARTITION_UA);
    rd_kafka_subscribe(rk, topics);
    rd_kafka_topic_partition_list_destroy(topics);

    long received = 0, bytes = 0;
    double start = 0, deadline = now_seconds() + 300;
    while (received < count && now_seconds() < deadline) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
        if (!m) continue;
        if (!m->err) {
            if (received == 0) start = now_seconds();
            received++;
            bytes += (long)m->len;
        }
        rd_kafka_message_destroy(m);
    }
    double elapsed = now_seconds() - start;
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    printf("consume %ld %.3f %.0f\n", received, elapsed, received / elapsed);
    return received == count ? 0 : 1;
}

static int produce(int argc, char **argv) {
    if (argc < 6) return 2;
    long count = atol(argv[4]);
    size_t size = (size_t)atol(argv[5]);
    char errstr[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    set(conf, "bootstrap.servers", argv[2]);
    set(conf, "enable.idempotence", "true");
    set(conf, "acks", "all");
    set(conf, "linger.ms", "5");
    set_extra(conf, argc, argv, 6);
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    if (!rk) { fprintf(stderr, "baseline: %s\n", errstr); return 1; }
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, argv[3], NULL);
    char *payload = malloc(size);
    memset(payload, 'x', size);
    char key[32];
    double start = now_seconds();
    for (long i = 0; i < count; i++) {
        int keylen = snprintf(key, sizeof(key), "user-%ld", i % 10000);
        while (rd_kafka_produce(rkt, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY, payload, size, key,
                                (size_t)keylen, NULL) == -1) {
            if (rd_kafka_last_error() != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
                fprintf(stderr, "baseline: produce: %s\n", rd_kafka_err2str(rd_kafka_last_error()));
                return 1;
            }
            rd_kafka_poll(rk, 10);
        }
        rd_kafka_poll(rk, 0);
    }
    rd_kafka_flush(rk, 120000);
    double elapsed = now_seconds() - start;
    free(payload);
    rd_kafka_topic_destroy(rkt);
    rd_kafka_destroy(rk);
    printf("produce %ld %.3f %.0f\n", delivered, elapsed, delivered / elapsed);
    return failed == 0 && delivered == count ? 0 : 1;
}

int main(int argc, char **argv) {
    if (argc >= 2 && strcmp(argv[1], "consume") == 0) return consume(argc, argv);
    if (argc >= 2 && strcmp(argv[1], "produce") == 0) return produce(argc, argv);
    fprintf(stderr, "usage: rdkafka_baseline consume BOOTSTRAP TOPIC GROUP COUNT [prop=value ...]\n"
                    "       rdkafka_baseline produce BOOTSTRAP TOPIC COUNT SIZE [prop=value ...]\n");
    return 2;
}
