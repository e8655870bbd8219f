// Text of the read-only before/after documents a search result opens in a diff editor.
// URIs: pattern-memory:/<patternId>/<before|after>/<file name>?<cache key>
import { rateText } from './messages';

export const SCHEME = 'pattern-memory';

export interface Hit {
  patternId: string;
  score: number;
  commitMsg: string;
  date: string;
  filePath: string;
  successRate: number;
  uses: number;
  beforeCode: string;
  afterCode: string;
  problemType?: string;
}

// What patternMemory.get returns: a stored pattern, without a search score.
export type StoredFix = Omit<Hit, 'score'> & { retired: boolean };

export type Side = 'before' | 'after';

export function fixPath(hit: Hit, side: Side): string {
  const base = hit.filePath.split('/').pop() || 'fix';
  return `/${encodeURIComponent(hit.patternId)}/${side}/${base}`;
}

export function parseFixPath(path: string): { patternId: string; side: Side } | undefined {
  const m = /^\/([^/]+)\/(before|after)\//.exec(path);
  return m ? { patternId: decodeURIComponent(m[1]), side: m[2] as Side } : undefined;
}

export function fixText(hit: Hit | undefined, side: Side): string {
  if (!hit) return '# This learned fix is no longer in memory: search again.\n';
  const code = side === 'before' ? hit.beforeCode : hit.afterCode;
  return code.endsWith('\n') || code === '' ? code : code + '\n';
}

export function diffTitle(hit: Hit): string {
  return `${subject(hit.commitMsg)} (${hit.filePath}: before ↔ after)`;
}

export function subject(message: string): string {
  return message.split('\n')[0].trim();
}

// One quick pick row: score, message, date, file.
export function pickItem(hit: Hit): { label: string; description: string; detail: string } {
  const day = hit.date ? hit.date.slice(0, 10) : 'undated';
  return {
    label: subject(hit.commitMsg),
    description: `${hit.score.toFixed(2)} · ${day}`,
    detail: `${hit.filePath} · ${rateText(hit.successRate, hit.uses)}`,
  };
}
