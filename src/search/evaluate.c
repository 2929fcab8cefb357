/*
 * evaluate.c: fitting one configuration and scoring it on validation rows.
 *
 * Every fit starts from a fresh copy of the chosen columns and learns its
 * encoders, imputation and scaling from its own training rows only, so
 * nothing of a validation row reaches the model that is scored on it.
 */
#include "postgres.h"

#include <math.h>

#include "common/budget.h"
#include "learn/tree.h"
#include "miscadmin.h"
#include "search/search.h"
#include "utils/memutils.h"

/* The learner's max_bins hyperparameter, or 0 when it has none. */
static int
max_bins_of(const Learner *learner, const double *hyperparams)
{
	int			i = learner_hyperparam_index(learner, "max_bins");

	return i >= 0 ? (int) hyperparams[i] : 0;
}

/*
 * A tree learner's fit on rows of the run's shared bins: no per-fit prep or
 * binning; the model keeps the shared spec. NULL when they do not apply (no
 * shared bins, or a max_bins of its own).
 */
static Model *
fit_on_shared_bins(const TrainingData *td, const Learner *learner, const double *hyperparams,
				   const int64 *rows, int64 n_rows, FitContext *ctx)
{
	TreeBins   *tb;
	Model	   *model;
	Dataset		data;

	if (!learner->raw_inputs || td->tree_bins == NULL)
		return NULL;
	tb = tree_bins_get(td);
	if (max_bins_of(learner, hyperparams) != tb->bd->max_bins)
		return NULL;
	memset(&data, 0, sizeof(data));
	data.task = td->task;
	data.n_rows = n_rows;
	data.n_features = tb->spec->n_outputs;
	data.y = td->task == TASK_REGRESSION ? td->frame->target.values : NULL;
	data.label = td->task == TASK_CLASSIFICATION ? td->frame->target.codes : NULL;
	data.n_classes = td->n_classes;
	data.class_weight = td->class_weight;
	data.binned = tb->bd;
	data.rows = rows;
	model = palloc0(sizeof(Model));
	model->task = td->task;
	model->learner = learner;
	model->learner_state = learner->fit(&data, hyperparams, ctx);
	model->prep = tb->spec;
	model->n_classes = td->n_classes;
	return model;
}

Model *
fit_model(const TrainingData *td, const Learner *learner, const double *hyperparams,
		  const int64 *rows, int64 n_rows, FitContext *ctx)
{
	Model	   *model = fit_on_shared_bins(td, learner, hyperparams, rows, n_rows, ctx);
	PrepSpec   *prep;
	Dataset		data;
	double	   *X;
	double	   *y = NULL;
	int		   *label = NULL;

	if (model != NULL)
		return model;
	model = palloc0(sizeof(Model));
	prep = prep_copy_unfitted(td->features);
	prep->for_trees = learner->raw_inputs;
	prep_fit(prep, td->frame, rows, n_rows);
	X = MemoryContextAllocHuge(CurrentMemoryContext,
							   mul_size(mul_size(sizeof(double), n_rows), Max(prep->n_outputs, 1)));
	prep_apply_frame(prep, td->frame, rows, n_rows, X);
	budget_note();				/* the prepared matrix is a fit's largest buffer */
	if (td->task == TASK_REGRESSION)
	{
		y = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(double) * n_rows);
		for (int64 i = 0; i < n_rows; i++)
			y[i] = td->frame->target.values[rows[i]];
	}
	else
	{
		label = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(int) * n_rows);
		for (int64 i = 0; i < n_rows; i++)
			label[i] = td->frame->target.codes[rows[i]];
	}
	memset(&data, 0, sizeof(data));
	data.task = td->task;
	data.n_rows = n_rows;
	data.n_features = prep->n_outputs;
	data.X = X;
	data.y = y;
	data.label = label;
	data.n_classes = td->n_classes;
	data.class_weight = td->class_weight;
	data.n_categories = NULL;
	if (prep->for_trees)
	{
		int		   *categories = palloc(sizeof(int) * Max(prep->n_outputs, 1));

		for (int o = 0; o < prep->n_outputs; o++)
			categories[o] = prep_output_categories(prep, o);
		data.n_categories = categories;
	}

	model->task = td->task;
	model->learner = learner;
	model->learner_state = learner->fit(&data, hyperparams, ctx);
	model->prep = prep;
	model->n_classes = td->n_classes;
	pfree(X);
	if (y)
		pfree(y);
	if (label)
		pfree(label);
	return model;
}

void
predict_rows(const TrainingData *td, const Model *model, const int *binding,
			 const int64 *rows, int64 n_rows, double *pred)
{
	const PrepSpec *prep = model->prep;
	int			width = td->task == TASK_REGRESSION ? 1 : td->n_classes;
	RawValue   *raw = palloc(sizeof(RawValue) * Max(prep->n_columns, 1));
	double	   *x = palloc(sizeof(double) * model_input_width(model));

	for (int64 i = 0; i < n_rows; i++)
	{
		if ((i & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
		if (binding)
			prep_raw_from_bound_frame(prep, td->frame, binding, rows[i], raw);
		else
			prep_raw_from_frame(prep, td->frame, rows[i], raw);
		model_predict_raw(model, raw, x, pred + i * width);
	}
	pfree(raw);
	pfree(x);
}

Predictions
predictions_for(const TrainingData *td, const Validation *v)
{
	Predictions p = predictions_alloc(v->n_rows, td->task == TASK_REGRESSION ? 0 : td->n_classes);

	for (int64 i = 0; i < p.n; i++)
	{
		if (td->task == TASK_REGRESSION)
			p.y[i] = td->frame->target.values[v->rows[i]];
		else
			p.label[i] = td->frame->target.codes[v->rows[i]];
	}
	return p;
}

/*
 * A fitted model in its stored forms (the learner's and the spec's), written
 * into the caller's memory so that the fit's context can go before the copy
 * is loaded (kept_model_load): the fit's model, its stored bytes and the copy
 * are never all held at once.
 */
typedef struct StoredModel
{
	Task		task;
	const Learner *learner;
	int			n_classes;
	PrepSpec   *shared_prep;	/* the run's TreeBins spec, shared; or NULL */
	int		   *frame_columns;	/* the spec's columns' frame columns */
	ByteWriter	state;
	ByteWriter	spec;
} StoredModel;

static void
kept_model_store(const TrainingData *td, const Model *m, MemoryContext cxt, StoredModel *stored)
{
	MemoryContext old = MemoryContextSwitchTo(cxt);
	bool		shared = td->tree_bins != NULL && td->tree_bins->built && m->prep == td->tree_bins->spec;

	stored->task = m->task;
	stored->learner = m->learner;
	stored->n_classes = m->n_classes;
	stored->shared_prep = shared ? m->prep : NULL;
	stored->frame_columns = palloc(sizeof(int) * Max(m->prep->n_columns, 1));
	for (int c = 0; c < m->prep->n_columns; c++)
		stored->frame_columns[c] = m->prep->columns[c].frame_column;
	bytes_writer_init(&stored->state);
	m->learner->save(m->learner_state, &stored->state);
	bytes_writer_init(&stored->spec);
	if (!shared)
		prep_save(m->prep, &stored->spec);
	MemoryContextSwitchTo(old);
	budget_note();
}

/*
 * The stored model loaded in a memory context of its own under cxt (so that
 * deleting it frees the copy); the stored bytes are freed. A spec shared by
 * the run's tree fits (TreeBins) is shared by the copy too.
 */
static Model *
kept_model_load(StoredModel *stored, MemoryContext cxt)
{
	ByteReader	r;
	MemoryContext old;
	Model	   *copy;

	old = MemoryContextSwitchTo(AllocSetContextCreate(cxt, "automl kept model", ALLOCSET_SMALL_SIZES));
	copy = palloc0(sizeof(Model));
	copy->task = stored->task;
	copy->learner = stored->learner;
	copy->n_classes = stored->n_classes;
	if (stored->shared_prep != NULL)
		copy->prep = stored->shared_prep;
	else
	{
		bytes_reader_init(&r, stored->spec.buf.data, stored->spec.buf.len, "feature spec");
		copy->prep = prep_load(&r);
		/* a stored spec is bound to no frame; the copy keeps the original's columns */
		for (int c = 0; c < copy->prep->n_columns; c++)
			copy->prep->columns[c].frame_column = stored->frame_columns[c];
	}
	bytes_reader_init(&r, stored->state.buf.data, stored->state.buf.len, "learner state");
	copy->learner_state = stored->learner->load(&r, stored->task, copy->prep->n_outputs, stored->n_classes);
	MemoryContextSwitchTo(old);
	budget_note();
	pfree(stored->state.buf.data);
	pfree(stored->spec.buf.data);
	pfree(stored->frame_columns);
	return copy;
}

void
kept_model_free(Model *model)
{
	MemoryContextDelete(GetMemoryChunkContext(model));
}

bool
evaluate_config(const TrainingData *td, const Validation *v, const Learner *learner,
				const double *hyperparams, const MetricDef *metric, double deadline,
				Predictions *out, double *fold_scores, Model **kept, int n_kept,
				bool refit_follows, bool *out_of_memory, int *capped_rounds)
{
	MemoryContext caller = CurrentMemoryContext;
	/* blocks of at most 256 kB: what the memory budget measures is what the fit uses */
	MemoryContext fit_cxt = AllocSetContextCreate(CurrentMemoryContext, "automl fit",
												  ALLOCSET_DEFAULT_MINSIZE, ALLOCSET_DEFAULT_INITSIZE,
												  256 * 1024);
	int64		at = 0;
	FitContext	ctx = {deadline, 0.0, 0.0, false, false, 0, 0, 0, 0};
	StoredModel stored;
	int			rounds_index = capped_rounds != NULL ? learner_hyperparam_index(learner, "n_estimators") : -1;
	double	   *capped = NULL;	/* the hyperparameters with the rounds of a stopped first fold */

	Assert(n_kept >= 0 && n_kept <= v->n_folds);
	if (capped_rounds != NULL)
		*capped_rounds = 0;
	for (int f = 0; f < v->n_folds; f++)
	{
		const Split *fold = &v->folds[f];
		MemoryContext old;
		Model	   *model;
		Predictions fold_pred = predictions_slice(out, at, fold->n_valid);

		/* what follows this fit: the other folds, then a refit on all rows */
		ctx.started = seconds_now();
		/* once capped, a fold stops only at the deadline itself */
		ctx.followup_factor = capped != NULL ? 0.0 : (v->n_folds - f - 1) +
			(refit_follows ? refit_factor((double) td->frame->n_rows / Max(fold->n_train, 1)) : 0.0);
		ctx.first_bytes = ctx.last_bytes = ctx.max_step = 0;
		old = MemoryContextSwitchTo(fit_cxt);
		model = fit_model(td, learner, capped != NULL ? capped : hyperparams, fold->train, fold->n_train, &ctx);

		budget_note();			/* the fitted model beside its working memory */
		if (ctx.stopped && f == 0 && !ctx.out_of_memory && rounds_index >= 0 && ctx.rounds_done > 0)
		{
			/*
			 * The first fold stopped at the deadline's projection: its rounds
			 * so far are a model. The other folds fit as many (each about as
			 * long as this one, which the projection counted on), and the
			 * trial is that configuration, validated like any other.
			 */
			capped = MemoryContextAlloc(caller, sizeof(double) * learner->n_hyperparams);
			memcpy(capped, hyperparams, sizeof(double) * learner->n_hyperparams);
			capped[rounds_index] = ctx.rounds_done;
			*capped_rounds = ctx.rounds_done;
			ctx.stopped = false;
		}
		if (ctx.stopped)
		{
			*out_of_memory = ctx.out_of_memory;
			MemoryContextSwitchTo(old);
			MemoryContextDelete(fit_cxt);
			for (int k = 0; k < Min(f, n_kept); k++)
			{
				kept_model_free(kept[k]);
				kept[k] = NULL;
			}
			return false;
		}
		predict_rows(td, model, NULL, fold->valid, fold->n_valid, fold_pred.pred);
		if (f < n_kept)
			kept_model_store(td, model, caller, &stored);
		MemoryContextSwitchTo(old);
		MemoryContextReset(fit_cxt);
		if (f < n_kept)
			kept[f] = kept_model_load(&stored, caller);
		fold_scores[f] = metric_score(metric, &fold_pred);
		at += fold->n_valid;
	}
	MemoryContextDelete(fit_cxt);
	return true;
}
