# automl: machine learning inside PostgreSQL (PGXS build).
EXTENSION  = automl
EXTVERSION = $(shell grep default_version $(dir $(firstword $(MAKEFILE_LIST)))$(EXTENSION).control | sed -e "s/default_version[[:space:]]*=[[:space:]]*'\([^']*\)'/\1/")

MODULE_big = automl
OBJS = \
	src/automl.o \
	src/common/bytes.o \
	src/common/subxact.o \
	src/common/args.o \
	src/common/shared_struct.o \
	src/common/json.o \
	src/common/budget.o \
	src/data/category.o \
	src/data/digest.o \
	src/data/scan.o \
	src/data/types.o \
	src/prep/checks.o \
	src/prep/prep.o \
	src/prep/raw.o \
	src/prep/choose.o \
	src/prep/profile.o \
	src/learn/learner.o \
	src/learn/metrics.o \
	src/learn/calibration.o \
	src/learn/model.o \
	src/learn/ridge.o \
	src/learn/logistic.o \
	src/learn/tree.o \
	src/learn/tree_bin.o \
	src/learn/tree_hist.o \
	src/learn/tree_grow.o \
	src/learn/tree_shap.o \
	src/learn/gbdt.o \
	src/learn/forest.o \
	src/search/split.o \
	src/search/bins.o \
	src/search/evaluate.o \
	src/search/space.o \
	src/search/search.o \
	src/search/ensemble.o \
	src/search/calibrate.o \
	src/search/importance.o \
	src/search/leakage.o \
	src/search/progress.o \
	src/forecast/frequency.o \
	src/forecast/series.o \
	src/forecast/ets.o \
	src/forecast/optim.o \
	src/forecast/model.o \
	src/forecast/features.o \
	src/forecast/backtest.o \
	src/forecast/global.o \
	src/forecast/trained.o \
	src/registry/catalog.o \
	src/registry/lifecycle.o \
	src/registry/model_format.o \
	src/registry/forecast_format.o \
	src/registry/model_cache.o \
	src/registry/replica.o \
	src/train/request.o \
	src/train/run.o \
	src/train/tabular.o \
	src/train/deploy.o \
	src/train/record.o \
	src/train/statistics.o \
	src/train/forecast.o \
	src/train/retrain.o \
	src/serve/predict.o \
	src/serve/log.o \
	src/serve/log_writer.o \
	src/serve/log_spool.o \
	src/serve/log_ingest.o \
	src/serve/forecast.o \
	src/monitor/stats.o \
	src/monitor/window.o \
	src/monitor/performance.o \
	src/monitor/settings.o \
	src/evaluate/curves.o \
	src/evaluate/slices.o \
	src/evaluate/fairness.o \
	src/evaluate/evaluate.o \
	src/evaluate/card.o \
	src/evaluate/explain.o

# Install scripts (sql/install/): the current version's is built from the pieces (rule
# below); every earlier release's complete script and the upgrade scripts are committed.
DATA_built = sql/install/$(EXTENSION)--$(EXTVERSION).sql
DATA       = sql/install/$(EXTENSION)--0.1.0.sql \
             sql/install/$(EXTENSION)--0.1.0--0.2.0.sql

# pg_regress scripts are sql/*.sql; their output is in expected/.
REGRESS = train predict bad_input bad_input_functions corrupt privileges column_types registry real_data real_categorical trees search bagging monitor retrain evaluate forecast stored_models json_values memory
REGRESS_OPTS = --inputdir=. --load-extension=$(EXTENSION)

# Isolation specs: test/isolation/specs/*.spec, output in test/isolation/expected/.
ISOLATION = $(sort $(notdir $(basename $(wildcard test/isolation/specs/*.spec))))
ISOLATION_OPTS = --inputdir=test/isolation --load-extension=$(EXTENSION)

# TAP tests: test/t/*.pl (PostgreSQL::Test::Cluster starts its own servers, so not as
# root). make installcheck runs them after the two above; make prove_installcheck runs
# only them, PROVE_TESTS=test/t/002_cancel.pl one of them. PROVE_FLAGS: see below.
TAP_TESTS = 1
PROVE_TESTS = test/t/*.pl

# The serial OpenBLAS build (libopenblas-serial-dev): no BLAS thread may live in a backend.
MULTIARCH    ?= $(shell $(CC) -print-multiarch 2>/dev/null)
OPENBLAS_DIR ?= /usr/lib/$(MULTIARCH)/openblas-serial
OPENBLAS_INC ?= /usr/include/$(MULTIARCH)/openblas-serial

PG_CPPFLAGS = -I$(srcdir)/src -I$(OPENBLAS_INC)
PG_CFLAGS   = -Wall -Wextra -Werror -Wno-unused-parameter -Wno-missing-field-initializers -Wno-sign-compare
SHLIB_LINK  = -L$(OPENBLAS_DIR) -Wl,-rpath,$(OPENBLAS_DIR) -lopenblas -lm -lpthread

EXTRA_CLEAN = test/fuzz/fuzz_model_format test/fuzz/fuzz_log_record test/fuzz/*.o

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# (after the include, which empties it) prove prints each file's time; your own flags on
# the command line replace these: make prove_installcheck PROVE_FLAGS='--timer --verbose'
PROVE_FLAGS = --timer

# PGXS runs the TAP tests as part of installcheck; this target runs them alone.
.PHONY: prove_installcheck
prove_installcheck:
	$(prove_installcheck)


# The current version's install script: the catalog, training and serving, then
# evaluation, then the scale-out replica. Every change to these pieces also goes into the upgrade script from the
# previous release (see the head of sql/install/automl.sql).
sql/install/$(EXTENSION)--$(EXTVERSION).sql: sql/install/$(EXTENSION).sql sql/install/evaluation.sql sql/install/scale_out.sql
	cat $^ > $@

# The source folders depend one way, in the order of the data flow (src/README.md).
.PHONY: check-layers
check-layers:
	test/scripts/layers.sh

# The model-format fuzzer runs outside the server (see test/fuzz/README.md).
.PHONY: fuzz
fuzz:
	$(MAKE) -C test/fuzz PG_CONFIG=$(PG_CONFIG)

# Every object depends on every header: a changed interface rebuilds all.
$(OBJS): $(wildcard src/*/*.h)
