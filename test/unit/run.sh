#!/usr/bin/env bash
# Builds and runs the learners' unit tests (see test_explain.c); exits
# non-zero when one fails.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
make -s test_explain PG_CONFIG="${PG_CONFIG:-pg_config}"
./test_explain
