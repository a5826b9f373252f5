// The sub-command table. Each command parses its own arguments and returns an exit code. Every command's code is
// loaded when it runs (a dynamic import: its own chunk of the bundle, scripts/build.mjs), so `sriov-lab get pods` or
// `--help` does not compile the simulator, the QEMU backend and client-node first; the summaries live here.

/** runs `pick(module)` once the module is loaded */
function lazy<M>(load: () => Promise<M>, pick: (m: M) => (args: string[]) => Promise<number>): (args: string[]) => Promise<number> {
  return async (args) => pick(await load())(args);
}
const runner = () => import('../runner/command.ts');
const fidelity = () => import('../fidelity/command.ts');
const soak = () => import('../soak/command.ts');
const images = () => import('../images/command.ts');
const backends = () => import('../backends/index.ts');
const setup = () => import('../setup/command.ts');
const cluster = () => import('./cluster-commands.ts');
const vm = () => import('../qemu/vm-cli.ts');
const host = () => import('../host/cli.ts');
const nodeCommands = () => import('./node-commands.ts');

export interface Command {
  summary: string;
  /** the command's own usage text for --help (loaded with its module); default: its summary */
  usage?: () => Promise<string>;
  run(args: string[]): Promise<number>;
}

export const commands = new Map<string, Command>();

commands.set('doctor', {
  summary: 'report what this machine offers (root, FUSE, namespaces, CNI plugins, QEMU, KVM, Chromium)',
  run: lazy(() => import('./doctor.ts'), (m) => m.doctor),
});

commands.set('setup', {
  summary: 'install with apt-get the Debian packages this machine lacks: [--for sim|test|qemu] [--dry-run] [--if-missing]',
  run: lazy(setup, (m) => m.setupCommand),
});

commands.set('node shell', {
  summary: 'run CMD (default: bash) inside a fresh simulated node: [--topology FILE] [--node NAME] -- CMD…',
  run: lazy(nodeCommands, (m) => m.nodeShell),
});

commands.set('sysfs serve', {
  summary: 'serve only a node\'s FUSE sysfs until SIGTERM: --topology FILE --mount DIR [--node NAME]',
  run: lazy(nodeCommands, (m) => m.sysfsServe),
});

commands.set('run', {
  summary: 'run scenario files: [PATH…] [--backend sim|qemu|host|cluster|kind] [--device-plugin "CMD"] [--cni PATH] [--topology FILE]',
  usage: async () => (await runner()).RUN_USAGE,
  async run(args) {
    (await backends()).registerBuiltinBackends();
    if ((await setup()).backendArg(args) === 'qemu') {
      const code = await (await import('../setup/setup.ts')).ensureSystemPackages('qemu');
      if (code !== 0) return code;
    }
    return (await runner()).runCommand(args);
  },
});

commands.set('fidelity', {
  summary: 'run scenarios on two backends and print every difference in what they observed: [PATH…] [--a sim] [--b qemu] [--seed N] [--filter GLOB]… [--device-plugin "CMD"] [--cni PATH]',
  usage: async () => (await fidelity()).FIDELITY_USAGE,
  async run(args) {
    (await backends()).registerBuiltinBackends();
    return (await fidelity()).fidelityCommand(args);
  },
});

commands.set('soak', {
  summary: 'a randomized fault soak on sim from a seed; a violation is shrunk to a scenario file: [--seed N] [--iterations N] [--nodes N|--topology F] [--json F]',
  usage: async () => (await soak()).SOAK_USAGE,
  run: lazy(soak, (m) => m.soakCommand),
});

commands.set('report', {
  summary: 're-render a saved run: report RUN.json [--html F] [--junit F] [--markdown F] [--json F] [--quiet]',
  run: lazy(() => import('../../reports/render.ts'), (m) => m.reportCommand),
});

commands.set('demo', {
  summary: 'the tutorial, step by step, on the simulator; writes an HTML report (npm start): [--seed N] [--html F]',
  run: lazy(() => import('../demo.ts'), (m) => m.demoCommand),
});

// the background cluster and the kubectl-like commands (harness/cli/cluster-commands.ts)
commands.set('up', { summary: 'start a simulated cluster in the background: [--topology FILE] [--device-plugin "CMD"] [--cni PATH] [--seed N] [--bare] [--multus PATH]', run: lazy(cluster, (m) => m.clusterUp) });
commands.set('kubeconfig', { summary: 'print the path of the running cluster\'s kubeconfig (context sriov-lab): export KUBECONFIG=$(sriov-lab kubeconfig)', run: lazy(cluster, (m) => m.clusterKubeconfig) });
commands.set('down', { summary: 'stop the background cluster and remove every namespace, mount and process it made', run: lazy(cluster, (m) => m.clusterDown) });
commands.set('get', { summary: 'list objects through the API: get pods|nodes|net-attach-def|events|… [NAME…] [-o wide|yaml|json|name] [-n NS|-A]', run: lazy(cluster, (m) => m.kubectlGet) });
commands.set('describe', { summary: 'show an object in detail, with its events: describe node|pod NAME [-n NS]', run: lazy(cluster, (m) => m.kubectlDescribe) });
commands.set('apply', { summary: 'create or update objects from manifests: apply -f FILE|DIR|- [-n NS]', run: lazy(cluster, (m) => m.kubectlApply) });
commands.set('delete', { summary: 'delete objects: delete -f FILE | delete pod|net-attach-def NAME… [-n NS]', run: lazy(cluster, (m) => m.kubectlDelete) });
commands.set('logs', { summary: 'a node component\'s log: logs device-plugin|kubelet --node NAME [--tail N] [-f]', run: lazy(cluster, (m) => m.clusterLogs) });
commands.set('exec', { summary: 'run a command in a pod\'s network namespace: exec POD [-n NS] -- CMD…', run: lazy(cluster, (m) => m.podExec) });
commands.set('restart', { summary: 'restart a node component: restart kubelet|device-plugin --node NAME', run: lazy(cluster, (m) => m.clusterRestart) });
commands.set('node exec', { summary: 'run a command on a node of the running cluster (its /sys is the simulated sysfs): node exec NODE -- CMD…', run: lazy(cluster, (m) => m.nodeExec) });

commands.set('vm build', { summary: 'build (or find in the cache) the guest kernel + initramfs from Debian packages: [--force] [--kernel PKG] [--quiet]', run: lazy(vm, (m) => m.vmBuild) });
commands.set('vm up', { summary: 'boot a VM in the background: NAME [--topology FILE --node NODE | --igb N --virtio N] [--memory MiB] [--cpus N] [--accel tcg|kvm]', run: lazy(vm, (m) => m.vmUp) });
commands.set('vm exec', { summary: "run a command in a running VM (the node's view; --guest: the initramfs): NAME [--cwd DIR] [--timeout MS] [-n] -- CMD…", run: lazy(vm, (m) => m.vmExec) });
commands.set('vm down', { summary: 'stop VMs started with vm up: NAME… | --all', run: lazy(vm, (m) => m.vmDown) });
commands.set('vm list', { summary: 'list the VMs started with vm up', run: lazy(vm, (m) => () => m.vmList()) });
commands.set('image build', {
  summary: 'build the container images of the bundled device plugin and CNI (Dockerfile): [--tag T] [--target device-plugin|cni] [--local-base|--pull-base]',
  usage: async () => (await images()).IMAGE_BUILD_USAGE,
  run: lazy(images, (m) => m.imageBuildCommand),
});
commands.set('host restore', { summary: 'undo what a crashed or killed host-backend run changed, from its journal: [--journal FILE]', run: lazy(host, (m) => m.hostRestore) });
commands.set('host snapshot', { summary: "print PFs' sysfs/netlink state as JSON (compare before/after): --pf NAME|PCI [--pf …]", run: lazy(host, (m) => m.hostSnapshot) });

/** a command's --help text: its own usage, or its name and summary */
export async function commandHelp(name: string, c: Command): Promise<string> {
  const text = c.usage ? await c.usage() : `usage: sriov-lab ${name} — ${c.summary}`;
  return text.endsWith('\n') ? text : `${text}\n`;
}

/** --help or -h among a command's own arguments (not after `--`, where they belong to the command it runs) */
export function asksForHelp(args: readonly string[]): boolean {
  const end = args.indexOf('--');
  return (end < 0 ? args : args.slice(0, end)).some((a) => a === '--help' || a === '-h');
}

/** the command an argument list names (two-word commands first) and the arguments left */
export function findCommand(argv: readonly string[]): { name: string; cmd: Command; rest: string[] } | undefined {
  const [first, second, ...more] = argv;
  if (first === undefined) return undefined;
  const two = second !== undefined ? commands.get(`${first} ${second}`) : undefined;
  if (two) return { name: `${first} ${second}`, cmd: two, rest: more };
  const one = commands.get(first);
  return one ? { name: first, cmd: one, rest: argv.slice(1) } : undefined;
}

export function usage(): string {
  const lines = ['usage: sriov-lab <command> [options]', '', 'commands:'];
  const width = Math.max(...[...commands.keys()].map((k) => k.length));
  for (const [name, c] of [...commands.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    lines.push(`  ${name.padEnd(width)}  ${c.summary}`);
  }
  return `${lines.join('\n')}\n`;
}
