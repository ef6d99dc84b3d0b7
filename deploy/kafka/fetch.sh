#!/usr/bin/env bash
# Fetches the Apache Kafka release pinned in pom.xml (kafka_2.13 with its runtime
# dependencies) from Maven Central into a cache outside the repository, and prints the
# folder of jars on stdout. Idempotent: a complete cache is reused without asking Maven;
# concurrent callers wait on a lock instead of fetching twice.
#
#   PHOENIX_KAFKA_CACHE   cache root (default ~/.cache/phoenix)
#
# Needs Maven and Java 17 (deploy/install-deps.sh installs both).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
version=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$here/pom.xml")
cache_root=${PHOENIX_KAFKA_CACHE:-$HOME/.cache/phoenix}
cache="$cache_root/kafka-$version"

if [ -f "$cache/complete" ]; then
  echo "$cache/libs"
  exit 0
fi

for tool in mvn java; do
  if ! command -v "$tool" >/dev/null; then
    echo "fetch.sh: $tool not found; run deploy/install-deps.sh" >&2
    exit 1
  fi
done

mkdir -p "$cache_root"
exec 9>"$cache.lock"
flock 9
if [ ! -f "$cache/complete" ]; then
  echo "fetch.sh: fetching Apache Kafka $version jars from Maven Central into $cache" >&2
  rm -rf "$cache"
  staging=$(mktemp -d "$cache_root/kafka-$version.XXXXXX")
  trap 'rm -rf "$staging"' EXIT
  if ! mvn -B -q -f "$here/pom.xml" dependency:copy-dependencies -DincludeScope=runtime \
    -DoutputDirectory="$staging/libs" >"$staging/mvn.log" 2>&1; then
    echo "fetch.sh: Maven could not fetch Apache Kafka $version:" >&2
    tail -n 30 "$staging/mvn.log" >&2
    exit 1
  fi
  if [ ! -f "$staging/libs/kafka_2.13-$version.jar" ]; then
    echo "fetch.sh: Maven finished but kafka_2.13-$version.jar is missing" >&2
    exit 1
  fi
  mv "$staging" "$cache"
  trap - EXIT
  touch "$cache/complete"
  echo "fetch.sh: $(find "$cache/libs" -name '*.jar' | wc -l) jars in $cache/libs" >&2
fi
echo "$cache/libs"
