// The server's work-done progress ($/progress), tracked per token, so that the status bar
// spins while any server run is under way, whoever started it (indexOnStart, the palette's
// Index command, a team sync). Pure: status.ts renders it.
export interface Run {
  title: string;
  message?: string;
  percentage?: number;
}

export class ProgressRuns {
  private readonly runs = new Map<string, Run>();

  // Applies one $/progress value; true when the runs changed. Values that are not work-done
  // progress (partial results) are ignored.
  update(token: string | number, value: unknown): boolean {
    if (!value || typeof value !== 'object') return false;
    const v = value as { kind?: unknown; title?: unknown; message?: unknown; percentage?: unknown };
    const key = String(token);
    const message = typeof v.message === 'string' ? v.message : undefined;
    const percentage = typeof v.percentage === 'number' ? v.percentage : undefined;
    if (v.kind === 'begin') {
      this.runs.set(key, { title: typeof v.title === 'string' ? v.title : 'Pattern Memory', message, percentage });
      return true;
    }
    const run = this.runs.get(key);
    if (!run) return false;
    if (v.kind === 'report') {
      if (message !== undefined) run.message = message;
      if (percentage !== undefined) run.percentage = percentage;
      return true;
    }
    if (v.kind === 'end') return this.runs.delete(key);
    return false;
  }

  clear(): void { this.runs.clear(); }

  get busy(): boolean { return this.runs.size > 0; }

  // The run begun last (what the status bar describes).
  latest(): Run | undefined {
    let last: Run | undefined;
    for (const run of this.runs.values()) last = run;
    return last;
  }
}

// The status bar's text and tooltip: the count, a spinner and the percentage while busy.
export function statusText(count: number | undefined, run: Run | undefined, clientBusy: boolean): { text: string; tooltip: string } {
  const n = count === undefined ? '…' : String(count);
  if (!run && !clientBusy) return { text: `$(history) ${n} patterns`, tooltip: 'Pattern Memory: search learned fixes' };
  const pct = run?.percentage === undefined ? '' : ` ${run.percentage}%`;
  const what = run ? `${run.title}${run.message ? ` (${run.message})` : ''}` : 'Pattern Memory: indexing the git history';
  return { text: `$(sync~spin) ${n} patterns${pct}`, tooltip: `${what}…` };
}
