#!/usr/bin/env bash
# docker/compose.yaml's fabric-artifacts job: fabric/scripts/generate-artifacts.sh into the Fabric volume, then
# hands the API nodes the three files they need in a volume of their own, and nothing else of the network (no other
# key): the peers' TLS CA, HealthLedger's certificate (hl.admin=true) and its key, owned by the account the API
# image runs as.
#
#   docker/fabric-artifacts.sh FABRIC_DIR CLIENT_DIR UID:GID
set -euo pipefail

if [[ $# -ne 3 || ! $3 =~ ^[0-9]+:[0-9]+$ ]]; then
  sed -n '2,7p' "$0" >&2
  exit 2
fi
fabric_dir=$1 client_dir=$2 uid=${3%%:*} gid=${3##*:}

"$(dirname "$0")/../fabric/scripts/generate-artifacts.sh" "${fabric_dir}"

org="${fabric_dir}/organizations/peerOrganizations/hospital-a.healthledger.example"
api_msp="${org}/users/healthledger-api@hospital-a.healthledger.example/msp"
install -m 644 "${org}/tlsca/tlsca.hospital-a.healthledger.example-cert.pem" "${client_dir}/peer-tls-ca.pem"
install -m 644 "${api_msp}/signcerts/cert.pem" "${client_dir}/cert.pem"
install -m 600 -o "${uid}" -g "${gid}" "${api_msp}/keystore/key.pem" "${client_dir}/key.pem"
echo "fabric-artifacts: the API nodes' identity is in ${client_dir}" >&2
