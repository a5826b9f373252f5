// `sriov-lab image build`: the images of the bundled plugins from the Dockerfile at the project root, through the
// docker CLI (DOCKER_HOST as the caller sets it). The build context is a temporary directory with only the files the
// Dockerfile copies (CONTEXT_FILES, the same list as .dockerignore), symlinks resolved. The build stage's base is
// NODE_IMAGE (node:20-bookworm-slim); when it is neither present nor pullable, or with --local-base, a base made of
// this machine's node, nsenter and sleep (the node-agent image's tools) and their libraries is imported instead (`docker import` of a root filesystem tarball).
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { projectRoot } from '../../sim/paths.ts';
import { SRIOV_LAB_IMAGES } from '../../sim/cluster/images.ts';
import { AGENT_TOOLS, writePrograms, writeRuntimeRootfs } from './rootfs.ts';

/** the Dockerfile's default NODE_IMAGE (a test checks the Dockerfile says the same) */
export const DEFAULT_NODE_IMAGE = 'node:20-bookworm-slim';
export type ImageTarget = keyof typeof SRIOV_LAB_IMAGES;
export const IMAGE_TARGETS = Object.keys(SRIOV_LAB_IMAGES) as ImageTarget[];

/** what the Dockerfile copies from the context; .dockerignore lets exactly these through */
export const CONTEXT_FILES = [
  'Dockerfile',
  'dist/sriov-lab-image-stage.mjs',
  'dist/sriov-lab-device-plugin.mjs',
  'dist/sriov-lab-cni-sea.cjs',
  'dist/sriov-lab-node-agent.mjs',
  'node_modules/postject/package.json',
  'node_modules/postject/dist/api.js',
] as const;

export type BaseChoice = 'auto' | 'local' | 'pull';

export interface ImageBuildOptions {
  tag?: string;
  base?: BaseChoice;
  nodeImage?: string;
  targets?: ImageTarget[];
  /** added to the docker CLI's environment (DOCKER_HOST of a private dockerd) */
  env?: Record<string, string>;
  /** progress and docker's output, line by line */
  log?: (line: string) => void;
}

export interface BuiltImage {
  target: ImageTarget;
  image: string;
  sizeBytes: number;
  buildMs: number;
}

export interface ImageBuildResult {
  base: { image: string; local: boolean; ms: number };
  images: BuiltImage[];
}

export class DockerError extends Error {
  constructor(
    readonly command: string[],
    readonly exitCode: number | null,
    readonly stderr: string,
  ) {
    super(`${command.join(' ')} failed (exit ${exitCode}): ${stderr.trim().split('\n').slice(-3).join(' / ') || '(no output)'}`);
    this.name = 'DockerError';
  }
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** docker ARGS; each output line goes to `onLine` when given; `stdin` is piped from a child's stdout when given. */
export function docker(args: string[], opts: { env?: Record<string, string>; onLine?: (line: string) => void; stdinFrom?: NodeJS.ReadableStream; timeoutMs?: number } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn('docker', args, { env: { ...process.env, ...opts.env }, stdio: [opts.stdinFrom ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
    if (opts.stdinFrom) opts.stdinFrom.pipe(child.stdin!);
    let stdout = '';
    let stderr = '';
    let partial = '';
    const feed = (chunk: string) => {
      if (!opts.onLine) return;
      partial += chunk;
      const lines = partial.split('\n');
      partial = lines.pop()!;
      for (const l of lines) if (l.trim()) opts.onLine(l);
    };
    child.stdout!.setEncoding('utf8').on('data', (c: string) => ((stdout += c), feed(c)));
    child.stderr!.setEncoding('utf8').on('data', (c: string) => ((stderr += c), feed(c)));
    const timer = opts.timeoutMs ? setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs) : undefined;
    child.once('error', (e) => reject(new Error(`docker: ${e.message} (is the docker CLI installed? \`sriov-lab setup --for test\` installs docker.io)`)));
    child.once('close', (code) => {
      if (timer) clearTimeout(timer);
      if (partial.trim() && opts.onLine) opts.onLine(partial);
      resolve({ code, stdout, stderr });
    });
  });
}

async function dockerOk(args: string[], opts: Parameters<typeof docker>[1] = {}): Promise<string> {
  const r = await docker(args, opts);
  if (r.code !== 0) throw new DockerError(['docker', ...args], r.code, r.stderr || r.stdout);
  return r.stdout;
}

async function imageExists(image: string, env?: Record<string, string>): Promise<boolean> {
  return (await docker(['image', 'inspect', '--format', '{{.Id}}', image], { env })).code === 0;
}

/** the tag of the locally built base: this machine's node version (with the node-agent image's tools) */
export function localBaseImage(): string {
  return `sriov-lab/node-base:${process.version.slice(1)}-tools-local`;
}

/** Imports a base image of this machine's node binary, nsenter and sleep and the libraries they load (reused when present). */
export async function buildLocalBase(opts: { env?: Record<string, string>; log?: (l: string) => void } = {}): Promise<string> {
  const log = opts.log ?? (() => undefined);
  const image = localBaseImage();
  if (await imageExists(image, opts.env)) {
    log(`using the local base ${image} (built before)`);
    return image;
  }
  const dir = mkdtempSync(join(tmpdir(), 'sriov-lab-base-'));
  try {
    const bytes = writeRuntimeRootfs(dir, process.execPath, { executableAt: '/usr/local/bin/node' }) + writePrograms(dir, AGENT_TOOLS);
    log(`importing ${image}: node ${process.version}, ${AGENT_TOOLS.join(', ')} and their libraries (${(bytes / (1 << 20)).toFixed(1)} MiB)…`);
    const tar = spawn('tar', ['--numeric-owner', '-C', dir, '-c', '.'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let tarErr = '';
    tar.stderr.setEncoding('utf8').on('data', (c: string) => (tarErr += c));
    const tarDone = new Promise<number | null>((resolve, reject) => {
      tar.once('error', (e) => reject(new Error(`tar: ${e.message}`)));
      tar.once('close', resolve);
    });
    const imported = await docker(['import', '--change', 'ENV PATH=/usr/local/bin:/usr/bin:/bin', '--message', `node ${process.version} and its libraries (sriov-lab image build --local-base)`, '-', image], { env: opts.env, stdinFrom: tar.stdout });
    const tarCode = await tarDone;
    if (tarCode !== 0) throw new Error(`tar of the base root ${dir} failed (exit ${tarCode}): ${tarErr.trim()}`);
    if (imported.code !== 0) throw new DockerError(['docker', 'import', '-', image], imported.code, imported.stderr);
    return image;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The build stage's base: NODE_IMAGE when present or pullable, else (auto) the local one, saying why. */
export async function resolveBase(opts: ImageBuildOptions): Promise<{ image: string; local: boolean }> {
  const log = opts.log ?? (() => undefined);
  const nodeImage = opts.nodeImage ?? DEFAULT_NODE_IMAGE;
  const choice = opts.base ?? 'auto';
  if (choice === 'local') return { image: await buildLocalBase(opts), local: true };
  if (await imageExists(nodeImage, opts.env)) return { image: nodeImage, local: false };
  log(`pulling ${nodeImage}…`);
  const pulled = await docker(['pull', nodeImage], { env: opts.env, timeoutMs: 600_000 });
  if (pulled.code === 0) return { image: nodeImage, local: false };
  const why = (pulled.stderr || pulled.stdout).trim().split('\n').pop() ?? `exit ${pulled.code}`;
  if (choice === 'pull') throw new DockerError(['docker', 'pull', nodeImage], pulled.code, pulled.stderr);
  log(`cannot pull ${nodeImage} (${why})`);
  log(`building the base locally instead, from this machine's node ${process.version} and the libraries it loads (--local-base skips the pull)`);
  return { image: await buildLocalBase(opts), local: true };
}

/** Copies CONTEXT_FILES (symlinks resolved) into a fresh directory; the caller removes it. */
export function assembleContext(root = projectRoot()): string {
  const missing = CONTEXT_FILES.filter((f) => !existsSync(join(root, f)));
  if (missing.length > 0) {
    const hint = missing.some((f) => f.startsWith('dist/')) ? ' (npm run build makes dist/)' : missing.some((f) => f.startsWith('node_modules/')) ? ' (npm ci installs postject)' : '';
    throw new Error(`image build: missing in ${root}: ${missing.join(', ')}${hint}`);
  }
  const ctx = mkdtempSync(join(tmpdir(), 'sriov-lab-image-ctx-'));
  for (const f of CONTEXT_FILES) {
    mkdirSync(dirname(join(ctx, f)), { recursive: true });
    copyFileSync(join(root, f), join(ctx, f));
  }
  return ctx;
}

export async function buildImages(opts: ImageBuildOptions = {}): Promise<ImageBuildResult> {
  const log = opts.log ?? (() => undefined);
  const tag = opts.tag ?? 'latest';
  if (!/^[\w][\w.-]{0,127}$/.test(tag)) throw new Error(`image build: --tag ${JSON.stringify(tag)} is not a valid tag ([A-Za-z0-9_][A-Za-z0-9_.-]{0,127})`);
  const ctx = assembleContext();
  try {
    const t0 = Date.now();
    const base = await resolveBase(opts);
    const baseMs = Date.now() - t0;
    const images: BuiltImage[] = [];
    for (const target of opts.targets ?? IMAGE_TARGETS) {
      const image = `${SRIOV_LAB_IMAGES[target]}:${tag}`;
      log(`building ${image} (target ${target}, build stage FROM ${base.image})…`);
      const t1 = Date.now();
      await dockerOk(['build', '--target', target, '--tag', image, '--build-arg', `NODE_IMAGE=${base.image}`, '--file', join(ctx, 'Dockerfile'), ctx], {
        env: opts.env,
        onLine: (l) => log(`  ${l}`),
      });
      const buildMs = Date.now() - t1;
      const sizeBytes = Number((await dockerOk(['image', 'inspect', '--format', '{{.Size}}', image], { env: opts.env })).trim());
      log(`${image}: ${(sizeBytes / 1e6).toFixed(1)} MB, built in ${(buildMs / 1000).toFixed(1)} s`);
      images.push({ target, image, sizeBytes, buildMs });
    }
    return { base: { ...base, ms: baseMs }, images };
  } finally {
    rmSync(ctx, { recursive: true, force: true });
  }
}
