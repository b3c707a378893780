// Writes config/argocd/argocd-cm.yaml from config/argocd/health.lua (run by `make manifests`).
import { writeFile } from 'node:fs/promises';
import { argocdConfigMap, argocdConfigMapFile } from './argocd-health.ts';

await writeFile(argocdConfigMapFile, await argocdConfigMap());
