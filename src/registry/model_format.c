/*
 * model_format.c: the versioned binary form of a Model.
 *
 *   offset  size  field
 *        0     8  magic "AUTOMLMD"
 *        8     4  format version (MODEL_FORMAT_VERSION)
 *       12     4  flags, reserved, 0
 *       16     8  payload length
 *       24     4  checksum of the payload: CRC-32C (PostgreSQL's pg_crc32c) from
 *                 format 3, CRC-32 (the zlib polynomial, PostgreSQL's
 *                 "traditional" CRC-32) in format 2
 *       28     4  reserved, 0
 *       32     -  payload: task, learner name, classes, then either
 *                 feature spec and learner section (length-prefixed), or,
 *                 when the learner name is "ensemble", a member count and
 *                 per member: weight, learner name, feature spec, learner
 *                 section; then the calibrator (a method byte, 0 for
 *                 none, and its maps)
 *
 * All integers are little-endian. The loader trusts nothing: it checks the
 * header, the length and the checksum, then every count and value.
 */
#include "postgres.h"

#include <math.h>

#include "common/budget.h"
#include "common/bytes.h"
#include "fmgr.h"
#include "port/pg_crc32c.h"
#include "registry/registry.h"
#include "utils/pg_crc.h"

#define MODEL_MAGIC "AUTOMLMD"
#define MODEL_HEADER_SIZE 32
#define MAX_CLASSES 100000
#define ENSEMBLE_NAME "ensemble"
#define MAX_MEMBERS 1000

/* The checksum of a payload as the given format version writes it. */
static uint32
payload_checksum(uint32 format_version, const char *data, size_t len)
{
	if (format_version >= 3)
	{
		pg_crc32c	crc;

		INIT_CRC32C(crc);
		COMP_CRC32C(crc, data, len);
		FIN_CRC32C(crc);
		return crc;
	}
	else
	{
		pg_crc32	crc;

		INIT_TRADITIONAL_CRC32(crc);
		COMP_TRADITIONAL_CRC32(crc, data, len);
		FIN_TRADITIONAL_CRC32(crc);
		return crc;
	}
}

/* One learner's feature spec and state. */
static void
put_single(ByteWriter *payload, const Model *model)
{
	ByteWriter	learner_bytes;

	prep_save(model->prep, payload);
	bytes_writer_init(&learner_bytes);
	model->learner->save(model->learner_state, &learner_bytes);
	bytes_put_u64(payload, (uint64) learner_bytes.buf.len);
	bytes_put_raw(payload, learner_bytes.buf.data, learner_bytes.buf.len);
}

bytea *
model_serialize(const Model *model)
{
	ByteWriter	payload;
	bytea	   *result;

	bytes_writer_init(&payload);
	bytes_put_u8(&payload, (uint8) model->task);
	bytes_put_string(&payload, model_algorithm(model));
	bytes_put_u32(&payload, (uint32) model->n_classes);
	for (int k = 0; k < model->n_classes; k++)
		bytes_put_string(&payload, model->classes[k]);
	if (model->n_members == 0)
		put_single(&payload, model);
	else
	{
		bytes_put_u32(&payload, (uint32) model->n_members);
		for (int m = 0; m < model->n_members; m++)
		{
			bytes_put_f64(&payload, model->weights[m]);
			bytes_put_string(&payload, model->members[m]->learner->name);
			put_single(&payload, model->members[m]);
		}
	}
	calibration_save(model->calibrator, &payload);
	result = model_bytes_wrap(&payload);
	budget_note();				/* the payload and the bytes, at once */
	pfree(payload.buf.data);
	return result;
}

bytea *
model_bytes_wrap(const ByteWriter *payload)
{
	ByteWriter	header;
	bytea	   *result;

	bytes_writer_init(&header);
	bytes_put_raw(&header, MODEL_MAGIC, 8);
	bytes_put_u32(&header, MODEL_FORMAT_VERSION);
	bytes_put_u32(&header, 0);
	bytes_put_u64(&header, (uint64) payload->buf.len);
	bytes_put_u32(&header, payload_checksum(MODEL_FORMAT_VERSION, payload->buf.data, payload->buf.len));
	bytes_put_u32(&header, 0);

	/* header and payload straight into the result: no third copy of a large model */
	result = palloc(VARHDRSZ + header.buf.len + payload->buf.len);
	SET_VARSIZE(result, VARHDRSZ + header.buf.len + payload->buf.len);
	memcpy(VARDATA(result), header.buf.data, header.buf.len);
	memcpy(VARDATA(result) + header.buf.len, payload->buf.data, payload->buf.len);
	pfree(header.buf.data);
	return result;
}

ByteReader
model_bytes_open(const char *data, size_t len)
{
	ByteReader	r;
	uint32		format_version;
	uint64		payload_len;
	uint32		crc;

	bytes_reader_init(&r, data, len, "model header");
	if (len < MODEL_HEADER_SIZE || memcmp(data, MODEL_MAGIC, 8) != 0)
		bytes_corrupted(&r, "the bytes do not start with an automl model header");
	r.pos += 8;
	r.left -= 8;
	format_version = bytes_get_u32(&r);
	if (format_version > MODEL_FORMAT_VERSION)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("stored model has format version %u, this automl reads up to %d",
						format_version, MODEL_FORMAT_VERSION),
				 errhint("Update the automl extension to read this model.")));
	if (format_version == 0 || bytes_get_u32(&r) != 0)
		bytes_corrupted(&r, "the format version or flags are invalid");
	if (format_version < MODEL_FORMAT_OLDEST)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("stored model has format version %u of a development build before automl 0.1.0",
						format_version),
				 errhint("Train the model again.")));
	payload_len = bytes_get_u64(&r);
	crc = bytes_get_u32(&r);
	if (bytes_get_u32(&r) != 0)
		bytes_corrupted(&r, "a reserved header field is not zero");
	if (payload_len != len - MODEL_HEADER_SIZE)
		bytes_corrupted(&r, "the length does not match the stored bytes");
	if (payload_checksum(format_version, (const char *) r.pos, r.left) != crc)
		bytes_corrupted(&r, "the checksum does not match");
	r.what = "model payload";
	return r;
}

static const Learner *
get_learner(ByteReader *r, const char *name, Task task)
{
	const Learner *learner = learner_find(name);

	if (learner == NULL)
		bytes_corrupted(r, "unknown learner");
	if ((learner->tasks & TASK_BIT(task)) == 0)
		bytes_corrupted(r, "the learner does not support the task");
	return learner;
}

/* Reads what put_single wrote into model, whose task and classes are set. */
static void
get_single(ByteReader *r, Model *model)
{
	ByteReader	learner_section;

	model->prep = prep_load(r);
	learner_section = bytes_get_section(r);
	learner_section.what = "learner state";
	model->learner_state = model->learner->load(&learner_section, model->task,
												model->prep->n_outputs, model->n_classes);
	bytes_expect_end(&learner_section);
}

static bool
same_columns(const PrepSpec *a, const PrepSpec *b)
{
	if (a->n_columns != b->n_columns)
		return false;
	for (int c = 0; c < a->n_columns; c++)
	{
		if (strcmp(a->columns[c].name, b->columns[c].name) != 0 ||
			a->columns[c].kind != b->columns[c].kind)
			return false;
	}
	return true;
}

Model *
model_deserialize(const char *data, size_t len)
{
	ByteReader	r = model_bytes_open(data, len);
	Model	   *model = palloc0(sizeof(Model));
	uint8		task;
	char	   *learner_name;
	bool		is_ensemble;

	task = bytes_get_u8(&r);
	if (task == MODEL_TASK_FORECAST)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("this model forecasts a time series and does not score rows"),
				 errhint("Call automl_forecast(name) for its forecasts.")));
	if (task != TASK_REGRESSION && task != TASK_CLASSIFICATION)
		bytes_corrupted(&r, "unknown task");
	model->task = (Task) task;
	learner_name = bytes_get_string(&r);
	is_ensemble = strcmp(learner_name, ENSEMBLE_NAME) == 0;
	if (!is_ensemble)
		model->learner = get_learner(&r, learner_name, model->task);

	model->n_classes = (int) bytes_get_count(&r, 4, MAX_CLASSES);
	if (model->task == TASK_CLASSIFICATION ? model->n_classes < 2 : model->n_classes != 0)
		bytes_corrupted(&r, "the number of classes does not fit the task");
	model->classes = palloc(sizeof(char *) * Max(model->n_classes, 1));
	for (int k = 0; k < model->n_classes; k++)
		model->classes[k] = bytes_get_string(&r);

	if (!is_ensemble)
		get_single(&r, model);
	else
	{
		int			n_members = (int) bytes_get_count(&r, 8, MAX_MEMBERS);
		Model	  **members = palloc(sizeof(Model *) * Max(n_members, 1));
		double	   *weights = palloc(sizeof(double) * Max(n_members, 1));
		double		weight_sum = 0.0;

		if (n_members == 0)
			bytes_corrupted(&r, "an ensemble without members");
		for (int m = 0; m < n_members; m++)
		{
			Model	   *member = palloc0(sizeof(Model));

			weights[m] = bytes_get_finite_f64(&r);
			if (weights[m] < 0.0 || weights[m] > 1.0)
				bytes_corrupted(&r, "an ensemble weight is outside [0, 1]");
			weight_sum += weights[m];
			member->task = model->task;
			member->n_classes = model->n_classes;
			member->classes = model->classes;
			member->learner = get_learner(&r, bytes_get_string(&r), model->task);
			get_single(&r, member);
			if (m > 0 && !same_columns(members[0]->prep, member->prep))
				bytes_corrupted(&r, "ensemble members read different columns");
			members[m] = member;
		}
		if (fabs(weight_sum - 1.0) > 1e-6)
			bytes_corrupted(&r, "the ensemble weights do not add up to 1");
		model = model_make_ensemble(members, weights, n_members);
	}
	model->calibrator = calibration_load(&r, model->n_classes);
	bytes_expect_end(&r);
	return model;
}
