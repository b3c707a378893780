// Build-only module: the OCI runtime wrapper hack/docker-engine.sh registers with dockerd
// on hosts whose capability bounding set lacks capabilities --privileged asks for.
module infrahq.com/infra/hack/tools/runc-capbound

go 1.26.0
