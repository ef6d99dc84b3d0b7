#!/usr/bin/env bash
# Generates the TLS material of a test cluster with openssl into DIR:
#
#   ca.crt                      the cluster's CA (brokers and clients trust it)
#   broker.crt/.key/.pem        the brokers' identity, CN=broker, SAN IP:127.0.0.1 and
#                               DNS:localhost (.pem = key + certificate, Kafka's PEM keystore)
#   admin.crt/.key/.pem         super user: manages ACLs and topics
#   phoenix-node.crt/.key       what a Phoenix node presents (ACLs granted by cluster.sh)
#   reader.crt/.key             a trusted identity with no ACLs at first
#   intruder.crt/.key           signed by another CA that the cluster does not trust
#
# Keys are unencrypted PKCS#8 EC P-256 keys, readable by librdkafka and by Kafka's PEM
# keystore. Certificates are valid for 30 days: the material lives only as long as one
# cluster. Usage: certs.sh DIR
set -euo pipefail

dir=${1:?usage: certs.sh DIR}
mkdir -p "$dir"
cd "$dir"

new_key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

self_signed_ca() { # name
  new_key "$1.key"
  openssl req -x509 -new -key "$1.key" -subj "/CN=$1" -days 30 -sha256 -out "$1.crt" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
}

issue() { # name ca usage [san]
  local name=$1 ca=$2 usage=$3 san=${4:-}
  new_key "$name.key"
  openssl req -new -key "$name.key" -subj "/O=phoenix-test/CN=$name" -out "$name.csr"
  {
    echo "basicConstraints=CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    echo "extendedKeyUsage=$usage"
    if [ -n "$san" ]; then echo "subjectAltName=$san"; fi
  } >"$name.ext"
  openssl x509 -req -in "$name.csr" -CA "$ca.crt" -CAkey "$ca.key" -CAcreateserial \
    -days 30 -sha256 -extfile "$name.ext" -out "$name.crt" 2>/dev/null
  rm -f "$name.csr" "$name.ext"
  cat "$name.key" "$name.crt" >"$name.pem"
}

self_signed_ca ca
self_signed_ca rogue-ca
# Brokers talk to each other as clients too, so their certificate serves both ends.
issue broker ca serverAuth,clientAuth "IP:127.0.0.1,DNS:localhost"
for client in admin phoenix-node reader; do
  issue "$client" ca clientAuth
done
issue intruder rogue-ca clientAuth
rm -f ca.key rogue-ca.key ./*.srl
chmod 600 ./*.key ./*.pem
echo "certs.sh: TLS material in $dir"
