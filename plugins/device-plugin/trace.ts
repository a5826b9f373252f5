// Start-up timing marks, on when SRIOV_LAB_DP_TRACE is set (bench/device-plugin.ts sets it): each mark is the time
// since the process started (performance.now()); the marks are written as one JSON line on stderr when asked to.
const on = !!process.env.SRIOV_LAB_DP_TRACE;
const marks: Array<[string, number]> = [];

/** Records `name` at now (the first mark of a name only). */
export function mark(name: string): void {
  if (on && !marks.some((m) => m[0] === name)) marks.push([name, Math.round(performance.now() * 100) / 100]);
}

/** Writes the marks so far as `{"trace":{name: ms, …}}` on stderr (once per call; nothing when tracing is off). */
export function flushMarks(): void {
  if (!on) return;
  const m = process.memoryUsage();
  const mib = (n: number) => Math.round((n / 1048576) * 10) / 10;
  const memory = { rss: mib(m.rss), heapTotal: mib(m.heapTotal), heapUsed: mib(m.heapUsed), external: mib(m.external), arrayBuffers: mib(m.arrayBuffers) };
  process.stderr.write(`${JSON.stringify({ trace: Object.fromEntries(marks), memory })}\n`);
}

mark('load');
