
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
GRANT SELECT ON automl.evaluations, automl.descriptions TO PUBLIC;

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
AS 'MODULE_PATHNAME', 'automl_confusion_matrix' LANGUAGE C STABLE PARALLEL UNSAFE;
COMMENT ON FUNCTION automl_confusion_matrix IS 'rows per (actual, predicted) class pair on a labelled relation';

CREATE FUNCTION automl_roc_curve(name text, relation text, version integer DEFAULT NULL)
RETURNS TABLE (class text, threshold float8, false_positive_rate float8, true_positive_rate float8)
AS 'MODULE_PATHNAME', 'automl_roc_curve' LANGUAGE C STABLE PARALLEL UNSAFE;
COMMENT ON FUNCTION automl_roc_curve IS 'ROC points per class (the positive class of two) on a labelled relation';

CREATE FUNCTION automl_pr_curve(name text, relation text, version integer DEFAULT NULL)
RETURNS TABLE (class text, threshold float8, recall float8, "precision" float8)
AS 'MODULE_PATHNAME', 'automl_pr_curve' LANGUAGE C STABLE PARALLEL UNSAFE;
COMMENT ON FUNCTION automl_pr_curve IS 'precision-recall points per class (the positive class of two) on a labelled relation';

CREATE FUNCTION automl_calibration_curve(name text, relation text, version integer DEFAULT NULL)
RETURNS TABLE (class text, bin integer, lower float8, upper float8, rows bigint,
               mean_predicted float8, fraction_positive float8)
AS 'MODULE_PATHNAME', 'automl_calibration_curve' LANGUAGE C STABLE PARALLEL UNSAFE;
COMMENT ON FUNCTION automl_calibration_curve IS 'reliability table: ten probability bins, mean predicted against observed share';

CREATE FUNCTION automl_lift_curve(name text, relation text, version integer DEFAULT NULL)
RETURNS TABLE (class text, decile integer, rows bigint, positives bigint, min_score float8,
               max_score float8, positive_rate float8, lift float8, cumulative_share float8,
               cumulative_gain float8, cumulative_lift float8)
AS 'MODULE_PATHNAME', 'automl_lift_curve' LANGUAGE C STABLE PARALLEL UNSAFE;
COMMENT ON FUNCTION automl_lift_curve IS 'lift and gain per tenth of the rows ranked by probability';

CREATE FUNCTION automl_fairness(name text, relation text, sensitive text, version integer DEFAULT NULL)
RETURNS TABLE (sensitive_value text, rows bigint, selection_rate float8,
               true_positive_rate float8, false_positive_rate float8,
               demographic_parity_difference float8, equalized_odds_difference float8)
AS 'MODULE_PATHNAME', 'automl_fairness' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION automl_fairness IS 'selection rate and error rates per group of a sensitive column, with demographic-parity and equalized-odds differences';
