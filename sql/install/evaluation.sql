
-- Evaluation: metrics, slices, curves, fairness, explanations, model cards --

-- What an owner evaluated, for the model card: the figures of each
-- automl_evaluate (kind metrics) and automl_fairness (kind fairness) call.
CREATE TABLE automl.evaluations (
    id            bigserial   PRIMARY KEY,
    name          text        NOT NULL,
    version       integer     NOT NULL,
    kind          text        NOT NULL CHECK (kind IN ('metrics', 'fairness')),
    relation      text        NOT NULL,
    n_rows        bigint      NOT NULL,
    arguments     jsonb       NOT NULL,
    result        jsonb       NOT NULL,
    evaluated_by  name        NOT NULL,
    evaluated_at  timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (name, version) REFERENCES automl.models (name, version) ON DELETE CASCADE
);
CREATE INDEX ON automl.evaluations (name, version, kind, evaluated_at);
COMMENT ON TABLE automl.evaluations IS 'figures of the evaluations run by each model''s owner, for its model card';
COMMENT ON SEQUENCE automl.evaluations_id_seq IS 'generates automl.evaluations.id (the order evaluations were recorded in)';

-- Free text an owner gives a model name for its card.
CREATE TABLE automl.descriptions (
    name          text        PRIMARY KEY REFERENCES automl.registry (name) ON DELETE CASCADE,
    intended_use  text,
    updated_by    name        NOT NULL,
    updated_at    timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE automl.descriptions IS 'intended use of each model name, as its owner wrote it';

SELECT pg_catalog.pg_extension_config_dump('automl.evaluations', '');
SELECT pg_catalog.pg_extension_config_dump('automl.evaluations_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('automl.descriptions', '');
-- seen by the roles that see the model (see automl.registry's policy)
ALTER TABLE automl.evaluations ENABLE ROW LEVEL SECURITY;
CREATE POLICY evaluations_of_visible_models ON automl.evaluations FOR SELECT
    USING (EXISTS (SELECT 1 FROM automl.registry r WHERE r.name = evaluations.name));
ALTER TABLE automl.descriptions ENABLE ROW LEVEL SECURITY;
CREATE POLICY descriptions_of_visible_models ON automl.descriptions FOR SELECT
    USING (EXISTS (SELECT 1 FROM automl.registry r WHERE r.name = descriptions.name));
GRANT SELECT ON automl.evaluations, automl.descriptions TO PUBLIC;

-- Labels: automl_evaluate and automl_fairness record their figures (VOLATILE, PARALLEL
-- UNSAFE). The curves, the confusion matrix and automl_feature_importance only read, but
-- they read a relation the caller names, which may be the leader's temporary table: a
-- parallel worker cannot (STABLE, PARALLEL RESTRICTED).
CREATE FUNCTION automl_evaluate(
    name         text,
    relation     text,
    version      integer  DEFAULT NULL,
    slice_by     text[]   DEFAULT NULL,
    slice_margin float8   DEFAULT 0.05)
RETURNS TABLE (slice_column text, slice_value text, rows bigint, metric text,
               value float8, overall float8, behind boolean)
AS 'MODULE_PATHNAME', 'automl_evaluate' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION automl_evaluate IS 'the model''s metrics on a labelled relation, overall and per slice, with slices that fall behind flagged';

CREATE FUNCTION automl_confusion_matrix(name text, relation text, version integer DEFAULT NULL)
RETURNS TABLE (actual text, predicted text, rows bigint)
AS 'MODULE_PATHNAME', 'automl_confusion_matrix' LANGUAGE C STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION automl_confusion_matrix IS 'rows per (actual, predicted) class pair on a labelled relation';

CREATE FUNCTION automl_roc_curve(name text, relation text, version integer DEFAULT NULL)
RETURNS TABLE (class text, threshold float8, false_positive_rate float8, true_positive_rate float8)
AS 'MODULE_PATHNAME', 'automl_roc_curve' LANGUAGE C STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION automl_roc_curve IS 'ROC points per class (the positive class of two) on a labelled relation';

CREATE FUNCTION automl_pr_curve(name text, relation text, version integer DEFAULT NULL)
RETURNS TABLE (class text, threshold float8, recall float8, "precision" float8)
AS 'MODULE_PATHNAME', 'automl_pr_curve' LANGUAGE C STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION automl_pr_curve IS 'precision-recall points per class (the positive class of two) on a labelled relation';

CREATE FUNCTION automl_calibration_curve(name text, relation text, version integer DEFAULT NULL)
RETURNS TABLE (class text, bin integer, lower float8, upper float8, rows bigint,
               mean_predicted float8, fraction_positive float8)
AS 'MODULE_PATHNAME', 'automl_calibration_curve' LANGUAGE C STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION automl_calibration_curve IS 'reliability table: ten probability bins, mean predicted against observed share';

CREATE FUNCTION automl_lift_curve(name text, relation text, version integer DEFAULT NULL)
RETURNS TABLE (class text, decile integer, rows bigint, positives bigint, min_score float8,
               max_score float8, positive_rate float8, lift float8, cumulative_share float8,
               cumulative_gain float8, cumulative_lift float8)
AS 'MODULE_PATHNAME', 'automl_lift_curve' LANGUAGE C STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION automl_lift_curve IS 'lift and gain per tenth of the rows ranked by probability';

CREATE FUNCTION automl_fairness(name text, relation text, sensitive text, version integer DEFAULT NULL)
RETURNS TABLE (sensitive_value text, rows bigint, selection_rate float8,
               true_positive_rate float8, false_positive_rate float8,
               demographic_parity_difference float8, equalized_odds_difference float8)
AS 'MODULE_PATHNAME', 'automl_fairness' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION automl_fairness IS 'selection rate and error rates per group of a sensitive column, with demographic-parity and equalized-odds differences';

CREATE FUNCTION automl_set_intended_use(name text, intended_use text)
RETURNS TABLE (name text, intended_use text)
AS 'MODULE_PATHNAME', 'automl_set_intended_use' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION automl_set_intended_use IS 'the intended use of a model name, in its owner''s words, for the model card';

-- The model card (Mitchell et al., 2019) of a version, as jsonb: every
-- section from the catalog, the owner's latest evaluations and the monitor.
CREATE FUNCTION automl_model_card_json(name text, version integer DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $card$
DECLARE
    model_name text := automl_model_card_json.name;
    v integer := automl_model_card_json.version;
    deployed_version integer;
    m automl.models;
    caveats jsonb := '[]';
    latest automl.evaluations;
    fairness jsonb;
    drifted text[];
    monitored boolean;
    behind jsonb;
BEGIN
    IF model_name IS NULL THEN
        RAISE EXCEPTION 'name must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM automl.registry r WHERE r.name = model_name) THEN
        RAISE EXCEPTION 'model "%" does not exist', model_name USING ERRCODE = 'undefined_object',
            HINT = 'automl.models lists the trained models.';
    END IF;
    SELECT d.version INTO deployed_version FROM automl.deployed d WHERE d.name = model_name;
    IF v IS NULL THEN
        v := deployed_version;
        IF v IS NULL THEN
            RAISE EXCEPTION 'model "%" has no deployed version', model_name USING ERRCODE = 'undefined_object',
                HINT = 'Name a version: automl_model_card(name, version).';
        END IF;
    END IF;
    SELECT * INTO m FROM automl.models x WHERE x.name = model_name AND x.version = v;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'model "%" has no version %', model_name, v USING ERRCODE = 'undefined_object';
    END IF;

    SELECT * INTO latest FROM automl.evaluations e
    WHERE e.name = model_name AND e.version = v AND e.kind = 'metrics'
    ORDER BY e.evaluated_at DESC, e.id DESC LIMIT 1;

    SELECT jsonb_agg(f.result || jsonb_build_object('relation', f.relation, 'rows', f.n_rows,
                                                    'evaluated_at', f.evaluated_at, 'evaluated_by', f.evaluated_by)
                     ORDER BY f.result->>'sensitive')
    INTO fairness
    FROM (SELECT DISTINCT ON (e.result->>'sensitive') e.*
          FROM automl.evaluations e
          WHERE e.name = model_name AND e.version = v AND e.kind = 'fairness'
          ORDER BY e.result->>'sensitive', e.evaluated_at DESC, e.id DESC) f;

    -- caveats the extension knows
    SELECT caveats || coalesce(jsonb_agg(w->>'message'), '[]') INTO caveats
    FROM jsonb_array_elements(m.warnings) w;
    IF m.n_rows < 1000 THEN
        caveats := caveats || to_jsonb(format('Trained on %s rows: its figures carry wide uncertainty.', m.n_rows));
    END IF;
    IF m.task = 'classification' AND m.calibration->>'method' = 'none' THEN
        caveats := caveats || to_jsonb(format('Probabilities are not calibrated (%s).', m.calibration->>'reason'));
    END IF;
    IF latest IS NULL THEN
        caveats := caveats || to_jsonb('No evaluation on a labelled relation is recorded: the metrics are the training''s validation figures. Run automl_evaluate.'::text);
    ELSE
        SELECT jsonb_agg(format('Slice %s = %s falls behind the whole on %s.', s->>'column',
                                coalesce(s->>'value', 'NULL'),
                                (SELECT string_agg(b, ', ') FROM jsonb_array_elements_text(s->'behind') b)))
        INTO behind
        FROM jsonb_array_elements(latest.result->'slices') s
        WHERE jsonb_array_length(s->'behind') > 0;
        caveats := caveats || coalesce(behind, '[]');
    END IF;
    IF fairness IS NULL THEN
        caveats := caveats || to_jsonb('No fairness figures are recorded: run automl_fairness with a sensitive column.'::text);
    END IF;
    SELECT EXISTS (SELECT 1 FROM automl.monitors mo WHERE mo.name = model_name AND mo.enabled) INTO monitored;
    IF NOT monitored THEN
        caveats := caveats || to_jsonb('Predictions are not monitored: no drift status (automl_monitor switches it on).'::text);
    ELSIF v = deployed_version THEN
        SELECT array_agg(d.feature ORDER BY d.feature) INTO drifted
        FROM automl.drift d WHERE d.model = model_name AND d.drifted AND d.feature IS NOT NULL;
        IF drifted IS NOT NULL THEN
            caveats := caveats || to_jsonb(format('Drift in the latest window: %s.', array_to_string(drifted, ', ')));
        END IF;
    END IF;
    IF m.retired_at IS NOT NULL THEN
        caveats := caveats || to_jsonb(format('This version was retired at %s: it can no longer predict.', m.retired_at));
    END IF;

    RETURN jsonb_build_object(
        'model_details', jsonb_build_object(
            'name', m.name, 'version', m.version, 'task', m.task, 'algorithm', m.algorithm,
            'hyperparams', m.hyperparams,
            'features', (SELECT jsonb_agg(jsonb_build_object('name', f, 'kind', k) ORDER BY i)
                         FROM unnest(m.features, m.feature_kinds) WITH ORDINALITY AS u(f, k, i)),
            'classes', to_jsonb(m.classes), 'calibration', m.calibration->>'method',
            'created_at', m.created_at, 'created_by', m.created_by,
            'extension_version', m.extension_version, 'format_version', m.format_version,
            'train_seconds', m.train_seconds, 'trials', m.options->'trials',
            'deployed', v IS NOT DISTINCT FROM deployed_version),
        'intended_use', (SELECT d.intended_use FROM automl.descriptions d WHERE d.name = model_name),
        'training_data', jsonb_build_object(
            'relation', m.source_relation, 'kind', m.source_kind, 'definition', m.source_definition,
            'target', m.target, 'rows', m.n_rows, 'rows_in_relation', m.options->'rows_in_relation',
            'rows_with_null_target', m.options->'rows_with_null_target', 'digest', m.data_digest,
            'columns', coalesce((SELECT jsonb_agg(c - 'bin_edges' - 'bin_shares')
                                 FROM jsonb_array_elements(m.profile->'columns') c), '[]')),
        'validation', jsonb_build_object(
            'scheme', m.options->>'validation', 'folds', m.options->'folds', 'metric', m.metric,
            'score', m.score, 'metrics', m.metrics, 'calibration', m.calibration),
        'evaluation', CASE WHEN latest IS NULL THEN NULL ELSE jsonb_build_object(
            'relation', latest.relation, 'rows', latest.n_rows, 'evaluated_at', latest.evaluated_at,
            'evaluated_by', latest.evaluated_by, 'metrics', latest.result->'metrics') END,
        'slices', CASE WHEN latest IS NULL THEN NULL ELSE jsonb_build_object(
            'slice_margin', latest.arguments->'slice_margin', 'slices', latest.result->'slices') END,
        'fairness', fairness,
        'caveats', caveats,
        'lineage', (SELECT jsonb_agg(jsonb_build_object(
                        'version', l.version, 'status', l.status, 'created_at', l.created_at,
                        'created_by', l.created_by, 'relation', l.source_relation,
                        'digest', l.data_digest, 'rows', l.n_rows, 'parent_version', l.parent_version,
                        'metric', l.metric, 'score', l.score, 'deployments', l.deployments) ORDER BY l.version)
                    FROM automl.lineage l WHERE l.model = model_name));
END
$card$;
COMMENT ON FUNCTION automl_model_card_json IS 'the model card of a version (default: the deployed one) as jsonb';

-- The same card as a Markdown document.
CREATE FUNCTION automl_model_card(name text, version integer DEFAULT NULL)
RETURNS text
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $card$
DECLARE
    c jsonb := @extschema@.automl_model_card_json(name, version);
    d jsonb := c->'model_details';
    md text;
    x jsonb;
    k text;
    val jsonb;

BEGIN
    md := format(E'# Model card: %s, version %s\n\n', d->>'name', d->>'version');

    md := md || E'## Model details\n\n'
        || format(E'- Task: %s; algorithm: %s; calibration: %s\n', d->>'task', d->>'algorithm',
                  coalesce(d->>'calibration', 'not applicable'))
        || format(E'- Hyper-parameters: `%s`\n', d->'hyperparams')
        || format(E'- Features (%s): %s\n', jsonb_array_length(d->'features'),
                  (SELECT string_agg(format('%s (%s)', f->>'name', f->>'kind'), ', ')
                   FROM jsonb_array_elements(d->'features') f))
        || CASE WHEN d->'classes' <> 'null' THEN format(E'- Classes: %s\n',
                  (SELECT string_agg(cl, ', ') FROM jsonb_array_elements_text(d->'classes') cl)) ELSE '' END
        || format(E'- Trained by %s at %s in %s s (%s trials); automl %s, model format %s\n',
                  d->>'created_by', d->>'created_at', round((d->>'train_seconds')::numeric, 1),
                  coalesce(d->>'trials', '1'), d->>'extension_version', d->>'format_version')
        || format(E'- Deployed: %s\n\n', CASE WHEN (d->>'deployed')::boolean THEN 'yes' ELSE 'no' END);

    md := md || E'## Intended use\n\n'
        || coalesce(c->>'intended_use', 'Not stated. The owner sets it with automl_set_intended_use(name, text).')
        || E'\n\n';

    x := c->'training_data';
    md := md || E'## Training data\n\n'
        || format(E'- Source: %s (%s), target %s\n', x->>'relation', x->>'kind', x->>'target')
        || format(E'- Rows: %s used of %s with a target (%s with a NULL target left out)\n',
                  x->>'rows', coalesce(x->>'rows_in_relation', x->>'rows'), coalesce(x->>'rows_with_null_target', '0'))
        || format(E'- Digest (SHA-256 of the rows): %s\n\n', x->>'digest')
        || E'| column | kind | missing | summary |\n|---|---|---|---|\n'
        || coalesce((SELECT string_agg(format(E'| %s | %s | %s | %s |', col->>'name', col->>'kind',
                        round(coalesce((col->>'missing_share')::numeric, 0), 4),
                        CASE WHEN col->>'kind' = 'categorical'
                             THEN 'top levels: ' || coalesce((SELECT string_agg(format('%s %s', l->>'level', round((l->>'share')::numeric, 3)), ', ')
                                   FROM (SELECT l FROM jsonb_array_elements(col->'levels') l LIMIT 5) t), '')
                             ELSE format('min %s, mean %s, max %s', col->>'min', round((col->>'mean')::numeric, 4), col->>'max') END),
                        E'\n') FROM jsonb_array_elements(x->'columns') col), '')
        || E'\n\n';

    x := c->'validation';
    md := md || E'## Evaluation data and metrics\n\n'
        || format(E'Validation during training: %s (%s folds), chosen by %s = %s.\n\n',
                  x->>'scheme', x->>'folds', x->>'metric', round((x->>'score')::numeric, 4))
        || E'| metric | validation |\n|---|---|\n'
        || coalesce((SELECT string_agg(format('| %s | %s |', key,
                            CASE WHEN value::numeric = trunc(value::numeric) THEN value::text ELSE round(value::numeric, 4)::text END),
                            E'\n' ORDER BY key)
                     FROM jsonb_each(x->'metrics') WHERE jsonb_typeof(value) = 'number'), '')
        || E'\n\n';
    x := c->'evaluation';
    IF x IS NULL OR x = 'null' THEN
        md := md || E'No evaluation on a labelled relation is recorded (automl_evaluate records one).\n\n';
    ELSE
        md := md || format(E'Evaluated on %s (%s rows) by %s at %s:\n\n', x->>'relation', x->>'rows',
                           x->>'evaluated_by', x->>'evaluated_at')
            || E'| metric | value |\n|---|---|\n'
            || coalesce((SELECT string_agg(format('| %s | %s |', key,
                            CASE WHEN jsonb_typeof(value) = 'number' THEN round(value::text::numeric, 4)::text ELSE 'undefined' END),
                            E'\n' ORDER BY key) FROM jsonb_each(x->'metrics')), '')
            || E'\n\n';
    END IF;

    md := md || E'## Per-slice results\n\n';
    x := c->'slices';
    IF x IS NULL OR x = 'null' OR jsonb_array_length(x->'slices') = 0 THEN
        md := md || E'No slices evaluated (automl_evaluate with slice_by).\n\n';
    ELSE
        md := md || format(E'A slice falls behind when a metric is worse than the whole''s by more than %s (points for metrics between 0 and 1, a share of the value for the others). Slices of few rows are noisy: read their row counts.\n\n',
                           x->>'slice_margin')
            || E'| column | value | rows | behind on |\n|---|---|---|---|\n'
            || (SELECT string_agg(format('| %s | %s | %s | %s |', s->>'column', coalesce(s->>'value', 'NULL'), s->>'rows',
                                         coalesce((SELECT string_agg(b, ', ') FROM jsonb_array_elements_text(s->'behind') b), '-')),
                                  E'\n') FROM jsonb_array_elements(x->'slices') s)
            || E'\n\n';
    END IF;

    md := md || E'## Fairness\n\n';
    IF c->'fairness' IS NULL OR c->'fairness' = 'null' THEN
        md := md || E'No sensitive column evaluated (automl_fairness records one).\n\n';
    ELSE
        FOR x IN SELECT * FROM jsonb_array_elements(c->'fairness') LOOP
            md := md || format(E'Sensitive column %s on %s (%s rows), positive class %s: demographic-parity difference %s, equalized-odds difference %s.\n\n',
                               x->>'sensitive', x->>'relation', x->>'rows', x->>'positive_class',
                               round((x->>'demographic_parity_difference')::numeric, 4),
                               round((x->>'equalized_odds_difference')::numeric, 4))
                || E'| group | rows | selection rate | true positive rate | false positive rate |\n|---|---|---|---|---|\n'
                || (SELECT string_agg(format('| %s | %s | %s | %s | %s |', coalesce(g->>'value', 'NULL'), g->>'rows',
                                             round((g->>'selection_rate')::numeric, 4),
                                             coalesce(round((g->>'true_positive_rate')::numeric, 4)::text, 'undefined'),
                                             coalesce(round((g->>'false_positive_rate')::numeric, 4)::text, 'undefined')),
                                      E'\n') FROM jsonb_array_elements(x->'groups') g)
                || E'\n\n';
        END LOOP;
    END IF;

    md := md || E'## Caveats\n\n'
        || coalesce((SELECT string_agg('- ' || cv, E'\n') FROM jsonb_array_elements_text(c->'caveats') cv), 'None known.')
        || E'\n\n';

    md := md || E'## Lineage\n\n| version | status | created | by | relation | rows | digest | metric | score |\n|---|---|---|---|---|---|---|---|---|\n'
        || (SELECT string_agg(format('| %s | %s | %s | %s | %s | %s | %s | %s | %s |', l->>'version', l->>'status',
                                     l->>'created_at', l->>'created_by', l->>'relation', l->>'rows',
                                     left(l->>'digest', 12), l->>'metric', round((l->>'score')::numeric, 4)),
                              E'\n') FROM jsonb_array_elements(c->'lineage') l)
        || E'\n';
    RETURN md;
END
$card$;
COMMENT ON FUNCTION automl_model_card IS 'the model card of a version (default: the deployed one) as a Markdown document';

CREATE FUNCTION automl_feature_importance(name text, relation text DEFAULT NULL,
                                          version integer DEFAULT NULL, repeats integer DEFAULT 5)
RETURNS TABLE (feature text, method text, importance float8, importance_std float8,
               share float8, rank integer)
AS 'MODULE_PATHNAME', 'automl_feature_importance' LANGUAGE C STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION automl_feature_importance IS 'importance of each feature: the learner''s own (gain, coefficients) and, on a labelled relation, permutation importance';

CREATE FUNCTION automl_explain(model text, features anyelement, class text DEFAULT NULL)
RETURNS TABLE (feature text, value text, contribution float8, scale text, class text)
AS 'MODULE_PATHNAME', 'automl_explain' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION automl_explain IS 'each feature''s exact contribution to one row''s margin (TreeSHAP for trees, w (x - mean) for linear models), and the (base) row';

-- Forecasting ---------------------------------------------------------------

CREATE FUNCTION automl_forecast(name text, horizon integer DEFAULT NULL, series text DEFAULT NULL,
                                level float8 DEFAULT 0.95)
RETURNS TABLE (series text, period timestamp, forecast float8, lower float8, upper float8)
AS 'MODULE_PATHNAME', 'automl_forecast' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION automl_forecast IS 'the next periods of each series of a forecast model, with prediction intervals';
