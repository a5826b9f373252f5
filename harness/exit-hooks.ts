// A process-wide registry of cleanups that must run when this process ends: normally, on an uncaught error, or on
// SIGINT/SIGTERM/SIGHUP (Ctrl-C, a closed terminal, a CI cancel). Anything that starts an external resource (a QEMU
// process, a mount, a changed NIC) registers one hook and removes it once it cleaned up by itself.
//
// Two kinds of hook:
// - `sync`: runs on every exit path, including `process.exit()` and the 'exit' event where nothing async can run
//   (e.g. SIGKILL a child by pid). Keep it short.
// - `async`: runs on signals, before the process re-raises the signal; bounded by the largest `timeoutMs` of the
//   hooks (default `asyncTimeoutMs`). Further signals while the hooks run are ignored (SIGKILL still works).
// After a signal the hooks run once, the handlers are removed and the same signal is raised again, so the process
// still dies of that signal (exit status 128+n) as it would have without us.
// A command that handles a signal itself (`run`'s Ctrl-C: finish the scenario's own cleanup, then write the report)
// defers it (`deferSignal`): the hooks then leave that signal to it, and still run on the others and on exit.

export interface ExitHook {
  /** shown in the message when the hook throws */
  name: string;
  sync?: () => void;
  async?: () => Promise<void>;
  /** how long the async part may take before the process dies anyway (default asyncTimeoutMs) */
  timeoutMs?: number;
}

const hooks = new Set<ExitHook>();
const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
const deferred = new Map<NodeJS.Signals, number>();
let installed = false;
let running = false;
export const asyncTimeoutMs = 10_000;

function runSync(): void {
  for (const h of [...hooks].reverse()) {
    try {
      h.sync?.();
    } catch (e) {
      process.stderr.write(`sriov-lab: cleanup "${h.name}" failed: ${(e as Error).message}\n`);
    }
  }
}

async function onSignal(sig: NodeJS.Signals): Promise<void> {
  if (running || (deferred.get(sig) ?? 0) > 0) return;
  running = true;
  const list = [...hooks].reverse();
  const all = Promise.all(
    list.map(async (h) => {
      try {
        await h.async?.();
      } catch (e) {
        process.stderr.write(`sriov-lab: cleanup "${h.name}" failed: ${(e as Error).message}\n`);
      }
    }),
  );
  let timer: NodeJS.Timeout | undefined;
  const limitMs = Math.max(asyncTimeoutMs, ...list.map((h) => h.timeoutMs ?? 0));
  await Promise.race([all, new Promise((res) => (timer = setTimeout(res, limitMs)))]);
  clearTimeout(timer);
  runSync();
  hooks.clear();
  uninstall();
  process.kill(process.pid, sig);
}

const handlers = new Map<NodeJS.Signals, () => void>();
const onExit = (): void => runSync();

function install(): void {
  if (installed) return;
  installed = true;
  for (const s of signals) {
    const h = (): void => void onSignal(s);
    handlers.set(s, h);
    process.on(s, h);
  }
  process.on('exit', onExit);
}

function uninstall(): void {
  if (!installed) return;
  installed = false;
  for (const [s, h] of handlers) process.off(s, h);
  handlers.clear();
  process.off('exit', onExit);
}

/** Registers a hook; the returned function removes it (call it once the resource is cleaned up normally). */
export function addExitHook(hook: ExitHook): () => void {
  hooks.add(hook);
  install();
  return () => {
    hooks.delete(hook);
    if (hooks.size === 0 && !running) uninstall();
  };
}

/**
 * Leaves `sig` to the caller, who handles it and ends the process in its own way (the sync hooks still run on exit);
 * the returned function gives it back to the hooks.
 */
export function deferSignal(sig: NodeJS.Signals): () => void {
  deferred.set(sig, (deferred.get(sig) ?? 0) + 1);
  let done = false;
  return () => {
    if (done) return;
    done = true;
    deferred.set(sig, (deferred.get(sig) ?? 1) - 1);
  };
}

/** How many hooks are registered (for tests). */
export function exitHookCount(): number {
  return hooks.size;
}
