// The data of a fidelity run (`sriov-lab fidelity --json FILE`): what each backend observed, per scenario, and the
// differences between them. Produced by harness/fidelity; part of the run-result contract, so the reports (the
// fidelity HTML page) read it without depending on the harness.
import type { OperationPhase, ScenarioResult, SourceLocation } from './types.ts';

export type Observed = Record<string, string>;

export interface OperationObservation {
  /** aligns the same operation across backends: "<step index>/<phase>/<index in phase>" */
  key: string;
  stepIndex: number;
  stepName: string;
  phase: OperationPhase;
  kind: string;
  title: string;
  location?: SourceLocation;
  values: Observed;
}

export interface TraceObservation {
  /** e.g. "Allocate node1[0] response.container_responses[0].envs.PCIDEVICE_…" */
  what: string;
  value: string;
  /** ms since the scenario started, to name the operation it happened during */
  atMs: number;
}

/** One ListAndWatch stream's distinct device lists in time order. */
export interface StateSequence {
  /** "ListAndWatch <node> <socket file>" */
  what: string;
  states: Array<{
    value: string;
    atMs: number;
    /** the keys of the operations after which this was the stream's state (empty: a state in between) */
    settledAfter: string[];
  }>;
}

export interface ScenarioObservation {
  id: string;
  name: string;
  file: string;
  status: ScenarioResult['status'];
  skipReason?: string;
  /** a failure outside every step (the cluster did not come up, down failed) */
  error?: string;
  operations: OperationObservation[];
  trace: TraceObservation[];
  /** the distinct states each ListAndWatch stream sent, in order (repeats dropped); compared by content (LCS) */
  states: StateSequence[];
  /** the operations with their times, to attribute trace events */
  timeline: Array<{ key: string; startMs: number }>;
}

export interface OperationRef {
  stepName: string;
  title: string;
  phase: string;
  location?: SourceLocation;
}

export interface Difference {
  /** the operation it was seen after (first time); undefined for the scenario as a whole */
  operation?: OperationRef;
  what: string;
  a: string;
  b: string;
  /** how many following operations showed the same difference */
  repeats: number;
  /** the last of those */
  until?: OperationRef;
  /**
   * a difference in the states in between two settled states (a device list one side advertised on its way, and
   * the other did not, or differently): counted
   */
  transient?: boolean;
  /** a call (Allocate, CNI) one side made and the other did not, at its place in the content alignment: counted */
  oneSided?: boolean;
  /**
   * a difference in a value that changes asynchronously (Node resources: the plugin advertises on its own schedule)
   * that was gone after the very next operation: a race between the two runs, shown but not counted
   */
  race?: boolean;
  /** why it is a race, when not for the reasons above (e.g. "the other side's stream began after it ended") */
  raceWhy?: string;
}

export interface ScenarioComparison {
  name: string;
  file: string;
  /** set when the scenario was skipped on either backend: nothing is compared */
  skipped?: Array<{ backend: string; reason: string }>;
  operationsCompared: number;
  differences: Difference[];
  /** backends on which the scenario itself failed (its own assertions), for context */
  failedOn?: string[];
}

export interface BackendNames {
  a: string;
  b: string;
}

export interface FidelityTotals {
  scenarios: number;
  compared: number;
  skipped: number;
  operations: number;
  differences: number;
  /** of `differences`, those in the states in between */
  transient: number;
  /** races: printed, not counted */
  races: number;
}

/** What `fidelity --json FILE` writes (documented in docs/fidelity.md). */
export interface FidelityResult {
  kind: 'sriov-lab/fidelity';
  backends: BackendNames;
  seed: number;
  /** the --jitter bound, when there was one */
  jitterMs?: number;
  comparisons: ScenarioComparison[];
  totals: FidelityTotals;
  interrupted: boolean;
  /** what each side observed, per scenario (for the HTML report's side-by-side view); left out with keepObservations false */
  observations?: Array<{ a: ScenarioObservation; b: ScenarioObservation }>;
}
