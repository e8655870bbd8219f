// The palette's commands: each one a call to the server's workspace/executeCommand.
import * as vscode from 'vscode';
import { ExecuteCommandRequest } from 'vscode-languageclient/node';
import { diffTitle, fixPath, Hit, parseFixPath, fixText, pickItem, SCHEME } from './fixdoc';
import { statsMessage, syncSummary } from './messages';
import { ServerManager, TEAM_KEY_SECRET } from './server';

export async function serverCommand<T>(manager: ServerManager, command: string, args: unknown[] = []): Promise<T> {
  const client = manager.running();
  if (!client) throw new Error('the Pattern Memory server is not running (see Pattern Memory: Show Logs)');
  return client.sendRequest(ExecuteCommandRequest.type, { command, arguments: args }) as Promise<T>;
}

// Read-only before/after documents of learned fixes, kept for the session.
export class FixDocuments implements vscode.TextDocumentContentProvider {
  private readonly hits = new Map<string, Hit>();
  remember(hit: Hit): void { this.hits.set(hit.patternId, hit); }
  provideTextDocumentContent(uri: vscode.Uri): string {
    const parsed = parseFixPath(uri.path);
    return parsed ? fixText(this.hits.get(parsed.patternId), parsed.side) : '';
  }
  async open(hit: Hit): Promise<void> {
    this.remember(hit);
    const left = vscode.Uri.from({ scheme: SCHEME, path: fixPath(hit, 'before') });
    const right = vscode.Uri.from({ scheme: SCHEME, path: fixPath(hit, 'after') });
    await vscode.commands.executeCommand('vscode.diff', left, right, diffTitle(hit), { preview: true });
  }
}

type HitItem = vscode.QuickPickItem & { hit: Hit };

async function search(manager: ServerManager, docs: FixDocuments): Promise<void> {
  const pick = vscode.window.createQuickPick<HitItem>();
  pick.title = 'Pattern Memory: Search Learned Fixes';
  pick.placeholder = 'Describe a bug or paste code';
  pick.matchOnDescription = true;
  pick.matchOnDetail = true;
  let generation = 0;
  let timer: NodeJS.Timeout | undefined;
  const query = (text: string) => {
    const mine = ++generation;
    if (!text.trim()) { pick.items = []; return; }
    pick.busy = true;
    serverCommand<Hit[]>(manager, 'patternMemory.search', [{ text, k: 20 }]).then((hits) => {
      if (mine !== generation) return;  // a newer query is under way
      // the server already ranked them: keep its order whatever the typed text matches
      pick.items = hits.map((hit) => ({ ...pickItem(hit), hit, alwaysShow: true }));
    }, (e) => { if (mine === generation) pick.items = [{ label: `$(error) ${e.message ?? e}`, hit: undefined as unknown as Hit }]; })
      .finally(() => { if (mine === generation) pick.busy = false; });
  };
  pick.onDidChangeValue((text) => { clearTimeout(timer); timer = setTimeout(() => query(text), 150); });
  pick.onDidAccept(async () => {
    const chosen = pick.selectedItems[0];
    if (!chosen?.hit) return;
    pick.hide();
    await docs.open(chosen.hit);
  });
  pick.onDidHide(() => { clearTimeout(timer); pick.dispose(); });
  pick.show();
}

async function forge(manager: ServerManager, learned: () => void): Promise<void> {
  const editor = vscode.window.activeTextEditor;
  let text = editor && !editor.selection.isEmpty ? editor.document.getText(editor.selection) : '';
  const from = text ? 'selection' : 'clipboard';
  if (!text) text = await vscode.env.clipboard.readText();
  if (!text.trim()) { void vscode.window.showInformationMessage('Pattern Memory: select an answer or copy it first.'); return; }
  const ids = await serverCommand<string[]>(manager, 'patternMemory.forge', [{ response: text }]);
  if (ids.length) learned();
  void vscode.window.showInformationMessage(ids.length
    ? `Pattern Memory: forged ${ids.length} pattern${ids.length > 1 ? 's' : ''} from the ${from}.`
    : `Pattern Memory: no before/after fix found in the ${from}.`);
}

async function copyBlock(manager: ServerManager): Promise<void> {
  const query = await vscode.window.showInputBox({ title: 'Pattern Memory: <learned-patterns> block', prompt: 'What is the assistant asked to do?' });
  if (!query) return;
  const block = await serverCommand<string>(manager, 'patternMemory.injectBlock', [{ query }]);
  await vscode.env.clipboard.writeText(block);
  void vscode.window.showInformationMessage(block ? 'Pattern Memory: block copied to the clipboard.' : 'Pattern Memory: no learned pattern fits; copied an empty block.');
}

async function stats(manager: ServerManager): Promise<void> {
  const result = await serverCommand<Record<string, unknown>>(manager, 'patternMemory.stats');
  manager.output.info(`stats: ${JSON.stringify(result, null, 2)}`);
  manager.output.show(true);
  void vscode.window.showInformationMessage(statsMessage(result));
}

async function setTeamKey(manager: ServerManager, context: vscode.ExtensionContext): Promise<void> {
  const key = await vscode.window.showInputBox({ title: 'Pattern Memory: team API key', prompt: 'Kept in VS Code\'s secret storage; empty removes it.', password: true, ignoreFocusOut: true });
  if (key === undefined) return;
  if (key) await context.secrets.store(TEAM_KEY_SECRET, key); else await context.secrets.delete(TEAM_KEY_SECRET);
  await manager.restart('the team API key changed');  // the key goes to the server at start
}

export function registerCommands(
  context: vscode.ExtensionContext, manager: ServerManager, docs: FixDocuments,
  indexing: (run: () => Promise<unknown>) => Promise<void>,
  learned: () => void,  // the memory changed: the count and the view are refreshed
): void {
  const guarded = (fn: () => Promise<unknown>) => async () => {
    try { await fn(); } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      manager.output.error(message);
      void vscode.window.showErrorMessage(`Pattern Memory: ${message}`);
    }
  };
  const on = (name: string, fn: () => Promise<unknown>) =>
    context.subscriptions.push(vscode.commands.registerCommand(`patternMemory.client.${name}`, guarded(fn)));
  on('indexWorkspace', () => indexing(() => serverCommand(manager, 'patternMemory.indexWorkspace')));
  on('search', () => search(manager, docs));
  on('forge', () => forge(manager, learned));
  on('copyInjectBlock', () => copyBlock(manager));
  on('stats', () => stats(manager));
  on('setTeamApiKey', () => setTeamKey(manager, context));
  on('sync', async () => {
    const result = await serverCommand<unknown>(manager, 'patternMemory.sync');
    learned();
    void vscode.window.showInformationMessage(`Pattern Memory: synced with the team${syncSummary(result)}.`);
  });
  on('restart', () => manager.restart('asked by the user'));
  on('showLogs', async () => manager.output.show());
}
