#!/usr/bin/env bash
# CLI start-up time on this machine: `portcullis --version`, `portcullis user list` (store opened,
# 20 users) and `serve` until it prints "ready". Median of hyperfine runs (Debian package
# "hyperfine"). Targets: --version and user list under 250 ms, serve ready under 1.5 s.
#   bench/cli-startup.sh [RUNS]        (uses the node on PATH; run `npm run build` first)
set -euo pipefail
HERE="$(cd "$(dirname "$0")/.." && pwd)"
RUNS="${1:-20}"
command -v hyperfine >/dev/null || { echo "cli-startup: install hyperfine (apt-get install hyperfine)" >&2; exit 1; }
W="$(mktemp -d)"
trap 'rm -rf "$W"' EXIT
cat > "$W/config.yaml" <<YAML
dataDir: $W/data
sftp: { port: 0 }
ftps: { port: 0, implicitPort: 0 }
metrics: { port: 0 }
YAML
BIN="node $HERE/bin/portcullis.js"
for i in $(seq 1 20); do echo "password-$i-long-enough" | $BIN user add "u$i" --password-stdin --config "$W/config.yaml" >/dev/null; done
echo "node $(node --version), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
hyperfine --style basic --warmup 2 --runs "$RUNS" --export-json "$W/cli.json" \
  -n "portcullis --version" "$BIN --version" \
  -n "portcullis user list" "$BIN user list --config $W/config.yaml" >/dev/null
# serve: from exec to the "ready" line.
cat > "$W/serve.sh" <<SH
#!/usr/bin/env bash
exec $BIN serve --config "$W/config.yaml" 2>&1 | { while read -r line; do [ "\$line" = ready ] && { pkill -TERM -f "serve --config $W/config.yaml"; break; }; done; cat >/dev/null; }
SH
chmod +x "$W/serve.sh"
hyperfine --style basic --warmup 1 --runs "$(( RUNS < 10 ? RUNS : 10 ))" --export-json "$W/serve.json" -n "portcullis serve (ready)" "$W/serve.sh" >/dev/null
node -e '
const fs = require("fs");
const rows = [...JSON.parse(fs.readFileSync(process.argv[1])).results, ...JSON.parse(fs.readFileSync(process.argv[2])).results];
const target = { "portcullis --version": 250, "portcullis user list": 250, "portcullis serve (ready)": 1500 };
for (const r of rows) {
  const ms = r.median * 1000;
  console.log(`${r.command.padEnd(26)} median ${ms.toFixed(0).padStart(5)} ms  (min ${(r.min * 1000).toFixed(0)}, max ${(r.max * 1000).toFixed(0)})  target < ${target[r.command]} ms ${ms < target[r.command] ? "met" : "NOT met"}`);
}' "$W/cli.json" "$W/serve.json"
