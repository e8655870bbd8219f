// "Learned Fixes": the fixes the server found in the open file (its diagnostics), each with
// its pattern's success rate (patternMemory.get by the diagnostic's pattern id); a click
// reveals the range.
import * as vscode from 'vscode';
import { StoredFix, subject } from './fixdoc';
import { fixDescription } from './messages';

export const SOURCE = 'pattern-memory';

export class LearnedFixes implements vscode.TreeDataProvider<vscode.Diagnostic> {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.changed.event;
  // pattern id -> the stored fix (null: the server no longer has it); cleared on refresh so
  // that rates recorded since show up
  private readonly patterns = new Map<string, StoredFix | null>();
  private readonly pending = new Set<string>();
  constructor(private readonly lookup: (patternId: string) => Promise<StoredFix | null | undefined>) {}

  refresh(): void { this.patterns.clear(); this.changed.fire(); }

  getChildren(): vscode.Diagnostic[] {
    const editor = vscode.window.activeTextEditor;
    if (!editor) return [];
    return vscode.languages.getDiagnostics(editor.document.uri).filter((d) => d.source === SOURCE);
  }

  getTreeItem(d: vscode.Diagnostic): vscode.TreeItem {
    const id = patternId(d);
    const item = new vscode.TreeItem(subject(d.message));
    const stored = id ? this.patterns.get(id) : undefined;
    if (id && stored === undefined) this.fetch(id);
    item.description = fixDescription(d.range.start.line, stored);
    item.tooltip = stored ? `${stored.commitMsg}\n\n${stored.filePath} · ${stored.date.slice(0, 10)}` : d.message;
    item.iconPath = new vscode.ThemeIcon('lightbulb');
    item.command = { title: 'Reveal', command: 'patternMemory.client.revealFix', arguments: [d.range] };
    return item;
  }

  private fetch(id: string): void {
    if (this.pending.has(id)) return;
    this.pending.add(id);
    void this.lookup(id).then((stored) => {
      this.pending.delete(id);
      if (stored === undefined) return;  // the server is not running: try on the next refresh
      this.patterns.set(id, stored);
      this.changed.fire();
    });
  }
}

export function patternId(d: vscode.Diagnostic): string | undefined {
  const data = (d as unknown as { data?: { patternId?: string } }).data;
  return data?.patternId;
}

export function revealRange(range: vscode.Range): void {
  const editor = vscode.window.activeTextEditor;
  if (!editor) return;
  // the cursor at the start: the status bar's "Ln" is where the repeated bug begins
  editor.selection = new vscode.Selection(range.end, range.start);
  editor.revealRange(range, vscode.TextEditorRevealType.InCenterIfOutsideViewport);
  void vscode.window.showTextDocument(editor.document, editor.viewColumn);
}
