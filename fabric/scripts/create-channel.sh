#!/usr/bin/env bash
# Brings the channel of fabric/config up on running processes, from what generate-artifacts.sh wrote into DIR:
#   1. the orderer joins the channel through its channel participation API (osnadmin, no system channel);
#   2. each hospital's peer joins it (peer channel join, as that hospital's admin);
#   3. the chaincode-as-a-service package is installed on both peers, approved by both hospitals, and committed;
#   4. one evaluation (GetMetadata) reaches the chaincode server through a peer.
#
#   fabric/scripts/create-channel.sh [DIR]            (DIR defaults to fabric/ of this repository)
#
# Needs osnadmin, peer (Fabric 2.4+) and jq on PATH, and FABRIC_CFG_PATH naming a folder with a core.yaml (the peer
# CLI reads its defaults there; Fabric's release archive has one in config/, the fabric-tools image in
# /etc/hyperledger/fabric). Addresses are those of configtx.yaml and the processes' own settings, overridable:
#   ORDERER=orderer0.orderer.healthledger.example:7050  ORDERER_ADMIN=orderer0.orderer.healthledger.example:7053
#   PEER_A=peer0.hospital-a.healthledger.example:7051   PEER_B=peer0.hospital-b.healthledger.example:9051
#   CHANNEL=healthledger  CC_NAME=healthledger  CC_VERSION=1.0  CC_SEQUENCE=1
# Each host name must be one that the process's TLS certificate names (cryptogen's: the host names, localhost and
# 127.0.0.1). Idempotent: every step that is done already is skipped, so it can run at every start. After a chaincode
# change, package with a new CC_LABEL (generate-artifacts.sh) and run this with the next CC_VERSION and CC_SEQUENCE.
set -euo pipefail

script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
dir="$(cd "${1:-${script_dir}/..}" && pwd)"
orderer="${ORDERER:-orderer0.orderer.healthledger.example:7050}"
orderer_admin="${ORDERER_ADMIN:-orderer0.orderer.healthledger.example:7053}"
peer_a="${PEER_A:-peer0.hospital-a.healthledger.example:7051}"
peer_b="${PEER_B:-peer0.hospital-b.healthledger.example:9051}"
channel="${CHANNEL:-healthledger}"
cc_name="${CC_NAME:-healthledger}"
cc_version="${CC_VERSION:-1.0}"
cc_sequence="${CC_SEQUENCE:-1}"

for tool in osnadmin peer jq; do
  command -v "${tool}" > /dev/null || { echo "create-channel: ${tool} is not on PATH" >&2; exit 1; }
done
block="${dir}/channel-artifacts/${channel}.block"
package="${dir}/chaincode/healthledger.tar.gz"
for file in "${block}" "${package}" "${dir}/chaincode/package-id"; do
  [[ -s "${file}" ]] || { echo "create-channel: ${file} is missing: run fabric/scripts/generate-artifacts.sh first" >&2; exit 1; }
done
package_id="$(cat "${dir}/chaincode/package-id")"

orderers="${dir}/organizations/ordererOrganizations/orderer.healthledger.example"
orderer_ca="${orderers}/tlsca/tlsca.orderer.healthledger.example-cert.pem"
orderer_admin_tls="${orderers}/users/Admin@orderer.healthledger.example/tls"
log() { echo "create-channel: $*" >&2; }

# Processes that were just started answer after a few seconds; a new Raft leader takes ~8 s: try again for a minute.
retry() {
  local attempt
  for attempt in $(seq 1 30); do
    if "$@"; then return 0; fi
    [[ ${attempt} -lt 30 ]] && sleep 2
  done
  log "gave up on: $*"
  return 1
}

osn() { osnadmin "$@" -o "${orderer_admin}" --ca-file "${orderer_ca}" --client-cert "${orderer_admin_tls}/client.crt" --client-key "${orderer_admin_tls}/client.key"; }
# osnadmin exits 0 on any HTTP answer: the first line is "Status: <code>".
osn_status() { osn "$@" 2> /dev/null | sed -n '1s/^Status: //p'; }
orderer_answers() { [[ "$(osn_status channel list)" == 200 ]]; }

# The peer CLI acting as a hospital's admin against that hospital's peer.
as_admin_of() { # domain msp-id peer-address
  export CORE_PEER_TLS_ENABLED=true CORE_PEER_LOCALMSPID="$2" CORE_PEER_ADDRESS="$3"
  export CORE_PEER_TLS_ROOTCERT_FILE="${dir}/organizations/peerOrganizations/$1/tlsca/tlsca.$1-cert.pem"
  export CORE_PEER_MSPCONFIGPATH="${dir}/organizations/peerOrganizations/$1/users/Admin@$1/msp"
}
hospital_a() { as_admin_of hospital-a.healthledger.example HospitalAMSP "${peer_a}"; }
hospital_b() { as_admin_of hospital-b.healthledger.example HospitalBMSP "${peer_b}"; }
peer_answers() { peer channel list > /dev/null 2>&1; }
orderer_tls=(-o "${orderer}" --tls --cafile "${orderer_ca}")
definition=(--channelID "${channel}" --name "${cc_name}" --version "${cc_version}" --sequence "${cc_sequence}")

# 1. The orderer.
retry orderer_answers
case "$(osn_status channel list --channelID "${channel}")" in
  200) log "orderer already serves ${channel}" ;;
  *)
    log "orderer joins ${channel}"
    answer="$(osn channel join --channelID "${channel}" --config-block "${block}")"
    [[ "$(sed -n '1s/^Status: //p' <<< "${answer}")" == 201 ]] || { log "osnadmin channel join failed: ${answer}"; exit 1; }
    ;;
esac

# 2. Both peers.
for hospital in hospital_a hospital_b; do
  "${hospital}"
  retry peer_answers
  if peer channel getinfo -c "${channel}" > /dev/null 2>&1; then
    log "${CORE_PEER_ADDRESS} is already on ${channel}"
  else
    log "${CORE_PEER_ADDRESS} joins ${channel}"
    retry peer channel join -b "${block}"
  fi
done

# 3. The chaincode: installed on both peers, approved by both hospitals (MAJORITY of two), committed.
committed_sequence() { peer lifecycle chaincode querycommitted -C "${channel}" -n "${cc_name}" --output json 2> /dev/null | jq -r '.sequence // 0' || echo 0; }
approved_by() { # msp-id
  [[ "$(peer lifecycle chaincode checkcommitreadiness "${definition[@]}" --output json | jq -r --arg msp "$1" '.approvals[$msp]')" == true ]]
}
hospital_a
if [[ "$(committed_sequence)" -ge "${cc_sequence}" ]]; then
  log "${cc_name} sequence $(committed_sequence) is already committed on ${channel}"
else
  for hospital in hospital_a hospital_b; do
    "${hospital}"
    if peer lifecycle chaincode queryinstalled --output json | jq -e --arg id "${package_id}" '.installed_chaincodes[]? | select(.package_id == $id)' > /dev/null; then
      log "${package_id} is already installed on ${CORE_PEER_ADDRESS}"
    else
      log "installing ${package_id} on ${CORE_PEER_ADDRESS}"
      peer lifecycle chaincode install "${package}"
    fi
    if approved_by "${CORE_PEER_LOCALMSPID}"; then
      log "${CORE_PEER_LOCALMSPID} has already approved ${cc_name} ${cc_version} sequence ${cc_sequence}"
    else
      log "${CORE_PEER_LOCALMSPID} approves ${cc_name} ${cc_version} sequence ${cc_sequence}"
      retry peer lifecycle chaincode approveformyorg "${orderer_tls[@]}" "${definition[@]}" --package-id "${package_id}"
    fi
  done
  hospital_a
  log "committing ${cc_name} ${cc_version} sequence ${cc_sequence} (both hospitals endorse)"
  retry peer lifecycle chaincode commit "${orderer_tls[@]}" "${definition[@]}" \
    --peerAddresses "${peer_a}" --tlsRootCertFiles "${dir}/organizations/peerOrganizations/hospital-a.healthledger.example/tlsca/tlsca.hospital-a.healthledger.example-cert.pem" \
    --peerAddresses "${peer_b}" --tlsRootCertFiles "${dir}/organizations/peerOrganizations/hospital-b.healthledger.example/tlsca/tlsca.hospital-b.healthledger.example-cert.pem"
fi

# 4. The peers reach the chaincode server (the address in the package's connection.json) on first use.
hospital_a
retry peer chaincode query -C "${channel}" -n "${cc_name}" -c '{"Args":["org.hyperledger.fabric:GetMetadata"]}' > /dev/null
log "${cc_name} answers on ${channel} through ${peer_a}"
