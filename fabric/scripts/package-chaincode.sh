#!/usr/bin/env bash
# Builds the chaincode-as-a-service package for `peer lifecycle chaincode install` and prints its
# package id (`<label>:<sha256 of the package>`), which the chaincode server's CHAINCODE_ID must equal.
#
# The package is reproducible: the same connection.json, metadata.json and label give the same bytes,
# whatever the checkout's timestamps, owner, umask or locale, because the peers compare package ids.
#
# Usage: fabric/scripts/package-chaincode.sh [output.tar.gz]
#   CC_LABEL    package label (default: the label in fabric/chaincode-package/metadata.json)
#   CC_ADDRESS  host:port the peers dial for the chaincode server (default: connection.json's)
set -euo pipefail

script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source_dir="${script_dir}/../chaincode-package"
output="${1:-healthledger.tar.gz}"

json_field() { # file field → value of a top-level string field
  sed -n "s/^[[:space:]]*\"$2\"[[:space:]]*:[[:space:]]*\"\\([^\"]*\\)\".*/\\1/p" "$1" | head -n 1
}
label="${CC_LABEL:-$(json_field "${source_dir}/metadata.json" label)}"
address="${CC_ADDRESS:-$(json_field "${source_dir}/connection.json" address)}"
if [[ ! "${label}" =~ ^[A-Za-z0-9_.+-]+$ ]]; then
  echo "package-chaincode: invalid label '${label}' (Fabric allows letters, digits, _ . + -)" >&2
  exit 1
fi
if [[ ! "${address}" =~ ^[A-Za-z0-9_.-]+:[0-9]+$ ]]; then
  echo "package-chaincode: CC_ADDRESS must be host:port, got '${address}'" >&2
  exit 1
fi

work="$(mktemp -d)"
trap 'rm -rf "${work}"' EXIT
mkdir -p "${work}/code" "${work}/pkg"

# Rewritten with fixed formatting so the bytes depend only on label and address.
printf '{\n  "address": "%s",\n  "dial_timeout": "10s",\n  "tls_required": false\n}\n' "${address}" \
  > "${work}/code/connection.json"
printf '{\n  "type": "ccaas",\n  "label": "%s"\n}\n' "${label}" > "${work}/pkg/metadata.json"

# Entries are named exactly as `peer lifecycle chaincode package` names them: no "./", no directories.
deterministic_tar() { # dir file... → gzip'd tar of those files on stdout
  local dir="$1"
  shift
  LC_ALL=C tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner \
    --mode='a=rX,u+w' --format=gnu -C "${dir}" -cf - "$@" | gzip -n -9
}
deterministic_tar "${work}/code" connection.json > "${work}/pkg/code.tar.gz"
deterministic_tar "${work}/pkg" code.tar.gz metadata.json > "${output}"

if command -v sha256sum > /dev/null; then
  digest="$(sha256sum "${output}" | cut -d ' ' -f 1)"
else
  digest="$(shasum -a 256 "${output}" | cut -d ' ' -f 1)"
fi
echo "Package: ${output}" >&2
echo "${label}:${digest}"
