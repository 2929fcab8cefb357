/*
 * fuzz_model_format.c: feeds mutated model bytes to model_deserialize.
 *
 * Built two ways (see Makefile): with libFuzzer (clang, -DUSE_LIBFUZZER), or
 * as a standalone program with its own seeded mutation loop, under
 * AddressSanitizer and UBSan either way. Every input must either load or
 * raise an error; a crash, an out-of-bounds read or undefined behaviour
 * fails. A model that loads must also predict and serialise back to exactly
 * the bytes it came from.
 *
 * Seeds are real models: ridge, binary and multiclass logistic, fitted here
 * on small made-up data and serialised by the extension's own code.
 */
#include "postgres.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "common/bytes.h"
#include "data/frame.h"
#include "prep/prep.h"
#include "pg_shim.h"
#include "port/pg_crc32c.h"
#include "utils/pg_crc.h"
#include "forecast/forecast.h"
#include "registry/registry.h"

#define HEADER_SIZE 32

/*
 * A loaded model must write back exactly the bytes it was read from: the
 * whole of them, or, for an older format it still reads (2), the same
 * payload under the current header.
 */
static void
expect_same_bytes(const uint8 *data, size_t size, const bytea *again, const char *what)
{
	size_t		again_len = VARSIZE(again) - VARHDRSZ;
	size_t		at = 0;

	if (again_len == size && memcmp(VARDATA(again), data, size) == 0)
		return;
	if (again_len == size && size >= HEADER_SIZE && data[8] < MODEL_FORMAT_VERSION &&
		memcmp((const uint8 *) VARDATA(again) + HEADER_SIZE, data + HEADER_SIZE, size - HEADER_SIZE) == 0)
		return;
	while (at < size && at < again_len && ((const uint8 *) VARDATA(again))[at] == data[at])
		at++;
	fprintf(stderr, "a loaded %s does not serialise back to its bytes (length %zu, differs at %zu)\n",
			what, size, at);
	abort();
}

static int
try_load(const uint8 *data, size_t size)
{
	jmp_buf		jump;
	volatile int loaded = 0;

	shim_set_error_jump(&jump);
	if (setjmp(jump) == 0)
	{
		Model	   *model = model_deserialize((const char *) data, size);
		RawValue   *raw = palloc0(sizeof(RawValue) * model->prep->n_columns);
		double	   *x = palloc(sizeof(double) * model_input_width(model));
		double	   *out = palloc(sizeof(double) * (model->n_classes > 0 ? model->n_classes : 1));
		bytea	   *again;

		raw[0].isnull = true;	/* a missing value, then unseen levels */
		for (int c = 1; c < model->prep->n_columns; c++)
			raw[c].level = PREP_LEVEL_OTHER;
		model_predict_raw(model, raw, x, out);

		again = model_serialize(model);
		expect_same_bytes(data, size, again, "model");
		loaded = 1;
	}
	shim_set_error_jump(NULL);
	shim_free_all();
	return loaded;
}

/* A forecast model's bytes: load, forecast every series, and write back the same bytes. */
static int
try_load_forecast(const uint8 *data, size_t size)
{
	jmp_buf		jump;
	volatile int loaded = 0;

	shim_set_error_jump(&jump);
	if (setjmp(jump) == 0)
	{
		ForecastModel *model = forecast_model_deserialize((const char *) data, size);
		double		out[3];
		bytea	   *again;

		for (int s = 0; s < model->n_series; s++)
			forecast_model_predict(model, &model->series[s], 3, out);
		again = forecast_model_serialize(model);
		expect_same_bytes(data, size, again, "forecast model");
		loaded = 1;
	}
	shim_set_error_jump(NULL);
	shim_free_all();
	return loaded;
}

/* The payload's first byte tells a forecast model from a row model. */
static int
try_any(const uint8 *data, size_t size)
{
	if (size > HEADER_SIZE && data[HEADER_SIZE] == MODEL_TASK_FORECAST)
		return try_load_forecast(data, size);
	return try_load(data, size);
}

int			LLVMFuzzerTestOneInput(const uint8 *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8 *data, size_t size)
{
	try_any(data, size);
	return 0;
}

/* ---- seeds ---- */

typedef struct Seed
{
	uint8	   *bytes;
	size_t		len;
} Seed;

/*
 * A small frame with every kind of column: numbers with gaps, a category
 * one-hot encoded (with NULLs), one frequency encoded, and timestamps.
 */
static Frame *
make_frame(int n)
{
	Frame	   *frame = palloc0(sizeof(Frame));
	char		buf[32];

	frame->relation_name = "fuzz";
	frame->n_rows = frame->n_rows_seen = n;
	frame->n_columns = 4;
	frame->columns = palloc0(sizeof(FrameColumn) * 4);

	frame->columns[0].name = "x";
	frame->columns[0].kind = FEATURE_NUMERIC;
	frame->columns[0].values = palloc(sizeof(double) * n);
	frame->columns[1].name = "color";
	frame->columns[1].kind = FEATURE_CATEGORICAL;
	frame->columns[1].codes = palloc(sizeof(int32) * n);
	frame->columns[1].dict = category_dict_create(NULL, 0);
	frame->columns[2].name = "city";
	frame->columns[2].kind = FEATURE_CATEGORICAL;
	frame->columns[2].codes = palloc(sizeof(int32) * n);
	frame->columns[2].dict = category_dict_create(NULL, 0);
	frame->columns[3].name = "seen_at";
	frame->columns[3].kind = FEATURE_DATETIME;
	frame->columns[3].values = palloc(sizeof(double) * n);
	for (int i = 0; i < n; i++)
	{
		static const char *const colors[] = {"red", "green", "blue", "grey"};

		frame->columns[0].values[i] = (i % 9 == 0) ? NAN : sin(i * 0.37);
		frame->columns[1].codes[i] = (i % 11 == 0) ? -1 :
			category_dict_code(frame->columns[1].dict, colors[i % 4], (int) strlen(colors[i % 4]));
		snprintf(buf, sizeof(buf), "city %d", i % 40);
		frame->columns[2].codes[i] = category_dict_code(frame->columns[2].dict, buf, (int) strlen(buf));
		frame->columns[3].values[i] = 1.6e9 + i * 5000.0;
	}
	return frame;
}

/* One model of the learner fitted on frame, as training would fit it. */
static Model *
fit_seed_model(Frame *frame, int n, Task task, int n_classes, const Learner *learner)
{
	PrepWarnings warnings;
	int64	   *rows = palloc(sizeof(int64) * n);
	double	   *X;
	double	   *y = palloc(sizeof(double) * n);
	int		   *label = palloc(sizeof(int) * n);
	double		hp[32];
	Dataset		data;
	Model	   *model = palloc0(sizeof(Model));
	static char *classes[3] = {"no", "yes", "maybe"};

	for (int i = 0; i < n; i++)
	{
		rows[i] = i;
		y[i] = 2.0 * sin(i * 0.37) - (i % 4);
		label[i] = task == TASK_CLASSIFICATION ? (int) (i % n_classes) : 0;
	}
	prep_warnings_init(&warnings);
	model->prep = prep_choose_features(frame, &warnings);
	model->prep->for_trees = learner->raw_inputs;
	prep_fit(model->prep, frame, rows, n);
	X = palloc(sizeof(double) * n * model->prep->n_outputs);
	prep_apply_frame(model->prep, frame, rows, n, X);

	memset(&data, 0, sizeof(data));
	data.task = task;
	data.n_rows = n;
	data.n_features = model->prep->n_outputs;
	data.X = X;
	data.y = y;
	data.label = label;
	data.n_classes = task == TASK_CLASSIFICATION ? n_classes : 0;
	data.class_weight = NULL;
	data.n_categories = NULL;
	if (model->prep->for_trees)
	{
		int		   *categories = palloc(sizeof(int) * model->prep->n_outputs);

		for (int o = 0; o < model->prep->n_outputs; o++)
			categories[o] = prep_output_categories(model->prep, o);
		data.n_categories = categories;
	}

	model->task = task;
	model->learner = learner;
	for (int i = 0; i < learner->n_hyperparams; i++)
		hp[i] = learner->hyperparams[i].default_value;
	if (learner->raw_inputs)
		hp[0] = 5;				/* n_estimators: small seeds mutate faster */
	model->n_classes = data.n_classes;
	model->classes = classes;
	model->learner_state = learner->fit(&data, hp, NULL);
	return model;
}

/*
 * A seed: one learner's model, or with second set an ensemble of two
 * (0.6 / 0.4); with calibration set ("platt", "isotonic"), calibrated on its
 * own predictions.
 */
static Seed
make_seed(Task task, int n_classes, const Learner *learner, const Learner *second,
		  const char *calibration)
{
	jmp_buf		jump;
	Seed		seed = {NULL, 0};
	int			n = 240;
	Frame	   *frame;
	Model	   *model;

	shim_set_error_jump(&jump);
	if (setjmp(jump) != 0)
	{
		fprintf(stderr, "fitting a seed model failed\n");
		abort();
	}
	frame = make_frame(n);
	model = fit_seed_model(frame, n, task, n_classes, learner);
	if (second != NULL)
	{
		Model	   *members[2];
		double		weights[2] = {0.6, 0.4};

		members[0] = model;
		members[1] = fit_seed_model(frame, n, task, n_classes, second);
		model = model_make_ensemble(members, weights, 2);
	}
	if (calibration != NULL)
	{
		double	   *pred = palloc(sizeof(double) * n * n_classes);
		int		   *label = palloc(sizeof(int) * n);
		RawValue   *raw = palloc(sizeof(RawValue) * model->prep->n_columns);
		double	   *x = palloc(sizeof(double) * model_input_width(model));

		for (int i = 0; i < n; i++)
		{
			prep_raw_from_frame(model->prep, frame, i, raw);
			model_predict_raw(model, raw, x, pred + i * n_classes);
			label[i] = i % n_classes;
		}
		{
			int64	   *rows = palloc(sizeof(int64) * n);

			for (int i = 0; i < n; i++)
				rows[i] = i;
			model->calibrator = calibration_fit(strcmp(calibration, "platt") == 0 ? CALIBRATION_PLATT
												: CALIBRATION_ISOTONIC,
												rows, n, pred, label, n_classes);
		}
	}
	{
		bytea	   *b = model_serialize(model);

		seed.len = VARSIZE(b) - VARHDRSZ;
		seed.bytes = malloc(seed.len);
		memcpy(seed.bytes, VARDATA(b), seed.len);
	}
	shim_set_error_jump(NULL);
	shim_free_all();
	return seed;
}

/* A forecast model of two monthly series, by method, fitted as training would. */
static Seed
make_forecast_seed(ForecastCandidate method)
{
	jmp_buf		jump;
	Seed		seed = {NULL, 0};
	int			n = 60;
	double		times[60];
	double		y[60];
	ForecastModel model;
	FeatureSpec spec;

	shim_set_error_jump(&jump);
	if (setjmp(jump) != 0)
	{
		fprintf(stderr, "fitting a forecast seed failed\n");
		abort();
	}
	for (int i = 0; i < n; i++)
	{
		times[i] = forecast_make_time(2015 + i / 12, 1 + i % 12, 1, 0, 0, 0);
		y[i] = 100 + i + 10 * sin(i * 0.5236);
	}
	memset(&model, 0, sizeof(model));
	model.method = method;
	model.grid = forecast_infer_grid(times, n, NULL);
	model.period = forecast_season_length(model.grid.freq);
	model.horizon = 6;
	model.n_series = 2;
	model.series = palloc0(sizeof(SeriesState) * 2);
	spec = forecast_feature_spec(&model.grid, model.period);
	model.n_features = spec.n_features;
	for (int s = 0; s < 2; s++)
	{
		SeriesState *st = &model.series[s];
		static double rmse[6] = {1, 2, 2, 3, 4, 4};

		st->key = s == 0 ? "north" : "south";
		st->last_time = times[n - 1];
		st->n_history = 24;
		st->history = y + n - 24;
		st->scale = 130;
		st->step_rmse = rmse;
		if (method == CANDIDATE_ETS)
			st->ets = ets_fit_auto(y, n, model.period);
	}
	if (method == CANDIDATE_GBDT)
	{
		double	   *X = palloc(sizeof(double) * (n - 1) * spec.n_features);
		double		hp[32];
		Dataset		ds;

		spec.grid.origin = times[0];
		forecast_features_matrix(&spec, y, n, 1, X);
		memset(&ds, 0, sizeof(ds));
		ds.task = TASK_REGRESSION;
		ds.n_rows = n - 1;
		ds.n_features = spec.n_features;
		ds.X = X;
		ds.y = y + 1;
		for (int i = 0; i < gbdt_learner.n_hyperparams; i++)
			hp[i] = gbdt_learner.hyperparams[i].default_value;
		hp[0] = 5;
		model.gbdt_state = gbdt_learner.fit(&ds, hp, NULL);
	}
	{
		bytea	   *b = forecast_model_serialize(&model);

		seed.len = VARSIZE(b) - VARHDRSZ;
		seed.bytes = malloc(seed.len);
		memcpy(seed.bytes, VARDATA(b), seed.len);
	}
	shim_set_error_jump(NULL);
	shim_free_all();
	return seed;
}

#ifndef USE_LIBFUZZER

#include "fuzz_random.h"

static void
put_u32(uint8 *p, uint32 v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8) (v >> (8 * i));
}

static void
put_u64(uint8 *p, uint64 v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8) (v >> (8 * i));
}

/* One random change; buf has room for len + 64 bytes. */
static size_t
mutate(uint8 *buf, size_t len)
{
	static const uint32 interesting[] = {0, 1, 2, 3, 0x7F, 0x80, 0xFF, 0x100, 0xFFFF,
	0x7FFFFFFF, 0x80000000, 0xFFFFFFFF};

	switch (random_below(7))
	{
		case 0:					/* flip a bit */
			if (len > 0)
				buf[random_below(len)] ^= (uint8) (1u << random_below(8));
			break;
		case 1:					/* a random byte */
			if (len > 0)
				buf[random_below(len)] = (uint8) next_random();
			break;
		case 2:					/* truncate */
			len = random_below(len + 1);
			break;
		case 3:					/* an interesting 32-bit value: counts and lengths */
			if (len >= 4)
				put_u32(buf + random_below(len - 3), interesting[random_below(lengthof(interesting))]);
			break;
		case 4:					/* insert bytes */
			{
				size_t		at = random_below(len + 1);
				size_t		n = 1 + random_below(16);

				memmove(buf + at + n, buf + at, len - at);
				for (size_t i = 0; i < n; i++)
					buf[at + i] = (uint8) next_random();
				len += n;
			}
			break;
		case 5:					/* delete bytes */
			if (len > 0)
			{
				size_t		at = random_below(len);
				size_t		n = 1 + random_below(Min(16, len - at));

				memmove(buf + at, buf + at + n, len - at - n);
				len -= n;
			}
			break;
		case 6:					/* a special double: NaN, infinity, zero */
			if (len >= 8)
			{
				static const double specials[] = {NAN, INFINITY, -INFINITY, 0.0, -0.0, 1e308};
				double		v = specials[random_below(lengthof(specials))];
				uint64		bits;

				memcpy(&bits, &v, 8);
				put_u64(buf + random_below(len - 7), bits);
			}
			break;
	}
	return len;
}

/* Makes the header agree with a mutated payload, so the parser goes deep. */
static void
fix_header(uint8 *buf, size_t len)
{
	if (len < HEADER_SIZE)
		return;
	put_u64(buf + 16, len - HEADER_SIZE);
	/* the checksum of the header's format version: CRC-32C from 3, CRC-32 before */
	if ((buf[8] | buf[9] << 8 | buf[10] << 16 | (uint32) buf[11] << 24) >= 3)
	{
		pg_crc32c	crc;

		INIT_CRC32C(crc);
		COMP_CRC32C(crc, buf + HEADER_SIZE, len - HEADER_SIZE);
		FIN_CRC32C(crc);
		put_u32(buf + 24, crc);
	}
	else
	{
		pg_crc32	crc;

		INIT_TRADITIONAL_CRC32(crc);
		COMP_TRADITIONAL_CRC32(crc, buf + HEADER_SIZE, len - HEADER_SIZE);
		FIN_TRADITIONAL_CRC32(crc);
		put_u32(buf + 24, crc);
	}
}

int
main(int argc, char **argv)
{
	double		seconds = argc > 1 ? atof(argv[1]) : 10.0;
	uint64		start_seed = argc > 2 ? strtoull(argv[2], NULL, 10) : 1;
	Seed		seeds[14];
	int			n_seeds = lengthof(seeds);
	uint8	   *buf;
	size_t		max_len = 0;
	long		runs = 0,
				loaded = 0;
	time_t		deadline = time(NULL) + (time_t) ceil(seconds);

	seeds[0] = make_seed(TASK_REGRESSION, 0, &ridge_learner, NULL, NULL);
	seeds[1] = make_seed(TASK_CLASSIFICATION, 2, &logistic_learner, NULL, NULL);
	seeds[2] = make_seed(TASK_CLASSIFICATION, 3, &logistic_learner, NULL, NULL);
	seeds[3] = make_seed(TASK_REGRESSION, 0, &gbdt_learner, NULL, NULL);
	seeds[4] = make_seed(TASK_CLASSIFICATION, 3, &gbdt_learner, NULL, NULL);
	seeds[5] = make_seed(TASK_CLASSIFICATION, 2, &random_forest_learner, NULL, NULL);
	seeds[6] = make_seed(TASK_REGRESSION, 0, &extra_trees_learner, NULL, NULL);
	seeds[7] = make_seed(TASK_CLASSIFICATION, 3, &logistic_learner, &gbdt_learner, NULL);
	seeds[8] = make_seed(TASK_REGRESSION, 0, &gbdt_learner, &ridge_learner, NULL);
	seeds[9] = make_seed(TASK_CLASSIFICATION, 2, &gbdt_learner, NULL, "platt");
	seeds[10] = make_seed(TASK_CLASSIFICATION, 3, &logistic_learner, &gbdt_learner, "isotonic");
	seeds[11] = make_forecast_seed(CANDIDATE_SEASONAL_NAIVE);
	seeds[12] = make_forecast_seed(CANDIDATE_ETS);
	seeds[13] = make_forecast_seed(CANDIDATE_GBDT);
	for (int s = 0; s < n_seeds; s++)
	{
		if (!try_any(seeds[s].bytes, seeds[s].len))
		{
			fprintf(stderr, "seed model %d does not load\n", s);
			return 1;
		}
		max_len = Max(max_len, seeds[s].len);
	}
	buf = malloc(max_len + 64 * 8);

	rng_state = start_seed * 0x9E3779B97F4A7C15ULL + 1;
	while (time(NULL) < deadline)
	{
		for (int batch = 0; batch < 1000; batch++)
		{
			const Seed *seed = &seeds[random_below(n_seeds)];
			size_t		len = seed->len;
			int			n_mutations = 1 + (int) random_below(4);

			memcpy(buf, seed->bytes, len);
			for (int m = 0; m < n_mutations && len + 16 <= max_len + 64 * 8; m++)
				len = mutate(buf, len);
			if (random_below(4) != 0)
				fix_header(buf, len);
			loaded += try_any(buf, len);
			runs++;
		}
	}
	printf("fuzz_model_format: %ld inputs, %ld loaded, %ld rejected with an error, no crash\n",
		   runs, loaded, runs - loaded);
	for (int s = 0; s < n_seeds; s++)
		free(seeds[s].bytes);
	free(buf);
	return 0;
}

#endif							/* USE_LIBFUZZER */
