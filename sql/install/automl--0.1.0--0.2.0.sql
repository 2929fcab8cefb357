-- automl: update an installation of 0.1.0 to 0.2.0 (ALTER EXTENSION automl UPDATE).
--
-- This script holds every difference between release 0.1.0's install script
-- (automl--0.1.0.sql, tag v0.1.0) and the current pieces (automl.sql and
-- evaluation.sql), so that an updated installation has exactly the catalog of a fresh
-- CREATE EXTENSION automl: test/t/008_upgrade.pl compares the two after filling 0.1.0
-- with models, deployments, logged predictions, monitors and a pg_cron schedule.
-- Whoever changes the pieces for 0.2.0 adds the same change here (new columns at the
-- end of their table, as ALTER TABLE ADD COLUMN puts them).
--
-- One C library serves both versions. A 0.1.0 installation (before this update, or when
-- CREATE EXTENSION automl VERSION '0.1.0' is run with this release's automl.so) calls
-- these C symbols of $libdir/automl, named in automl--0.1.0.sql, with 0.1.0's
-- arguments and result types; the library must keep exporting every one of them, or
-- replace it here (and in the pieces) in the same change that renames or removes it:
--   automl_training_progress automl_train automl_predict automl_predict_label
--   automl_predict_proba automl_deploy automl_rollback automl_retire automl_delete
--   automl_set_policy automl_monitor automl_flush_predictions automl_observe
--   automl_observe_query automl_purge_predictions automl_drift automl_data_quality
--   automl_performance automl_retrain automl_retrain_if_needed automl_schedule_retrain
--   automl_unschedule_retrain automl_evaluate automl_confusion_matrix automl_roc_curve
--   automl_pr_curve automl_calibration_curve automl_lift_curve automl_fairness
--   automl_set_intended_use automl_feature_importance automl_explain automl_forecast
-- (CREATE EXTENSION automl VERSION '0.1.0' fails at once when one is missing: the TAP
-- test above runs it.) The model bytes, the prediction log's spool files and the
-- pg_cron job commands ('SELECT * FROM <schema>.automl_retrain[_if_needed](...)') that
-- 0.1.0 wrote must also stay readable and valid.

\echo Use "ALTER EXTENSION automl UPDATE TO '0.2.0'" to load this file. \quit

-- Comments: every object of the extension has one ---------------------------

COMMENT ON SCHEMA automl IS 'automl catalog: registered models and their versions, deployments, audit trail, prediction log, monitors and evaluations';
COMMENT ON SEQUENCE automl.deployments_id_seq IS 'identity of automl.deployments.id (the order of deployments)';
COMMENT ON SEQUENCE automl.events_id_seq IS 'identity of automl.events.id (the order of the audit trail)';
COMMENT ON SEQUENCE automl.predictions_id_seq IS 'identity of automl.predictions.id (the order the log writer stored them in)';
COMMENT ON SEQUENCE automl.evaluations_id_seq IS 'generates automl.evaluations.id (the order evaluations were recorded in)';
COMMENT ON FUNCTION automl.forbid_change() IS 'trigger of automl.deployments and automl.events: refuses UPDATE and DELETE (automl_delete alone removes a deleted name''s deployments)';
COMMENT ON FUNCTION automl.caller_owns(name) IS 'whether the calling role is a member of this owner role (a dropped role matches no one): whose logged predictions and monitoring rows a role sees';
COMMENT ON FUNCTION @extschema@.automl_training_progress() IS 'one row per automl_train running now in any session: phase, trials done, best score, seconds left';

-- PARALLEL labels that say the truth (volatility labels were already right) --

-- Read only what every process can read (shared memory, catalog tables), write nothing:
-- a parallel worker may run them.
ALTER FUNCTION automl.forbid_change() PARALLEL SAFE;
ALTER FUNCTION @extschema@.automl_training_progress() PARALLEL SAFE;
ALTER FUNCTION @extschema@.automl_drift(text, timestamptz, timestamptz) PARALLEL SAFE;
ALTER FUNCTION @extschema@.automl_data_quality(text, timestamptz, timestamptz) PARALLEL SAFE;
ALTER FUNCTION @extschema@.automl_performance(text, timestamptz, timestamptz) PARALLEL SAFE;
ALTER FUNCTION @extschema@.automl_model_card_json(text, integer) PARALLEL SAFE;
ALTER FUNCTION @extschema@.automl_model_card(text, integer) PARALLEL SAFE;

-- Write nothing, but read a relation the caller names, which may be the leader's
-- temporary table: they must run in the leader.
ALTER FUNCTION @extschema@.automl_confusion_matrix(text, text, integer) PARALLEL RESTRICTED;
ALTER FUNCTION @extschema@.automl_roc_curve(text, text, integer) PARALLEL RESTRICTED;
ALTER FUNCTION @extschema@.automl_pr_curve(text, text, integer) PARALLEL RESTRICTED;
ALTER FUNCTION @extschema@.automl_calibration_curve(text, text, integer) PARALLEL RESTRICTED;
ALTER FUNCTION @extschema@.automl_lift_curve(text, text, integer) PARALLEL RESTRICTED;
ALTER FUNCTION @extschema@.automl_feature_importance(text, text, integer, integer) PARALLEL RESTRICTED;

-- Private catalogs: a role sees (and scores with) the models of its owner roles and
-- those granted to it (issue 21). See the "Who may use a model" part of automl.sql.
ALTER TABLE automl.events DROP CONSTRAINT events_event_check;
ALTER TABLE automl.events ADD CONSTRAINT events_event_check
    CHECK (event IN ('train', 'deploy', 'auto_deploy', 'auto_deploy_refused',
                     'rollback', 'retire', 'delete', 'policy',
                     'monitor', 'purge', 'retrain', 'retrain_skipped',
                     'schedule', 'grant', 'revoke'));

CREATE TABLE automl.grants (
    name       text        NOT NULL REFERENCES automl.registry (name) ON DELETE CASCADE,
    grantee    name        NOT NULL,
    owner      name        NOT NULL,
    granted_by name        NOT NULL,
    granted_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (name, grantee)
);
COMMENT ON TABLE automl.grants IS 'roles other than the owner''s that may see and score with a model (automl_grant, automl_revoke)';
SELECT pg_catalog.pg_extension_config_dump('automl.grants', '');
GRANT SELECT ON automl.grants TO PUBLIC;

ALTER TABLE automl.registry ENABLE ROW LEVEL SECURITY;
CREATE POLICY registry_of_visible_models ON automl.registry FOR SELECT
    USING (automl.caller_owns(owner)
           OR EXISTS (SELECT 1 FROM automl.grants g
                      WHERE g.name = registry.name
                        AND (g.grantee = 'public' OR automl.caller_owns(g.grantee))));
ALTER TABLE automl.grants ENABLE ROW LEVEL SECURITY;
CREATE POLICY grants_of_owner_or_grantee ON automl.grants FOR SELECT
    USING (automl.caller_owns(owner) OR grantee = 'public' OR automl.caller_owns(grantee));
ALTER TABLE automl.models ENABLE ROW LEVEL SECURITY;
CREATE POLICY models_of_visible_models ON automl.models FOR SELECT
    USING (EXISTS (SELECT 1 FROM automl.registry r WHERE r.name = models.name));
ALTER TABLE automl.trials ENABLE ROW LEVEL SECURITY;
CREATE POLICY trials_of_visible_models ON automl.trials FOR SELECT
    USING (EXISTS (SELECT 1 FROM automl.registry r WHERE r.name = trials.name));
ALTER TABLE automl.deployments ENABLE ROW LEVEL SECURITY;
CREATE POLICY deployments_of_visible_models ON automl.deployments FOR SELECT
    USING (EXISTS (SELECT 1 FROM automl.registry r WHERE r.name = deployments.name));
ALTER TABLE automl.monitors ENABLE ROW LEVEL SECURITY;
CREATE POLICY monitors_of_visible_models ON automl.monitors FOR SELECT
    USING (EXISTS (SELECT 1 FROM automl.registry r WHERE r.name = monitors.name));
ALTER TABLE automl.events ENABLE ROW LEVEL SECURITY;
CREATE POLICY events_of_visible_models ON automl.events FOR SELECT
    USING (automl.caller_owns(who)
           OR EXISTS (SELECT 1 FROM automl.registry r WHERE r.name = events.name AND events.at >= r.created_at));
ALTER TABLE automl.alert_state ENABLE ROW LEVEL SECURITY;
CREATE POLICY alert_state_of_own_models ON automl.alert_state FOR SELECT
    USING (EXISTS (SELECT 1 FROM automl.registry r WHERE r.name = alert_state.model AND automl.caller_owns(r.owner)));
ALTER TABLE automl.evaluations ENABLE ROW LEVEL SECURITY;
CREATE POLICY evaluations_of_visible_models ON automl.evaluations FOR SELECT
    USING (EXISTS (SELECT 1 FROM automl.registry r WHERE r.name = evaluations.name));
ALTER TABLE automl.descriptions ENABLE ROW LEVEL SECURITY;
CREATE POLICY descriptions_of_visible_models ON automl.descriptions FOR SELECT
    USING (EXISTS (SELECT 1 FROM automl.registry r WHERE r.name = descriptions.name));

-- the views read the catalog as the caller, so the policies apply to them
ALTER VIEW automl.deployed SET (security_invoker = true);
ALTER VIEW automl.lineage SET (security_invoker = true);
ALTER VIEW automl.audit SET (security_invoker = true);
ALTER VIEW automl.leaderboard SET (security_invoker = true);

CREATE FUNCTION @extschema@.automl_grant(model text, role text) RETURNS boolean
AS 'MODULE_PATHNAME', 'automl_grant' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.automl_grant IS 'let a role (or public) see the model''s catalog rows and score with it; true if it could not before';
CREATE FUNCTION @extschema@.automl_revoke(model text, role text) RETURNS boolean
AS 'MODULE_PATHNAME', 'automl_revoke' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.automl_revoke IS 'withdraw what automl_grant gave a role; true if the role had been granted the model';
-- a model the caller may not see never reaches the monitoring functions
ALTER VIEW automl.drift SET (security_invoker = true);
ALTER VIEW automl.data_quality SET (security_invoker = true);
ALTER VIEW automl.performance SET (security_invoker = true);

-- automl.caller_owns in C: every catalog policy calls it for each row it checks (the SQL
-- version over pg_roles made a one-row scoring statement of another role 4x slower)
CREATE OR REPLACE FUNCTION automl.caller_owns(owner name) RETURNS boolean
AS 'MODULE_PATHNAME', 'automl_caller_owns' LANGUAGE C STABLE PARALLEL SAFE;

-- automl_version_at: a NULL argument or an unknown model is an error (it answered NULL,
-- as for a time before the first deployment)
CREATE OR REPLACE FUNCTION @extschema@.automl_version_at(model text, at timestamptz DEFAULT now())
RETURNS integer
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $version_at$
BEGIN
    IF automl_version_at.model IS NULL THEN
        RAISE EXCEPTION 'model must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF automl_version_at.at IS NULL THEN
        RAISE EXCEPTION 'at must not be NULL' USING ERRCODE = 'null_value_not_allowed',
            HINT = 'Leave it out for the version that serves now.';
    END IF;
    -- NULL only for a time before its first deployment: an unknown name (or one the
    -- caller may not see) is an error, as in every other function
    IF NOT EXISTS (SELECT 1 FROM automl.registry r WHERE r.name = automl_version_at.model) THEN
        RAISE EXCEPTION 'model "%" does not exist', automl_version_at.model USING ERRCODE = 'undefined_object',
            HINT = 'automl.models lists the trained models.';
    END IF;
    RETURN (SELECT d.version FROM automl.deployments d
            WHERE d.name = automl_version_at.model AND d.deployed_at <= automl_version_at.at
            ORDER BY d.id DESC LIMIT 1);
END
$version_at$;
