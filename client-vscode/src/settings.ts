// package.json's patternMemory.* settings -> the server's options (camelCase keys, as in
// settings.py). Client-only keys stay here; an empty dbPath means the server's default.
export const CLIENT_ONLY_KEYS = new Set(['interpreter', 'trace']);

export interface ConfigReader {
  keys(): string[];
  get(key: string): unknown;
}

export function serverOptions(config: ConfigReader): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of config.keys()) {
    if (CLIENT_ONLY_KEYS.has(key.split('.')[0])) continue;
    const value = config.get(key);
    if (value === undefined) continue;
    if (key === 'dbPath' && (value === '' || value === null)) continue;
    if (key === 'teamUrl' && value === '') { out[key] = null; continue; }
    out[key] = value;
  }
  return out;
}

// initializationOptions: the settings under the section the server reads, the team key beside
// it (outside the section: not a setting, never written to settings.json).
export function initializationOptions(options: Record<string, unknown>, teamApiKey: string | undefined): Record<string, unknown> {
  const init: Record<string, unknown> = { patternMemory: options };
  if (teamApiKey) init.teamApiKey = teamApiKey;
  return init;
}

// The keys package.json declares, read from its contributes.configuration.
export function declaredKeys(pkg: { contributes: { configuration: { properties: Record<string, unknown> } } }): string[] {
  return Object.keys(pkg.contributes.configuration.properties).map((k) => k.replace(/^patternMemory\./, ''));
}

// A trace line with the team key blanked out (the verbose trace prints initialize's params).
export const REDACTED = '<redacted>';
export function redact(text: string, secret: string | undefined): string {
  return secret ? text.split(secret).join(REDACTED) : text;
}
