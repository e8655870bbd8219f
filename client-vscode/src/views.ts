// "Learned Fixes": the fixes the server found in the open file (its diagnostics), with
// their success rates; a click reveals the range.
import * as vscode from 'vscode';
import { Hit, subject } from './fixdoc';

export const SOURCE = 'pattern-memory';

export class LearnedFixes implements vscode.TreeDataProvider<vscode.Diagnostic> {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly rates = new Map<string, number>();
  constructor(private readonly lookup: (d: vscode.Diagnostic) => Promise<Hit | undefined>) {}

  refresh(): void { this.changed.fire(); }

  getChildren(): vscode.Diagnostic[] {
    const editor = vscode.window.activeTextEditor;
    if (!editor) return [];
    return vscode.languages.getDiagnostics(editor.document.uri).filter((d) => d.source === SOURCE);
  }

  getTreeItem(d: vscode.Diagnostic): vscode.TreeItem {
    const id = patternId(d);
    const item = new vscode.TreeItem(subject(d.message));
    const rate = id ? this.rates.get(id) : undefined;
    if (id && rate === undefined) void this.lookup(d).then((hit) => { if (hit) { this.rates.set(id, hit.successRate); this.refresh(); } });
    item.description = `line ${d.range.start.line + 1}` + (rate === undefined ? '' : ` · ${Math.round(rate * 100)}% success`);
    item.iconPath = new vscode.ThemeIcon('lightbulb');
    item.command = { title: 'Reveal', command: 'patternMemory.client.revealFix', arguments: [d.range] };
    return item;
  }
}

export function patternId(d: vscode.Diagnostic): string | undefined {
  const data = (d as unknown as { data?: { patternId?: string } }).data;
  return data?.patternId;
}

export function revealRange(range: vscode.Range): void {
  const editor = vscode.window.activeTextEditor;
  if (!editor) return;
  editor.selection = new vscode.Selection(range.start, range.end);
  editor.revealRange(range, vscode.TextEditorRevealType.InCenterIfOutsideViewport);
}
