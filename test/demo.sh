#!/usr/bin/env bash
# test/demo.sh: install what is missing, build and install the extension, start a throwaway
# cluster (test/setup.sh), then run test/demo.sql: load real datasets shipped in test/data,
# train, predict inside queries, show the catalog. The cluster is stopped on exit.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"   # demo.sql reads test/data/*.csv relative to the checkout

# shellcheck source=test/setup.sh
source "$ROOT/test/setup.sh"
trap cleanup EXIT

printf '\n======== test/demo.sql\n\n'
psql -X -v ON_ERROR_STOP=1 -P pager=off -f "$ROOT/test/demo.sql"
printf '\n======== demo finished\n'
