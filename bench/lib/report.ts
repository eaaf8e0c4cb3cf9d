import { execFileSync } from 'node:child_process';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import os from 'node:os';
import type { Cell, Figures, Table } from './types.js';

export interface Environment {
  date: string;
  cpus: number;
  cpuModel: string;
  memoryGb: number;
  os: string;
  node: string;
  postgres: string;
  commit: string;
}

export interface Report {
  environment: Environment;
  sections: Record<string, Figures>;
}

export function describeEnvironment(postgres: string): Environment {
  return {
    date: new Date().toISOString(),
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model.trim() ?? 'unknown',
    memoryGb: Math.round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    postgres,
    commit: gitCommit(),
  };
}

function gitCommit() {
  try {
    const git = (...args: string[]) => execFileSync('git', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    return git('rev-parse', '--short', 'HEAD') + (git('status', '--porcelain') ? ' (with uncommitted changes)' : '');
  } catch {
    return 'unknown';
  }
}

const formatCell = (cell: Cell) => (cell === null ? '' : typeof cell === 'number' ? cell.toLocaleString('en-US') : cell);

export function textTable(table: Table): string {
  const cells = [table.columns, ...table.rows.map((row) => row.map(formatCell))];
  const widths = table.columns.map((_, i) => Math.max(...cells.map((row) => row[i]!.length)));
  const line = (row: string[]) => row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ');
  return [table.title, line(table.columns), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join('\n');
}

function markdownTable(table: Table): string {
  const line = (row: string[]) => `| ${row.join(' | ')} |`;
  const align = table.columns.map((_, i) => (i === 0 ? ':--' : '--:'));
  return [`**${table.title}**`, '', line(table.columns), line(align), ...table.rows.map((row) => line(row.map(formatCell)))].join('\n');
}

export function markdown(report: Report): string {
  const env = report.environment;
  const lines = [
    `# Benchmark results, ${env.date}`,
    '',
    `- Machine: ${env.cpus} × ${env.cpuModel}, ${env.memoryGb} GB, ${env.os}`,
    `- Node ${env.node}; ${env.postgres}`,
    `- Commit ${env.commit}`,
  ];
  for (const [name, figures] of Object.entries(report.sections)) {
    lines.push('', `## ${name}`);
    for (const table of figures.tables) lines.push('', markdownTable(table));
    if (figures.notes?.length) lines.push('', ...figures.notes.map((note) => `- ${note}`));
  }
  return `${lines.join('\n')}\n`;
}

/** Writes `<date>.json` (ISO 8601 basic format, safe in file names) and `latest.md`. */
export async function saveReport(report: Report, dir: URL): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const stamp = report.environment.date.replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  const files: [string, string][] = [
    [`${stamp}.json`, `${JSON.stringify(report, null, 2)}\n`],
    ['latest.md', markdown(report)],
  ];
  for (const [name, text] of files) {
    const path = new URL(name, dir);
    await writeFile(new URL(`${name}.tmp`, dir), text);
    await rename(new URL(`${name}.tmp`, dir), path);
  }
  return files.map(([name]) => new URL(name, dir).pathname);
}
