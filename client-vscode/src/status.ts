// The status bar item: the pattern count, a spinner while indexing; a click opens the search.
import * as vscode from 'vscode';

export class Status implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('patternMemory.status', vscode.StatusBarAlignment.Right, 100);
  private count: number | undefined;
  private indexing = 0;
  constructor() {
    this.item.name = 'Pattern Memory';
    this.item.command = 'patternMemory.client.search';
    this.render();
    this.item.show();
  }
  setCount(count: number | undefined): void { this.count = count; this.render(); }
  setStopped(message: string): void { this.item.text = '$(circle-slash) Patterns'; this.item.tooltip = message; }
  async whileIndexing<T>(work: () => Promise<T>): Promise<T> {
    this.indexing++; this.render();
    try { return await work(); } finally { this.indexing--; this.render(); }
  }
  private render(): void {
    const n = this.count === undefined ? '…' : String(this.count);
    this.item.text = this.indexing ? `$(sync~spin) ${n} patterns` : `$(history) ${n} patterns`;
    this.item.tooltip = this.indexing ? 'Pattern Memory: indexing the git history…' : 'Pattern Memory: search learned fixes';
  }
  dispose(): void { this.item.dispose(); }
}
