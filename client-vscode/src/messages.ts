// Texts the extension shows, built from server results. Pure (unit-tested without VS Code).
import type { StoredFix } from './fixdoc';

// "83% success, 4 uses"; before any use, the prior the server starts from.
export function rateText(successRate: number, uses: number): string {
  const pct = `${Math.round(successRate * 100)}%`;
  return uses === 0 ? `${pct} (prior, no uses yet)` : `${pct} success, ${uses === 1 ? '1 use' : `${uses} uses`}`;
}

// A "Learned Fixes" row's description, the rate first (the explorer cuts long rows).
export function fixDescription(line: number, stored: StoredFix | null | undefined): string {
  const where = `line ${line + 1}`;
  if (stored === undefined) return where;
  if (stored === null) return `no longer in memory · ${where}`;
  return `${rateText(stored.successRate, stored.uses)}${stored.retired ? ', retired' : ''} · ${where}`;
}

// " (pushed 3, pulled 5)" from whatever counts the server's sync result holds.
export function syncSummary(result: unknown): string {
  if (!result || typeof result !== 'object') return '';
  const counts = Object.entries(result as Record<string, unknown>).filter(([, v]) => typeof v === 'number');
  return counts.length ? ` (${counts.map(([k, v]) => `${k} ${v}`).join(', ')})` : '';
}

export function statsMessage(stats: Record<string, unknown>): string {
  return `Pattern Memory: ${stats.patterns} patterns (${stats.active} active, ${stats.retired} retired).`;
}
