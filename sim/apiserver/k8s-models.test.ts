// The committed field table (k8s-models.json) is exactly what the installed @kubernetes/client-node's model classes
// give, so the API server decodes with the same shapes it would if it loaded client-node itself.
import t from 'tap';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as models from '@kubernetes/client-node';
import { projectRoot } from '../paths.ts';
import k8sModels from './k8s-models.json' with { type: 'json' };
import { modelFields } from './schema.ts';

t.test('every client-node model and field is in the table, in order, with its type', async (t) => {
  type ModelClass = { getAttributeTypeMap?: () => Array<{ baseName: string; type: string }> };
  const live = Object.entries(models as unknown as Record<string, unknown>)
    .filter((e): e is [string, ModelClass] => typeof e[1] === 'function' && typeof (e[1] as ModelClass).getAttributeTypeMap === 'function')
    .map(([name, m]) => [name, m.getAttributeTypeMap!().map((a) => [a.baseName, a.type])] as const);
  t.ok(live.length > 500, `${live.length} models in client-node`);
  t.same(Object.fromEntries(live), k8sModels.models, 'run node scripts/k8s-models.mjs after upgrading @kubernetes/client-node');
  t.same([...modelFields('V1Pod').keys()], ['apiVersion', 'kind', 'metadata', 'spec', 'status']);
  t.same(modelFields('V1Container').get('ports'), { t: 'array', items: { t: 'model', name: 'V1ContainerPort' } });
});

t.test('the generator script agrees (--check)', async (t) => {
  const r = await promisify(execFile)(process.execPath, [join(projectRoot(), 'scripts/k8s-models.mjs'), '--check']);
  t.equal(r.stderr, '');
});
