// Build-only module: gopher-lua, the Lua interpreter Argo CD embeds, to run Infra's
// Argo CD health checks (config/argocd/health) in tests.
module infrahq.com/infra/hack/tools/lua-health

go 1.26.0

require github.com/yuin/gopher-lua v1.1.2
