#!/usr/bin/env bash
# The integrator's lint pass over the folders `make lint` does not enforce yet (runtime/, ui/, tests/, bench/),
# to run once every branch of issue 11 is merged. It applies ruff's safe fixes (import order, unused imports,
# empty f-strings), then lists what is left for a person: ruff's other findings and mypy's errors, by module.
# When both lists are empty, drop the four folders from [tool.ruff] extend-exclude and delete the
# `ignore_errors = true` override in pyproject.toml: from then on `make lint` holds them too.
#
#   tools/lint_fix.sh                  fix what is safe, then report
#   tools/lint_fix.sh --zip-strict     also write strict=False into each bare zip() (B905): what zip() does today
#   tools/lint_fix.sh --report         change nothing, report only
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
FOLDERS=(platform/runtime platform/ui tests bench)
fix=1 zip_strict=0
for arg in "$@"; do
  case "$arg" in
    --report) fix=0 ;;
    --zip-strict) zip_strict=1 ;;
    *) echo "usage: $0 [--report] [--zip-strict]" >&2; exit 2 ;;
  esac
done

# Paths named on the command line are linted even though pyproject excludes them (ruff's force-exclude is off).
if [ "$fix" = 1 ]; then
  "$BIN/ruff" check --fix --exit-zero --quiet "${FOLDERS[@]}" > /dev/null
  if [ "$zip_strict" = 1 ]; then
    "$BIN/ruff" check --select B905 --fix --unsafe-fixes --exit-zero --quiet "${FOLDERS[@]}" > /dev/null
  fi
fi

echo "== ruff: left after the automatic fixes (rule counts, then each finding)"
"$BIN/ruff" check --statistics --exit-zero "${FOLDERS[@]}"
"$BIN/ruff" check --output-format concise --exit-zero "${FOLDERS[@]}" | grep -E '^[^ ]+:[0-9]+:[0-9]+: ' | sort || true

# mypy with runtime/ and ui/ enforced: the same configuration less the override that silences them.
config=$(mktemp --suffix=.toml)
trap 'rm -f "$config"' EXIT
sed -e '/^module = \["atrium.runtime.\*", "atrium.ui.\*"\]$/{n;s/^ignore_errors = true$/ignore_errors = false/}' \
  -e "s#\\\$MYPY_CONFIG_FILE_DIR#$PWD#" pyproject.toml > "$config"
echo
echo "== mypy with runtime/ and ui/ enforced: errors by package, by error code, then each error"
"$BIN/mypy" --config-file "$config" > "$config.out" 2>&1 || true
grep ': error:' "$config.out" | sed 's#^typecheck/atrium/#platform/#' | cut -d/ -f2-3 | sort | uniq -c | sort -rn || true
grep -o '\[[a-z-]*\]$' "$config.out" | sort | uniq -c | sort -rn || true
sed 's#^typecheck/atrium/#platform/#' "$config.out"
rm -f "$config.out"
