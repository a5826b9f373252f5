// kube-scheduler's score arithmetic (pkg/scheduler/framework/plugins), as pure functions over plain numbers so that
// each formula can be checked against hand-computed values:
// - NodeResourcesFit (noderesources/least_allocated.go, most_allocated.go): per resource
//   (capacity - requested) * 100 / capacity (LeastAllocated) or requested * 100 / capacity (MostAllocated), integer
//   division, then the weighted mean over the resources the node has (allocatable 0: the resource is left out);
// - NodeResourcesBalancedAllocation (balanced_allocation.go): 100 * (1 - std) of the requested/allocatable fractions
//   (each capped at 1): |f1 - f2| / 2 for two resources, the population standard deviation for more, 0 for one;
// - DefaultNormalizeScore (helper/normalize_score.go), used by TaintToleration (reversed) and NodeAffinity;
// - PodTopologySpread (podtopologyspread/scoring.go): cnt * log(domains + 2) + (maxSkew - 1) per soft constraint,
//   rounded, then normalized so the node with the fewest matching pods scores 100.
// Weights of the default profile (apis/config/v1/default_plugins.go): TaintToleration 3, NodeAffinity 2,
// PodTopologySpread 2, NodeResourcesFit 1, NodeResourcesBalancedAllocation 1.

export const MAX_NODE_SCORE = 100;

export type ScorePlugin = 'NodeResourcesFit' | 'NodeResourcesBalancedAllocation' | 'TaintToleration' | 'NodeAffinity' | 'PodTopologySpread';

export const SCORE_PLUGINS: readonly ScorePlugin[] = ['NodeResourcesFit', 'NodeResourcesBalancedAllocation', 'TaintToleration', 'NodeAffinity', 'PodTopologySpread'];

/** the default profile's score weights */
export const DEFAULT_SCORE_WEIGHTS: Readonly<Record<ScorePlugin, number>> = {
  TaintToleration: 3,
  NodeAffinity: 2,
  PodTopologySpread: 2,
  NodeResourcesFit: 1,
  NodeResourcesBalancedAllocation: 1,
};

/** a resource a scorer looks at and its weight (config.ResourceSpec) */
export interface ResourceSpec {
  name: string;
  weight: number;
}

/** NodeResourcesFitArgs.scoringStrategy and NodeResourcesBalancedAllocationArgs.resources; defaults cpu 1, memory 1 */
export interface ScoringConfig {
  strategy: 'LeastAllocated' | 'MostAllocated';
  fitResources: ResourceSpec[];
  balancedResources: ResourceSpec[];
}

export const DEFAULT_SCORING: Readonly<ScoringConfig> = {
  strategy: 'LeastAllocated',
  fitResources: [
    { name: 'cpu', weight: 1 },
    { name: 'memory', weight: 1 },
  ],
  balancedResources: [
    { name: 'cpu', weight: 1 },
    { name: 'memory', weight: 1 },
  ],
};

export function leastRequestedScore(requested: number, capacity: number): number {
  if (capacity === 0 || requested > capacity) return 0;
  return Math.floor(((capacity - requested) * MAX_NODE_SCORE) / capacity);
}

export function mostRequestedScore(requested: number, capacity: number): number {
  if (capacity === 0) return 0;
  // pods without requests count with the non-zero defaults, so requested may pass capacity
  const r = requested > capacity ? capacity : requested;
  return Math.floor((r * MAX_NODE_SCORE) / capacity);
}

/**
 * The weighted mean of per-resource scores. `allocatable[i] === 0` leaves resource i out (the node does not have it,
 * or the pod does not ask for an extended resource).
 */
export function resourceScore(requested: ArrayLike<number>, allocatable: ArrayLike<number>, weights: ArrayLike<number>, most: boolean): number {
  let score = 0;
  let weightSum = 0;
  for (let i = 0; i < requested.length; i++) {
    if (allocatable[i] === 0) continue;
    score += (most ? mostRequestedScore(requested[i], allocatable[i]) : leastRequestedScore(requested[i], allocatable[i])) * weights[i];
    weightSum += weights[i];
  }
  return weightSum === 0 ? 0 : Math.floor(score / weightSum);
}

/** BalancedAllocation: 100 × (1 − standard deviation of the fractions), truncated like Go's int64(). */
export function balancedScore(requested: ArrayLike<number>, allocatable: ArrayLike<number>): number {
  let n = 0;
  let total = 0;
  let f0 = 0;
  let f1 = 0;
  for (let i = 0; i < requested.length; i++) {
    if (allocatable[i] === 0) continue;
    const f = Math.min(requested[i] / allocatable[i], 1);
    if (n === 0) f0 = f;
    else if (n === 1) f1 = f;
    total += f;
    n++;
  }
  let std = 0;
  if (n === 2) std = Math.abs((f0 - f1) / 2);
  else if (n > 2) {
    const mean = total / n;
    let sum = 0;
    for (let i = 0; i < requested.length; i++) {
      if (allocatable[i] === 0) continue;
      const f = Math.min(requested[i] / allocatable[i], 1);
      sum += (f - mean) * (f - mean);
    }
    std = Math.sqrt(sum / n);
  }
  return Math.trunc((1 - std) * MAX_NODE_SCORE);
}

/** DefaultNormalizeScore: scales to 0..100 by the highest score; `reverse` turns it into 100 − that. In place. */
export function defaultNormalizeScore(scores: number[], reverse: boolean): void {
  let max = 0;
  for (const s of scores) if (s > max) max = s;
  if (max === 0) {
    if (reverse) scores.fill(MAX_NODE_SCORE);
    return;
  }
  for (let i = 0; i < scores.length; i++) {
    const s = Math.floor((MAX_NODE_SCORE * scores[i]) / max);
    scores[i] = reverse ? MAX_NODE_SCORE - s : s;
  }
}

/** log(size + 2): the weight of a constraint whose topology key has `size` domains among the feasible nodes */
export function topologyNormalizingWeight(size: number): number {
  return Math.log(size + 2);
}

/** one soft constraint's raw score on a node: cnt × weight + (maxSkew − 1) */
export function spreadScoreForCount(count: number, maxSkew: number, weight: number): number {
  return count * weight + (maxSkew - 1);
}

/** PodTopologySpread's NormalizeScore: ignored nodes (missing a topology key) get 0, the rest 100·(max+min−s)/max. */
export function normalizeSpreadScores(scores: number[], ignored: readonly boolean[]): void {
  let min = Number.MAX_SAFE_INTEGER;
  let max = 0;
  for (let i = 0; i < scores.length; i++) {
    if (ignored[i]) continue;
    if (scores[i] < min) min = scores[i];
    if (scores[i] > max) max = scores[i];
  }
  for (let i = 0; i < scores.length; i++) {
    if (ignored[i]) scores[i] = 0;
    else if (max === 0) scores[i] = MAX_NODE_SCORE;
    else scores[i] = Math.floor((MAX_NODE_SCORE * (max + min - scores[i])) / max);
  }
}
