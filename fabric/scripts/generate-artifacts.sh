#!/usr/bin/env bash
# Generates, into DIR, everything the two-hospital network of fabric/config needs before an orderer or peer starts:
#   DIR/organizations/                     crypto material (cryptogen, config/crypto-config.yaml): private keys, keep them
#   DIR/channel-artifacts/healthledger.block  the channel's genesis block (configtxgen, config/configtx.yaml), anchor peers in it
#   DIR/organizations/peerOrganizations/hospital-a.healthledger.example/users/healthledger-api@hospital-a.healthledger.example/msp/
#                                          HealthLedger's identity with hl.admin=true (issue-api-identity.sh)
#   DIR/chaincode/healthledger.tar.gz, DIR/chaincode/package-id   the chaincode-as-a-service package and its id
#
#   fabric/scripts/generate-artifacts.sh [DIR]        (DIR defaults to fabric/ of this repository)
#
# Needs cryptogen and configtxgen (Fabric 2.4+) on PATH, openssl, GNU tar and gzip. Idempotent: crypto material,
# block and identity that exist are kept (cryptogen makes new keys on every run, which would orphan a channel whose
# block names the old ones); the package is rebuilt, byte for byte the same unless CC_LABEL or CC_ADDRESS changed.
# docker/compose.yaml runs this in its fabric-artifacts job; without containers, run it once on the operator's machine.
set -euo pipefail

script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
fabric_dir="$(cd "${script_dir}/.." && pwd)"
dir="${1:-${fabric_dir}}"
channel="${CHANNEL:-healthledger}"
mkdir -p "${dir}"
dir="$(cd "${dir}" && pwd)"

for tool in cryptogen configtxgen openssl; do
  command -v "${tool}" > /dev/null || { echo "generate-artifacts: ${tool} is not on PATH" >&2; exit 1; }
done

# configtx.yaml names MSP directories relative to itself (../organizations): it sits in DIR/config beside them.
if [[ ! "${dir}/config" -ef "${fabric_dir}/config" ]]; then
  mkdir -p "${dir}/config"
  cp "${fabric_dir}/config/configtx.yaml" "${fabric_dir}/config/crypto-config.yaml" "${dir}/config/"
fi

if [[ ! -d "${dir}/organizations/peerOrganizations" ]]; then
  echo "generate-artifacts: crypto material (cryptogen)" >&2
  cryptogen generate --config="${dir}/config/crypto-config.yaml" --output="${dir}/organizations"
fi

block="${dir}/channel-artifacts/${channel}.block"
if [[ ! -s "${block}" ]]; then
  echo "generate-artifacts: genesis block of channel ${channel} (configtxgen)" >&2
  mkdir -p "${dir}/channel-artifacts"
  configtxgen -configPath "${dir}/config" -profile HealthLedgerChannel -channelID "${channel}" -outputBlock "${block}"
fi

org="${dir}/organizations/peerOrganizations/hospital-a.healthledger.example"
api_msp="${org}/users/healthledger-api@hospital-a.healthledger.example/msp"
if [[ ! -s "${api_msp}/signcerts/cert.pem" ]]; then
  echo "generate-artifacts: HealthLedger's identity (hl.admin=true) in HospitalAMSP" >&2
  "${script_dir}/issue-api-identity.sh" "${org}/ca/ca.hospital-a.healthledger.example-cert.pem" "${org}/ca/priv_sk" "${api_msp}" > /dev/null
fi

mkdir -p "${dir}/chaincode"
package_id="$("${script_dir}/package-chaincode.sh" "${dir}/chaincode/healthledger.tar.gz")"
printf '%s\n' "${package_id}" > "${dir}/chaincode/package-id"
echo "generate-artifacts: chaincode package ${package_id}" >&2
