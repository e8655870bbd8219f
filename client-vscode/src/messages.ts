// Texts the extension shows, built from server results. Pure (unit-tested without VS Code).
import { StoredFix } from './fixdoc';

// A "Learned Fixes" row's description: "line 5 · 83% success, 4 uses" once the pattern is known.
export function fixDescription(line: number, stored: StoredFix | null | undefined): string {
  const where = `line ${line + 1}`;
  if (stored === undefined) return where;
  if (stored === null) return `${where} · no longer in memory`;
  const uses = stored.uses === 1 ? '1 use' : `${stored.uses} uses`;
  return `${where} · ${Math.round(stored.successRate * 100)}% success, ${uses}${stored.retired ? ' · retired' : ''}`;
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
