# The one-shot Fabric jobs of docker/compose.yaml (fabric-artifacts, fabric-channel): Fabric's own tools image
# (cryptogen, configtxgen, osnadmin, peer, with bash and jq) and what fabric/scripts needs besides: openssl
# (issue-api-identity.sh), GNU tar and gzip (package-chaincode.sh's reproducible package: busybox tar has no
# --sort, --mtime or --owner). Build from the repository root:
#   docker build -f docker/fabric-tools.Dockerfile -t healthledger-fabric-tools:2.4.9 .
FROM hyperledger/fabric-tools:2.4.9
RUN apk add --no-cache openssl tar gzip
WORKDIR /opt/healthledger
COPY fabric fabric
COPY docker/fabric-artifacts.sh docker/
