// Which Python runs the server: the user's setting, else the Python extension's active
// interpreter, else python3. Pure: the caller looks the candidates up.
export interface InterpreterChoice {
  command: string;
  source: 'setting' | 'python extension' | 'default';
}

export function chooseInterpreter(setting: string | undefined, fromPythonExtension: string | undefined): InterpreterChoice {
  if (setting && setting.trim()) return { command: setting.trim(), source: 'setting' };
  if (fromPythonExtension && fromPythonExtension.trim()) return { command: fromPythonExtension.trim(), source: 'python extension' };
  return { command: 'python3', source: 'default' };
}

export function serverArgs(): string[] {
  return ['-m', 'pattern_memory', 'serve'];
}

// What a user runs when the package is missing from the chosen interpreter.
export function installCommand(python: string): string {
  const quoted = /[\s'"]/.test(python) ? `"${python.replace(/"/g, '\\"')}"` : python;
  return `${quoted} -m pip install pattern-memory`;
}

// The server exits at once with this in stderr when the interpreter lacks the package.
export function isMissingPackage(stderr: string): boolean {
  return /No module named pattern_memory\b/.test(stderr);
}
