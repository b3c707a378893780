// Writes charts/infra from config/ (run by `make manifests`), replacing what was there.
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { chartDir, generateChart } from './chart/chart.ts';

const files = await generateChart();
await rm(chartDir, { recursive: true, force: true });
for (const [path, content] of Object.entries(files)) {
  await mkdir(dirname(join(chartDir, path)), { recursive: true });
  await writeFile(join(chartDir, path), content);
}
