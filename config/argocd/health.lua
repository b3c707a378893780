-- Argo CD health for Infra's kinds with a status (Grant, User, Group, Provider, Destination,
-- AccessRequest), from the kstatus conditions the operator and connector write. One script
-- for all of them;
-- hack/generate-argocd-health.ts copies it into argocd-cm.yaml under each kind's key.
local hs = { status = "Progressing", message = "Waiting for the Infra operator to observe this object" }

local function condition(type)
  if obj.status == nil or obj.status.conditions == nil then
    return nil
  end
  for _, c in ipairs(obj.status.conditions) do
    if c.type == type then
      return c
    end
  end
  return nil
end

if obj.status == nil then
  return hs
end
local generation = obj.metadata.generation
local observed = obj.status.observedGeneration
if generation ~= nil and (observed == nil or observed < generation) then
  hs.message = "Waiting for the Infra operator to observe generation " .. generation
  return hs
end

-- kstatus: Stalled is Failed, Reconciling is InProgress. Every kind carries both beside
-- Ready, and a Grant's Ready already folds in its connector's Synced for this generation,
-- so nothing here second-guesses them.
local stalled = condition("Stalled")
if stalled ~= nil and stalled.status == "True" then
  hs.status = "Degraded"
  hs.message = stalled.message
  return hs
end
local reconciling = condition("Reconciling")
if reconciling ~= nil and reconciling.status == "True" then
  hs.message = reconciling.message
  return hs
end
local ready = condition("Ready")
if ready == nil then
  return hs
end
hs.message = ready.message
if ready.status == "True" then
  hs.status = "Healthy"
elseif ready.status == "False" then
  hs.status = "Degraded"
end
return hs
