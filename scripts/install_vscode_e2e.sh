#!/usr/bin/env bash
# Installs what tests/editors/test_vscode.py needs, cached between runs on the same machine:
# Debian's build tools + chromium (when root), code-server 4.100.3 built from npm (no GitHub
# downloads: see ../shared/recipes/editors), playwright-core, and the extension's npm packages.
# Usage: bash scripts/install_vscode_e2e.sh   (prints nothing on success; warnings on stderr)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${PATTERN_MEMORY_CI_CACHE:-$HOME/.cache/pattern-memory-ci}
CS_DIR=$CACHE/code-server-4.100.3
DEBS="build-essential pkg-config python3 libkrb5-dev libx11-dev libxkbfile-dev libsecret-1-dev ripgrep chromium"
if ! command -v chromium >/dev/null || ! command -v rg >/dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $DEBS >/dev/null
    else
        echo "skip: chromium/ripgrep missing and not root: the VS Code e2e test will be skipped" >&2
        exit 0
    fi
fi
if [ ! -f "$CS_DIR/.done" ]; then
    rm -rf "$CS_DIR" && mkdir -p "$CS_DIR" && cd "$CS_DIR"
    echo '{"name":"cs-host","private":true}' > package.json
    # --ignore-scripts: code-server's postinstall would die on @vscode/ripgrep's GitHub download
    npm install -s --no-audit --no-fund --ignore-scripts code-server@4.100.3 playwright-core@1.52.0
    npm rebuild -s argon2
    cd node_modules/code-server/lib/vscode
    npm install -s --no-audit --no-fund --omit=dev --ignore-scripts
    mkdir -p node_modules/@vscode/ripgrep/bin && cp "$(command -v rg)" node_modules/@vscode/ripgrep/bin/rg
    npm_config_yes=true npm rebuild -s
    ln -sfn node_modules node_modules.asar
    (cd bin/remote-cli && ln -sfn code-linux.sh code-server)
    (cd bin/helpers && ln -sfn browser-linux.sh browser.sh)
    (cd extensions && npm install -s --no-audit --no-fund --omit=dev)
    touch "$CS_DIR/.done"
fi
# the extension: npm ci from the committed lock file, bundle, package (vsix lands in client-vscode/)
cd "$ROOT/client-vscode"
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    npm ci -s --no-audit --no-fund
fi
# quiet on success (esbuild and vsce report on stderr); their output when packaging fails
if ! out=$(npm run -s package 2>&1); then echo "$out" >&2; exit 1; fi
