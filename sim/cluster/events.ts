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
 * The aggregate key: the identity's fields, each JSON-quoted and joined by a newline. A JSON string holds no raw
 * newline, so distinct identities get distinct keys; an event's key is the aggregate key, a newline, then "m" and the
 * message or "c" for the combined event, which keeps every key distinct.
 */
function aggregateKeyOf(id: EventIdentity): string {
  const q = JSON.stringify;
  return `${q(id.component)}\n${q(id.host ?? '')}\n${q(id.kind)}\n${q(id.namespace)}\n${q(id.name ?? '')}\n${q(id.uid ?? '')}\n${q(id.type)}\n${q(id.reason)}`;
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
    if (size < AGGREGATE_MAX_EVENTS) return { key: `${aggregateKey}\nm${message}`, message };
    // the set does not grow past the limit: one out, so the next new message is the tenth again
    const set = rec.messages as Set<string>;
    const first = set.values().next().value;
    if (first !== undefined) set.delete(first);
    return { key: `${aggregateKey}\nc`, message: `${COMBINED_PREFIX}${message}` };
  }
}
