#!/usr/bin/env bash
# Installs the Debian 12 packages Phoenix builds and tests with. Idempotent: packages
# already present are not fetched again, and apt-get update runs only when something is
# missing. Package names are pinned to the major versions DESIGN.md §2 names (CAF 0.17,
# librdkafka 2.0, libpqxx 6.4, PostgreSQL 15, Redis 7, clang 14, Java 17); CMake checks the
# versions again at configure time.
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config git
  libcaf-dev librdkafka-dev libsqlite3-dev libpqxx-dev prometheus-cpp-dev libspdlog-dev
  libgtest-dev libgmock-dev libtomlplusplus-dev libcli11-dev nlohmann-json3-dev
  libcpp-httplib-dev libhiredis-dev libssl-dev
  # jemalloc 5.3: the phoenix executable's malloc (README.md, "Allocator").
  libjemalloc-dev
  clang-14 libclang-rt-14-dev clang-format-14
  kcat postgresql-15 postgresql-client-15
  # Redis 7 for the cluster-wide tenant rate limits; tests start their own on free
  # ports (deploy/redis/redis-temp.sh).
  redis-server
  # promtool checks /metrics and deploy/prometheus in the tests (19 MB download, 96 MB
  # installed, ~10 s); the openssl command makes the TLS tests' certificates.
  prometheus openssl
  # Java 17 and Maven run the real Kafka cluster of the system tier (deploy/kafka/; Maven
  # fetches its jars into a cache outside the repo); ss (iproute2) finds it free ports.
  openjdk-17-jre-headless maven iproute2
)

if [ "$(id -u)" -ne 0 ]; then
  sudo=sudo
else
  sudo=
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# Packages such as prometheus and postgresql-15 start their daemons on fixed ports when
# installed; tests start their own on free ports. A policy-rc.d that denies starts keeps
# them down during this install (one already present is left as it is).
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
  $sudo chmod +x "$policy"
  trap '$sudo rm -f "$policy"' EXIT
fi
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
command -v promtool >/dev/null || { echo "install-deps: promtool not on PATH" >&2; exit 1; }
