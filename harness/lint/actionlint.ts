// `npm run actionlint`: actionlint over the workflows, the action and the examples of docs/ci.md (harness/lint/ci-files.ts).
import { projectRoot } from '../../sim/paths.ts';
import { lintCiFiles, projectCiFiles } from './ci-files.ts';

const files = projectCiFiles(projectRoot());
const problems = await lintCiFiles(files);
for (const p of problems) process.stdout.write(`${p}\n`);
process.stdout.write(`${files.length} files (${files.map((f) => f.name).join(', ')}): ${problems.length} problem${problems.length === 1 ? '' : 's'}\n`);
process.exitCode = problems.length ? 1 : 0;
