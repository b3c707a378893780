import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { renderTypes, typesFile } from '../../hack/generate-types.ts';

describe('api/v1alpha1/types.ts', () => {
  it('is exactly what the CRDs in crds/ generate (run `make manifests` after changing a CRD)', async () => {
    expect(await readFile(typesFile, 'utf8')).toBe(await renderTypes());
  });
});
