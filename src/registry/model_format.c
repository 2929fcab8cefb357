/*
 * model_format.c: the versioned binary form of a Model.
 *
 *   offset  size  field
 *        0     8  magic "AUTOMLMD"
 *        8     4  format version (MODEL_FORMAT_VERSION)
 *       12     4  flags, reserved, 0
 *       16     8  payload length
 *       24     4  CRC-32 of the payload
 *       28     4  reserved, 0
 *       32     -  payload: task, learner name, classes, feature spec,
 *                 learner section (length-prefixed)
 *
 * All integers are little-endian. The loader trusts nothing: it checks the
 * header, the length and the checksum, then every count and value.
 */
#include "postgres.h"

#include "common/bytes.h"
#include "registry/registry.h"
#include "fmgr.h"

#define MODEL_MAGIC "AUTOMLMD"
#define MODEL_HEADER_SIZE 32
#define MAX_CLASSES 100000

bytea *
model_serialize(const Model *model)
{
	ByteWriter	payload;
	ByteWriter	learner_bytes;
	ByteWriter	out;
	bytea	   *result;

	bytes_writer_init(&payload);
	bytes_put_u8(&payload, (uint8) model->task);
	bytes_put_string(&payload, model->learner->name);
	bytes_put_u32(&payload, (uint32) model->n_classes);
	for (int k = 0; k < model->n_classes; k++)
		bytes_put_string(&payload, model->classes[k]);
	prep_save(model->prep, &payload);
	bytes_writer_init(&learner_bytes);
	model->learner->save(model->learner_state, &learner_bytes);
	bytes_put_u64(&payload, (uint64) learner_bytes.buf.len);
	bytes_put_raw(&payload, learner_bytes.buf.data, learner_bytes.buf.len);

	bytes_writer_init(&out);
	bytes_put_raw(&out, MODEL_MAGIC, 8);
	bytes_put_u32(&out, MODEL_FORMAT_VERSION);
	bytes_put_u32(&out, 0);
	bytes_put_u64(&out, (uint64) payload.buf.len);
	bytes_put_u32(&out, bytes_crc32(payload.buf.data, payload.buf.len));
	bytes_put_u32(&out, 0);
	bytes_put_raw(&out, payload.buf.data, payload.buf.len);

	result = palloc(VARHDRSZ + out.buf.len);
	SET_VARSIZE(result, VARHDRSZ + out.buf.len);
	memcpy(VARDATA(result), out.buf.data, out.buf.len);
	return result;
}

Model *
model_deserialize(const char *data, size_t len)
{
	ByteReader	r;
	ByteReader	learner_section;
	Model	   *model = palloc0(sizeof(Model));
	uint32		format_version;
	uint64		payload_len;
	uint32		crc;
	uint8		task;
	char	   *learner_name;

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
	payload_len = bytes_get_u64(&r);
	crc = bytes_get_u32(&r);
	if (bytes_get_u32(&r) != 0)
		bytes_corrupted(&r, "a reserved header field is not zero");
	if (payload_len != len - MODEL_HEADER_SIZE)
		bytes_corrupted(&r, "the length does not match the stored bytes");
	if (bytes_crc32(r.pos, r.left) != crc)
		bytes_corrupted(&r, "the checksum does not match");

	r.what = "model payload";
	task = bytes_get_u8(&r);
	if (task != TASK_REGRESSION && task != TASK_CLASSIFICATION)
		bytes_corrupted(&r, "unknown task");
	model->task = (Task) task;
	learner_name = bytes_get_string(&r);
	model->learner = learner_find(learner_name);
	if (model->learner == NULL)
		bytes_corrupted(&r, "unknown learner");
	if ((model->learner->tasks & TASK_BIT(model->task)) == 0)
		bytes_corrupted(&r, "the learner does not support the task");

	model->n_classes = (int) bytes_get_count(&r, 4, MAX_CLASSES);
	if (model->task == TASK_CLASSIFICATION ? model->n_classes < 2 : model->n_classes != 0)
		bytes_corrupted(&r, "the number of classes does not fit the task");
	model->classes = palloc(sizeof(char *) * Max(model->n_classes, 1));
	for (int k = 0; k < model->n_classes; k++)
		model->classes[k] = bytes_get_string(&r);

	model->prep = prep_load(&r);

	learner_section = bytes_get_section(&r);
	learner_section.what = "learner state";
	model->learner_state = model->learner->load(&learner_section, model->task,
												model->prep->n_outputs, model->n_classes);
	bytes_expect_end(&learner_section);
	bytes_expect_end(&r);
	return model;
}
