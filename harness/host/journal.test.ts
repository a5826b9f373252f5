// The journal file on its own: entries are on disk as soon as append returns, a torn last line (a process killed
// mid-write) is ignored, and "pending" means changes after the last `restored`.
import t from 'tap';
import { appendFileSync, existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Journal, needsRestore, readJournal, retireJournal, type JournalEntry } from './journal.ts';

const begin: JournalEntry = { type: 'begin', pid: 1, startedAt: 'x', pfs: ['0000:01:00.0'], forced: false };
const numvfs: JournalEntry = { type: 'numvfs', pf: '0000:01:00.0', before: 0, after: 4 };

t.test('append is durable line by line; a torn tail is ignored', async (t) => {
  const path = join(t.testdir({}), 'sub', 'j.jsonl');
  const j = new Journal(path);
  j.append(begin);
  t.same(readFileSync(path, 'utf8'), `${JSON.stringify(begin)}\n`, 'on disk before append returns');
  j.append(numvfs);
  j.close();
  appendFileSync(path, '{"type":"driver","pciAddr":"0000:01:10');
  t.same(readJournal(path), [begin, numvfs]);
});

t.test('pending changes are those after the last restored entry', async (t) => {
  t.equal(needsRestore([]), false);
  t.equal(needsRestore([begin]), true, 'a begun session is pending (its baseline may need reconciling)');
  t.equal(needsRestore([begin, numvfs, { type: 'restored', at: 'x', problems: [] }]), false);
  t.equal(needsRestore([begin, { type: 'restored', at: 'x', problems: [] }, numvfs]), true);
  t.same(readJournal('/nonexistent/j.jsonl'), []);
});

t.test('a retired journal is kept aside as *.done', async (t) => {
  const dir = t.testdir({ 'j.jsonl': `${JSON.stringify(begin)}\n` });
  const to = retireJournal(join(dir, 'j.jsonl'));
  t.notOk(existsSync(join(dir, 'j.jsonl')));
  t.match(to, /j\.jsonl\..*\.done$/);
  t.same(readdirSync(dir).length, 1);
});
