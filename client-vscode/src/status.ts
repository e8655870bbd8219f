// The status bar item: the pattern count, a spinner while the server works (its $/progress)
// or a palette command waits on it; a click opens the search.
import * as vscode from 'vscode';
import { ProgressRuns, statusText } from './progress';

export class Status implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('patternMemory.status', vscode.StatusBarAlignment.Right, 100);
  private readonly runs = new ProgressRuns();
  private readonly ended = new vscode.EventEmitter<void>();
  // A server run finished: what it learned changes the count.
  readonly onDidEndRun = this.ended.event;
  private count: number | undefined;
  private indexing = 0;
  private stopped: string | undefined;
  constructor() {
    this.item.name = 'Pattern Memory';
    this.item.command = 'patternMemory.client.search';
    this.render();
    this.item.show();
  }
  setCount(count: number | undefined): void { this.count = count; this.stopped = undefined; this.render(); }
  setStopped(message: string): void { this.stopped = message; this.runs.clear(); this.render(); }
  // Fed by the language client's handleWorkDoneProgress middleware.
  progress(token: string | number, value: unknown): void {
    const wasBusy = this.runs.busy;
    if (!this.runs.update(token, value)) return;
    this.render();
    if (wasBusy && !this.runs.busy) this.ended.fire();
  }
  async whileIndexing<T>(work: () => Promise<T>): Promise<T> {
    this.indexing++; this.render();
    try { return await work(); } finally { this.indexing--; this.render(); }
  }
  private render(): void {
    if (this.stopped) { this.item.text = '$(circle-slash) Patterns'; this.item.tooltip = this.stopped; return; }
    const { text, tooltip } = statusText(this.count, this.runs.latest(), this.indexing > 0);
    this.item.text = text;
    this.item.tooltip = tooltip;
  }
  dispose(): void { this.item.dispose(); this.ended.dispose(); }
}
