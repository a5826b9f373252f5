// A scenario's node list as reports print it: full nodes by name, lightweight ones counted and summarised, so a
// 1,000-node scenario's line stays one line and says what those nodes lack.
import type { ScenarioResult } from './types.ts';

export const LIGHTWEIGHT_NODES_NOTE = 'no network namespace, no CNI';

export function nodeListText(sc: Pick<ScenarioResult, 'nodes' | 'lightweightNodes'>): string {
  const all = sc.nodes ?? [];
  const light = new Set(sc.lightweightNodes ?? []);
  const full = all.filter((n) => !light.has(n));
  const lightList = all.filter((n) => light.has(n));
  const parts: string[] = [];
  if (full.length) parts.push(full.join(', '));
  if (lightList.length) {
    const names = lightList.length <= 3 ? lightList.join(', ') : `${lightList[0]}, ${lightList[1]} … ${lightList[lightList.length - 1]}`;
    parts.push(`${lightList.length} lightweight (${LIGHTWEIGHT_NODES_NOTE}): ${names}`);
  }
  return parts.join('; ');
}
