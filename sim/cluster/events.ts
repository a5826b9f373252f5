// How the kubelet's event recorder turns repeated events into one Event object (client-go tools/record,
// events_cache.go: EventCorrelator = EventAggregator, then eventLogger). Two rules, in this order:
//  - aggregation: events that share source, involved object, type and reason but differ in message are "similar";
//    once 10 distinct messages were seen within 10 minutes, every further one is recorded as a single event whose
//    message is "(combined from similar events): <latest message>";
//  - deduplication: an event identical to an earlier one (message included) bumps that object's count and
//    lastTimestamp instead of creating a new object (kubectl describe shows "(x3 over 40s)").
// FailedCreatePodSandBox needs both: containerd gives each sandbox attempt a new ID, which the message names, so
// retries are similar rather than identical.

/** EventAggregatorByReasonMessageFunc's prefix */
export const COMBINED_PREFIX = '(combined from similar events): ';
/** defaultAggregateMaxEvents */
export const AGGREGATE_MAX_EVENTS = 10;
/** defaultAggregateIntervalInSeconds */
export const AGGREGATE_INTERVAL_MS = 600_000;

export interface EventIdentity {
  component: string;
  host?: string;
  kind: string;
  namespace: string;
  name?: string;
  uid?: string;
  type: string;
  reason: string;
}

export interface Correlated {
  /** the key of the Event object this observation goes to: the same key → count++ on that object */
  key: string;
  message: string;
}

interface AggregateRecord {
  messages: Set<string>;
  lastMs: number;
}

export class EventCorrelator {
  private readonly aggregates = new Map<string, AggregateRecord>();

  /** Where an event of this identity and message goes, at nowMs. */
  correlate(id: EventIdentity, message: string, nowMs: number): Correlated {
    const aggregateKey = JSON.stringify([id.component, id.host ?? '', id.kind, id.namespace, id.name ?? '', id.uid ?? '', id.type, id.reason]);
    let rec = this.aggregates.get(aggregateKey);
    if (!rec || nowMs - rec.lastMs > AGGREGATE_INTERVAL_MS) {
      rec = { messages: new Set(), lastMs: nowMs };
      this.aggregates.set(aggregateKey, rec);
    }
    rec.lastMs = nowMs;
    rec.messages.add(message);
    if (rec.messages.size < AGGREGATE_MAX_EVENTS) return { key: JSON.stringify([aggregateKey, message]), message };
    // the set does not grow past the limit: one out, so the next new message is the tenth again
    const first = rec.messages.values().next().value;
    if (first !== undefined) rec.messages.delete(first);
    return { key: JSON.stringify([aggregateKey, '(combined)']), message: `${COMBINED_PREFIX}${message}` };
  }
}
