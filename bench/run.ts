import os from 'node:os';
import { sql } from 'kysely';
import { wireOutbox } from '../src/compose/outbox.js';
import { migrate } from '../src/db/node.js';
import { createPostgresDb } from '../src/db/postgres.js';
import { DEFAULT_BENCH_URL, recreateDatabase } from './lib/database.js';
import { describeEnvironment, type Report, saveReport, textTable } from './lib/report.js';
import type { Figures, Section } from './lib/types.js';
import { accounts } from './sections/accounts.js';
import { followUps } from './sections/follow-ups.js';
import { ingest } from './sections/ingest.js';
import { latency } from './sections/latency.js';
import { outbox } from './sections/outbox.js';
import { proof } from './sections/proof.js';
import { history } from './sections/history.js';
import { replicas } from './sections/replicas.js';
import { scoring } from './sections/scoring.js';
import { web } from './sections/web.js';

const SECTIONS: Section[] = [accounts, ingest, scoring, latency, outbox, followUps, web, proof, history, replicas];

const log = (message: string) => console.log(`[bench] ${message}`);

async function main(names: string[]) {
  wireOutbox();
  const unknown = names.filter((name) => !SECTIONS.some((s) => s.name === name));
  if (unknown.length) throw new Error(`unknown section(s): ${unknown.join(', ')}; known: ${SECTIONS.map((s) => s.name).join(', ')}`);
  const selected = names.length ? SECTIONS.filter((s) => names.includes(s.name)) : SECTIONS;

  const databaseUrl = process.env.BENCH_DATABASE_URL || DEFAULT_BENCH_URL;
  await recreateDatabase(databaseUrl);
  const database = createPostgresDb({ url: databaseUrl, max: 4 });
  try {
    await migrate(database.db);
    const { rows } = await sql<{ version: string }>`select version()`.execute(database.db);
    const report: Report = { environment: describeEnvironment(rows[0]!.version), sections: {} };
    log(`database ${new URL(databaseUrl).pathname.slice(1)} recreated; ${report.environment.postgres}`);

    const printSection = (name: string, figures: Figures) => {
      console.log(`\n== ${name}`);
      for (const table of figures.tables) console.log(`\n${textTable(table)}`);
      for (const note of figures.notes ?? []) console.log(`- ${note}`);
    };
    let failure: unknown;
    for (const section of selected) {
      log(`section ${section.name}`);
      const load = os.loadavg()[0]!;
      const started = performance.now();
      try {
        const figures = await section.run({ databaseUrl, db: database.db, log: (m) => log(`${section.name}: ${m}`) });
        const minutes = (performance.now() - started) / 60_000;
        // The machine is shared: the 1-minute load average says how busy it was besides the bench.
        figures.notes = [...(figures.notes ?? []), `Section time ${minutes.toFixed(1)} min; 1-minute load average ${load.toFixed(1)} at its start, ${os.loadavg()[0]!.toFixed(1)} at its end (${os.cpus().length} CPUs).`];
        report.sections[section.name] = figures;
        printSection(section.name, figures); // at once, so a later failure loses nothing
      } catch (err) {
        // Keep the figures of the sections that finished; report the failure after saving them.
        failure = err;
        log(`section ${section.name} failed; the later ones are skipped`);
        break;
      }
    }

    const env = report.environment;
    console.log(`\n${env.cpus} × ${env.cpuModel}, Node ${env.node}, ${env.postgres.split(' on ')[0]}, ${env.date}`);
    if (Object.keys(report.sections).length) {
      const files = await saveReport(report, new URL('./results/', import.meta.url));
      console.log(`\nwrote ${files.join(', ')}`);
    }
    if (failure) throw failure;
  } finally {
    await database.close();
  }
}

process.once('SIGINT', () => process.exit(130));

main(process.argv.slice(2)).catch((err) => {
  console.error(err);
  process.exit(1);
});
