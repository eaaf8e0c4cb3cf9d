import { readFile, writeFile } from 'node:fs/promises';
import { markdown, type Report } from './lib/report.js';

/**
 * `npm run bench:merge -- A.json B.json …`: one latest.md from several runs of
 * the same commit (a long section run on its own, so a failure or a time limit
 * in it loses nothing else). Refuses runs of different commits.
 */
async function main(files: string[]) {
  if (files.length < 2) throw new Error('name two or more bench/results/*.json files');
  const reports = await Promise.all(files.map(async (f) => JSON.parse(await readFile(f, 'utf8')) as Report));
  const commits = new Set(reports.map((r) => r.environment.commit));
  if (commits.size > 1) throw new Error(`the runs are of different commits: ${[...commits].join(', ')}`);
  const merged: Report = { environment: reports[0]!.environment, sections: {} };
  for (const r of reports) Object.assign(merged.sections, r.sections);
  const names = files.map((f) => f.split('/').pop()).join(', ');
  const text = markdown(merged).replace(/\n/, `\n\nMerged from runs of one commit, one after the other on the same machine: ${names}.\n`);
  await writeFile(new URL('./results/latest.md', import.meta.url), text);
  console.log(`wrote bench/results/latest.md from ${names}`);
}

main(process.argv.slice(2)).catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
