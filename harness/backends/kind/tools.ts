// The `kind` and `docker` command lines the kind backend runs, through execa: each wrapper is one documented command
// line, its output parsed where the backend needs it. A failure carries the command line and what the tool said on
// stderr. The executables are looked up on PATH (or given: `kind`, `docker`), so a test can put recorded fakes first.
import { execa, type Options } from 'execa';

export interface KindToolsOptions {
  /** the kind executable (default: `kind` on PATH) */
  kind?: string;
  /** the docker executable (default: `docker` on PATH; the image build runs `docker` from the PATH of env) */
  docker?: string;
  /** the tools' environment on top of this process's (DOCKER_HOST, KIND_EXPERIMENTAL_PROVIDER, PATH) */
  env?: Record<string, string>;
  /** each command line before it runs, and each line the slow ones print (kind create cluster) */
  progress?: (line: string) => void;
}

export class ToolError extends Error {
  constructor(
    readonly command: string,
    readonly exitCode: number | undefined,
    readonly stderr: string,
  ) {
    super(`${command} failed${exitCode !== undefined ? ` (exit ${exitCode})` : ''}${stderr.trim() ? `: ${stderr.trim()}` : ''}`);
    this.name = 'ToolError';
  }
}

/** how long a command may take: creating a cluster pulls the node image on a fresh machine */
const CREATE_MS = 600_000;
const DEFAULT_MS = 120_000;

export class KindTools {
  constructor(private readonly o: KindToolsOptions = {}) {}

  private async run(tool: 'kind' | 'docker', args: string[], opts: { input?: string; timeoutMs?: number; stream?: boolean } = {}): Promise<string> {
    const bin = (tool === 'kind' ? this.o.kind : this.o.docker) ?? tool;
    const line = [tool, ...args].join(' ');
    this.o.progress?.(`$ ${line}`);
    const options: Options = {
      env: this.o.env,
      extendEnv: true,
      reject: false,
      timeout: opts.timeoutMs ?? DEFAULT_MS,
      stripFinalNewline: false,
      ...(opts.input !== undefined ? { input: opts.input } : { stdin: 'ignore' as const }),
    };
    const child = execa(bin, args, options);
    if (opts.stream && this.o.progress) {
      // kind create cluster reports its steps on stderr ("✓ Preparing nodes 📦")
      let buf = '';
      child.stderr?.setEncoding('utf8').on('data', (d: string) => {
        buf += d;
        for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
          const l = buf.slice(0, i).trim();
          buf = buf.slice(i + 1);
          if (l) this.o.progress?.(`  ${l}`);
        }
      });
    }
    const r = await child;
    if (r.failed) {
      const why = r.timedOut ? `timed out after ${options.timeout} ms` : String(r.stderr ?? '') || (r.exitCode === undefined ? (r.message ?? '') : '');
      throw new ToolError(line, r.exitCode, why);
    }
    return String(r.stdout ?? '');
  }

  /** `kind create cluster --name N --config FILE --kubeconfig F`; the kubeconfig is written to F, not ~/.kube/config */
  async createCluster(name: string, configFile: string, kubeconfig: string): Promise<void> {
    await this.run('kind', ['create', 'cluster', '--name', name, '--config', configFile, '--kubeconfig', kubeconfig], { timeoutMs: CREATE_MS, stream: true });
  }

  /** `kind get clusters`: the names, one a line ("No kind clusters found." goes to stderr) */
  async getClusters(): Promise<string[]> {
    return lines(await this.run('kind', ['get', 'clusters']));
  }

  /** `kind get nodes --name N`: the node containers' names */
  async getNodes(name: string): Promise<string[]> {
    return lines(await this.run('kind', ['get', 'nodes', '--name', name]));
  }

  /** `kind get kubeconfig --name N`: the cluster's kubeconfig (its API server on the host's loopback) */
  getKubeconfig(name: string): Promise<string> {
    return this.run('kind', ['get', 'kubeconfig', '--name', name]);
  }

  /** `kind delete cluster --name N --kubeconfig F` (F: where create wrote it, so kind removes its context there) */
  async deleteCluster(name: string, kubeconfig?: string): Promise<void> {
    await this.run('kind', ['delete', 'cluster', '--name', name, ...(kubeconfig ? ['--kubeconfig', kubeconfig] : [])], { timeoutMs: DEFAULT_MS });
  }

  /**
   * `kind load docker-image IMAGE --name N`: copies an image of this machine's Docker into every node's containerd
   * (kind skips a node that has it already), so a pod with imagePullPolicy Never runs it without a registry
   */
  async loadImage(image: string, cluster: string): Promise<void> {
    await this.run('kind', ['load', 'docker-image', image, '--name', cluster], { timeoutMs: CREATE_MS });
  }

  /** `docker exec [-i] CONTAINER ARGV…`: the command's outcome (a non-zero exit is an outcome, not an error) */
  async dockerExec(container: string, argv: string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<{ exitCode: number | null; stdout: string; stderr: string; durationMs: number }> {
    const bin = this.o.docker ?? 'docker';
    const args = ['exec', ...(opts.input !== undefined ? ['-i'] : []), container, ...argv];
    this.o.progress?.(`$ docker ${args.join(' ')}`);
    const t0 = Date.now();
    const r = await execa(bin, args, {
      env: this.o.env,
      reject: false,
      timeout: opts.timeoutMs ?? DEFAULT_MS,
      stripFinalNewline: false,
      ...(opts.input !== undefined ? { input: opts.input } : { stdin: 'ignore' as const }),
    });
    return { exitCode: r.exitCode ?? null, stdout: String(r.stdout ?? ''), stderr: r.timedOut ? `${String(r.stderr ?? '')}docker exec: timed out after ${opts.timeoutMs ?? DEFAULT_MS} ms\n` : String(r.stderr ?? ''), durationMs: Date.now() - t0 };
  }

  /** `docker exec CONTAINER ARGV…` that must succeed: its stdout */
  async dockerExecOk(container: string, argv: string[]): Promise<string> {
    const r = await this.dockerExec(container, argv);
    if (r.exitCode !== 0) throw new ToolError(`docker exec ${container} ${argv.join(' ')}`, r.exitCode ?? undefined, r.stderr);
    return r.stdout;
  }

  /** `docker inspect --format {{.State.Pid}} CONTAINER`: the PID of the container's init on this host (0: not running) */
  async containerPid(container: string): Promise<number> {
    const out = (await this.run('docker', ['inspect', '--format', '{{.State.Pid}}', container])).trim();
    const pid = Number(out);
    if (!Number.isInteger(pid) || pid < 0) throw new ToolError(`docker inspect --format {{.State.Pid}} ${container}`, 0, `not a PID: ${JSON.stringify(out)}`);
    return pid;
  }

  /** `docker inspect --format {{json .Mounts}} CONTAINER`: its bind mounts (for --reuse: does it have the sysfs share?) */
  async containerMounts(container: string): Promise<Array<{ Source: string; Destination: string; Propagation?: string }>> {
    const out = await this.run('docker', ['inspect', '--format', '{{json .Mounts}}', container]);
    return JSON.parse(out.trim() || '[]') as Array<{ Source: string; Destination: string; Propagation?: string }>;
  }

  /** `docker restart CONTAINER`: a node reboot (its init, kubelet and containers start again) */
  async dockerRestart(container: string): Promise<void> {
    await this.run('docker', ['restart', container], { timeoutMs: DEFAULT_MS });
  }
}

function lines(s: string): string[] {
  return s
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
}
