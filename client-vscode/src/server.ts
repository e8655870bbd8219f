// Starting and restarting the language server (`python -m pattern_memory serve`).
import * as cp from 'child_process';
import * as vscode from 'vscode';
import { LanguageClient, LanguageClientOptions, ProgressToken, ServerOptions, State, TransportKind } from 'vscode-languageclient/node';
import { PythonExtension } from '@vscode/python-extension';
import { chooseInterpreter, installCommand, isMissingPackage, serverArgs } from './interpreter';
import { initializationOptions, redact, serverOptions } from './settings';

export const TEAM_KEY_SECRET = 'patternMemory.teamApiKey';

export class ServerManager implements vscode.Disposable {
  client: LanguageClient | undefined;
  private python: PythonExtension | undefined;
  private warnedMissing = false;
  private readonly changed = new vscode.EventEmitter<LanguageClient | undefined>();
  readonly onDidChangeClient = this.changed.event;

  constructor(
    private readonly context: vscode.ExtensionContext,
    readonly output: vscode.LogOutputChannel,
    // every $/progress value the server sends (work-done progress), before VS Code shows it
    private readonly onProgress: (token: ProgressToken, value: unknown) => void = () => undefined,
  ) {}

  private async pythonExtension(): Promise<PythonExtension | undefined> {
    if (this.python) return this.python;
    if (!vscode.extensions.getExtension('ms-python.python')) return undefined;
    try {
      this.python = await PythonExtension.api();
      this.context.subscriptions.push(
        this.python.environments.onDidChangeActiveEnvironmentPath(() => {
          if (!config().get<string>('interpreter')) void this.restart('the active Python interpreter changed');
        }),
      );
      return this.python;
    } catch (e) {
      this.output.warn(`Python extension API unavailable: ${e}`);
      return undefined;
    }
  }

  async interpreter(): Promise<string> {
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
    let fromExtension: string | undefined;
    const api = await this.pythonExtension();
    if (api) fromExtension = api.environments.getActiveEnvironmentPath(folder)?.path;
    const choice = chooseInterpreter(config().get<string>('interpreter'), fromExtension);
    this.output.info(`interpreter: ${choice.command} (from ${choice.source})`);
    return choice.command;
  }

  async start(): Promise<void> {
    const python = await this.interpreter();
    if (!(await this.hasPackage(python))) return;
    const teamKey = await this.context.secrets.get(TEAM_KEY_SECRET);
    // TransportKind.stdio appends --stdio, which `serve` accepts
    const run = { command: python, args: serverArgs(), transport: TransportKind.stdio, options: { cwd: vscode.workspace.workspaceFolders?.[0]?.uri.fsPath } };
    const server: ServerOptions = { run, debug: run };
    const clientOptions: LanguageClientOptions = {
      documentSelector: [{ scheme: 'file' }],
      outputChannel: this.output,
      // the trace (patternMemory.trace.server) prints initialize's params: not the key
      traceOutputChannel: redactingChannel(this.output, teamKey),
      initializationOptions: initializationOptions(currentOptions(), teamKey),
      middleware: {
        handleWorkDoneProgress: (token, params, next) => { this.onProgress(token, params); next(token, params); },
      },
    };
    this.client = new LanguageClient('patternMemory', 'Pattern Memory', server, clientOptions);
    try {
      await this.client.start();
    } catch (e) {
      this.output.error(`the server did not start: ${e}`);
    }
    this.changed.fire(this.client);
  }

  // Checked before starting so that a missing package is one clear message, not a crash loop.
  private hasPackage(python: string): Promise<boolean> {
    return new Promise((resolve) => {
      cp.execFile(python, ['-c', 'import pattern_memory'], { timeout: 30000 }, (err, _out, stderr) => {
        if (!err) return resolve(true);
        const missing = isMissingPackage(String(stderr)) || (err as NodeJS.ErrnoException).code === 'ENOENT';
        this.output.error(`${python} cannot run the server: ${String(stderr).trim() || err.message}`);
        if (missing && !this.warnedMissing) {
          this.warnedMissing = true;
          const install = 'Install';
          void vscode.window.showWarningMessage(
            `Pattern Memory needs the pattern-memory package (Python 3.11+) in ${python}.`, install, 'Show Logs',
          ).then((choice) => {
            if (choice === install) {
              const terminal = vscode.window.createTerminal('Pattern Memory: install');
              terminal.show();
              terminal.sendText(installCommand(python));
            } else if (choice) this.output.show();
          });
        }
        resolve(false);
      });
    });
  }

  async restart(reason: string): Promise<void> {
    this.output.info(`restarting: ${reason}`);
    await this.stop();
    await this.start();
  }

  async stop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    this.changed.fire(undefined);
    if (client && client.state !== State.Stopped) await client.stop().catch(() => undefined);
  }

  running(): LanguageClient | undefined {
    return this.client && this.client.state === State.Running ? this.client : undefined;
  }

  dispose(): void { void this.stop(); }
}

// The output channel with `secret` blanked out of everything written to it.
function redactingChannel(channel: vscode.OutputChannel, secret: string | undefined): vscode.OutputChannel {
  return {
    name: channel.name,
    append: (value) => channel.append(redact(value, secret)),
    appendLine: (value) => channel.appendLine(redact(value, secret)),
    replace: (value) => channel.replace(redact(value, secret)),
    clear: () => channel.clear(),
    show: (column?: unknown, preserveFocus?: boolean) => channel.show(typeof column === 'boolean' ? column : preserveFocus),
    hide: () => channel.hide(),
    dispose: () => undefined,  // the real channel belongs to the extension
  };
}

export function config(): vscode.WorkspaceConfiguration {
  return vscode.workspace.getConfiguration('patternMemory');
}

export function currentOptions(): Record<string, unknown> {
  const pkg = vscode.extensions.getExtension('pattern-memory.pattern-memory')?.packageJSON;
  const keys = Object.keys(pkg?.contributes?.configuration?.properties ?? {}).map((k: string) => k.replace(/^patternMemory\./, ''));
  const cfg = config();
  return serverOptions({ keys: () => keys, get: (k) => cfg.get(k) });
}
