// Pattern Memory for VS Code: a client of `python -m pattern_memory serve`.
import * as vscode from 'vscode';
import { DidChangeConfigurationNotification } from 'vscode-languageclient/node';
import { FixDocuments, registerCommands, serverCommand } from './commands';
import { SCHEME, StoredFix } from './fixdoc';
import { currentOptions, ServerManager } from './server';
import { Status } from './status';
import { LearnedFixes, revealRange } from './views';

let manager: ServerManager | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const output = vscode.window.createOutputChannel('Pattern Memory', { log: true });
  const status = new Status();
  manager = new ServerManager(context, output, (token, value) => status.progress(token, value));
  const docs = new FixDocuments();
  const fixes = new LearnedFixes((id) =>
    serverCommand<StoredFix | null>(manager!, 'patternMemory.get', [{ patternId: id }]).catch((e) => {
      output.warn(`patternMemory.get ${id}: ${e instanceof Error ? e.message : e}`);
      return undefined;
    }));
  context.subscriptions.push(output, manager, status,
    vscode.workspace.registerTextDocumentContentProvider(SCHEME, docs),
    vscode.window.registerTreeDataProvider('patternMemory.learnedFixes', fixes),
    vscode.commands.registerCommand('patternMemory.client.revealFix', revealRange),
    vscode.window.onDidChangeActiveTextEditor(() => fixes.refresh()));

  let countTimer: NodeJS.Timeout | undefined;
  const refreshCount = () => {
    clearTimeout(countTimer);
    countTimer = setTimeout(async () => {
      if (!manager?.running()) return;
      const stats = await serverCommand<{ patterns: number }>(manager, 'patternMemory.stats').catch(() => undefined);
      if (stats) status.setCount(stats.patterns);
    }, 500);
  };
  context.subscriptions.push(vscode.languages.onDidChangeDiagnostics(() => { fixes.refresh(); refreshCount(); }));
  // a server run (indexing, sync) that ended may have learned patterns
  context.subscriptions.push(status.onDidEndRun(() => { refreshCount(); fixes.refresh(); }));
  const poll = setInterval(refreshCount, 30000);
  context.subscriptions.push({ dispose: () => clearInterval(poll) });

  manager.onDidChangeClient((client) => {
    const commands = client?.initializeResult?.capabilities.executeCommandProvider?.commands ?? [];
    // Team sync only when the server offers it.
    void vscode.commands.executeCommand('setContext', 'patternMemory.canSync', commands.includes('patternMemory.sync'));
    if (!client) status.setStopped('Pattern Memory: the server is not running');
    else refreshCount();
  });

  registerCommands(context, manager, docs, async (run) => {
    const result = await status.whileIndexing(run);
    output.info(`indexed: ${JSON.stringify(result)}`);
    refreshCount();
  }, () => { refreshCount(); fixes.refresh(); });

  context.subscriptions.push(vscode.workspace.onDidChangeConfiguration((e) => {
    if (!e.affectsConfiguration('patternMemory') || !manager) return;
    if (e.affectsConfiguration('patternMemory.interpreter')) { void manager.restart('patternMemory.interpreter changed'); return; }
    const client = manager.running();
    if (client) void client.sendNotification(DidChangeConfigurationNotification.type, { settings: { patternMemory: currentOptions() } });
  }));

  await manager.start();
}

export async function deactivate(): Promise<void> {
  await manager?.stop();
}
