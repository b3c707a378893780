// Build-only module: the bench's HTTPS load generator (standard library only).
module infrahq.com/infra/hack/tools/loadgen

go 1.26.0
