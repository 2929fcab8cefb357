#!/usr/bin/env bash
# Builds and runs the model-format fuzzer for AUTOML_FUZZ_SECONDS (default 30)
# with a fixed seed, so a failure can be replayed: test/fuzz/fuzz_model_format SECONDS SEED
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
make -s fuzz_model_format PG_CONFIG="${PG_CONFIG:-pg_config}"
./fuzz_model_format "${AUTOML_FUZZ_SECONDS:-30}" "${AUTOML_FUZZ_SEED:-1}"
