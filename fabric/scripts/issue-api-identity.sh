#!/usr/bin/env bash
# Issues HealthLedger's Fabric identity (an X.509 client certificate with the attribute hl.admin=true, which
# the chaincode requires of the API's writes) from an organization's CA key, with openssl alone: for networks
# whose crypto material comes from cryptogen (no Fabric CA to enroll with `--id.attrs 'hl.admin=true:ecert'`).
# The certificate carries the attribute extension Fabric CA writes (OID 1.2.3.4.5.6.7.8.1, JSON), and
# OU=client for NodeOUs, as cryptogen's users do.
#
#   fabric/scripts/issue-api-identity.sh CA_CERT CA_KEY OUT_DIR [ENROLLMENT_ID] [DAYS]
#
# e.g. with cryptogen's output for HospitalA:
#   ORG=fabric/organizations/peerOrganizations/hospital-a.healthledger.example
#   fabric/scripts/issue-api-identity.sh $ORG/ca/ca.hospital-a.healthledger.example-cert.pem $ORG/ca/priv_sk \
#     $ORG/users/healthledger-api@hospital-a.healthledger.example/msp
# writes OUT_DIR/signcerts/cert.pem (FABRIC_CERT) and OUT_DIR/keystore/key.pem (FABRIC_KEY, mode 600).
set -euo pipefail

if [[ $# -lt 3 ]]; then
  sed -n '2,15p' "$0" >&2
  exit 2
fi
ca_cert=$1 ca_key=$2 out=$3 enrollment_id=${4:-healthledger-api} days=${5:-365}
for file in "$ca_cert" "$ca_key"; do
  [[ -r $file ]] || { echo "cannot read $file" >&2; exit 1; }
done
[[ $enrollment_id =~ ^[A-Za-z0-9._@-]{1,64}$ ]] || { echo "ENROLLMENT_ID must be 1-64 letters, digits, . _ @ or -" >&2; exit 1; }

# The organization comes from the CA's own subject, as cryptogen and Fabric CA name it.
organization=$(openssl x509 -in "$ca_cert" -noout -subject -nameopt multiline | sed -n 's/^ *organizationName *= *//p' | head -n1)
[[ -n $organization ]] || { echo "$ca_cert has no O= in its subject" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$out/signcerts" "$out/keystore"
umask 077
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$work/key.pem"
openssl req -new -key "$work/key.pem" -subj "/O=$organization/OU=client/CN=$enrollment_id" -out "$work/req.csr"

# The extension's value is the JSON itself (what fabric-shim's ClientIdentity parses), hex-encoded for openssl.
attributes=$(printf '{"attrs":{"hf.EnrollmentID":"%s","hf.Type":"client","hl.admin":"true"}}' "$enrollment_id" | od -An -tx1 | tr -d ' \n')
# Fabric CA and cryptogen CAs carry a subject key identifier, which the certificate then names. A CA without one: no
# authority key identifier at all (openssl would add its issuer-and-serial form, which fabric-shim's parser rejects).
authority_key_id='authorityKeyIdentifier = none'
if openssl x509 -in "$ca_cert" -noout -ext subjectKeyIdentifier 2>/dev/null | grep -q 'Subject Key Identifier'; then
  authority_key_id='authorityKeyIdentifier = keyid:always'
fi
cat > "$work/ext.cnf" <<CONF
[client]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
subjectKeyIdentifier = hash
$authority_key_id
1.2.3.4.5.6.7.8.1 = DER:$attributes
CONF
openssl x509 -req -in "$work/req.csr" -CA "$ca_cert" -CAkey "$ca_key" -set_serial "0x$(openssl rand -hex 16)" \
  -days "$days" -sha256 -extfile "$work/ext.cnf" -extensions client -out "$work/cert.pem"
openssl verify -CAfile "$ca_cert" "$work/cert.pem" >/dev/null

install -m 644 "$work/cert.pem" "$out/signcerts/cert.pem"
install -m 600 "$work/key.pem" "$out/keystore/key.pem"
echo "FABRIC_CERT=$out/signcerts/cert.pem"
echo "FABRIC_KEY=$out/keystore/key.pem"
