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
  /** the distinct messages seen, oldest first: one string until a second one comes (most objects see one) */
  messages: string | Set<string>;
  lastMs: number;
}

/**
 * The aggregate key: JSON of the identity's fields. A JSON text holds no raw newline, so an event's key, the aggregate
 * key, a newline, then "m" and the message or "c" for the combined event, keeps every key distinct. Both are made
 * flat in one go (JSON.stringify, join): the Maps keep them for the run, and a key concatenated piece by piece would
 * be kept as its tree of pieces.
 */
function aggregateKeyOf(id: EventIdentity): string {
  return JSON.stringify([id.component, id.host ?? '', id.kind, id.namespace, id.name ?? '', id.uid ?? '', id.type, id.reason]);
}

export class EventCorrelator {
  private readonly aggregates = new Map<string, AggregateRecord>();

  /** Where an event of this identity and message goes, at nowMs. */
  correlate(id: EventIdentity, message: string, nowMs: number): Correlated {
    const aggregateKey = aggregateKeyOf(id);
    let rec = this.aggregates.get(aggregateKey);
    if (!rec || nowMs - rec.lastMs > AGGREGATE_INTERVAL_MS) {
      rec = { messages: message, lastMs: nowMs };
      this.aggregates.set(aggregateKey, rec);
    }
    rec.lastMs = nowMs;
    let size: number;
    if (typeof rec.messages === 'string') {
      if (rec.messages !== message) rec.messages = new Set([rec.messages, message]);
      size = typeof rec.messages === 'string' ? 1 : rec.messages.size;
    } else {
      rec.messages.add(message);
      size = rec.messages.size;
    }
    if (size < AGGREGATE_MAX_EVENTS) return { key: [aggregateKey, `m${message}`].join('\n'), message };
    // the set does not grow past the limit: one out, so the next new message is the tenth again
    const set = rec.messages as Set<string>;
    const first = set.values().next().value;
    if (first !== undefined) set.delete(first);
    return { key: [aggregateKey, 'c'].join('\n'), message: `${COMBINED_PREFIX}${message}` };
  }
}
