#!/usr/bin/env bash
# console.e2e (ctest): a store from `tuttle replay` of the bundled sample, `tuttle serve` over it
# with a tokens file, and tests/console/e2e.mjs in headless Chromium against it.
#   run_e2e.sh TUTTLE_BINARY [--screenshots DIR]
# Exit 77 (ctest SKIP_RETURN_CODE) when node, Chromium or tests/console/node_modules are absent:
# .ci/install-deps installs them.
set -euo pipefail
tuttle="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"; shift
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
chromium="${CHROMIUM:-/usr/bin/chromium}"
if ! command -v node >/dev/null; then echo "SKIP: node is not installed (.ci/install-deps)"; exit 77; fi
if [ ! -x "$chromium" ]; then echo "SKIP: no Chromium at $chromium (apt-get install chromium)"; exit 77; fi
if [ ! -d "$here/node_modules/playwright-core" ]; then
  echo "SKIP: tests/console/node_modules is missing (npm ci --prefix tests/console)"; exit 77
fi

work="$(mktemp -d)"
serve_pid=""
cleanup() {
  if [ -n "$serve_pid" ]; then kill "$serve_pid" 2>/dev/null || true; wait "$serve_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

# From the root, so evidence positions name the sample as the repository does.
(cd "$root" && "$tuttle" replay -s "$work/store" ingest/samples/attack-story.jsonl >/dev/null 2>"$work/replay.log")
token="console-e2e-$RANDOM$RANDOM"
printf '%s\n' "$token" >"$work/analyst.token"
cat >"$work/tokens.yaml" <<YAML
tokens:
  - name: analyst
    token_file: analyst.token
    tenants: ["*"]
    role: write
YAML
"$tuttle" serve -s "$work/store" --listen 127.0.0.1:0 --api-tokens "$work/tokens.yaml" \
  >"$work/serve.out" 2>"$work/serve.err" &
serve_pid=$!
url=""
for _ in $(seq 1 100); do
  url="$(sed -n 's/^listening //p' "$work/serve.out")"
  [ -n "$url" ] && break
  if ! kill -0 "$serve_pid" 2>/dev/null; then cat "$work/serve.err"; exit 1; fi
  sleep 0.1
done
if [ -z "$url" ]; then echo "tuttle serve did not start"; cat "$work/serve.err"; exit 1; fi
echo "tuttle serve at $url"
node "$here/e2e.mjs" --url "$url" --token "$token" "$@"
