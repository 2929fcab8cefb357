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

-- Scale-out on Citus (docs/scale-out.md) -----------------------------------

-- What a Citus worker needs to score and log: every live version's bytes, which version
-- is deployed, who may score, the name's log settings and when the name was created. The catalog stays on the
-- coordinator, the one source of truth; automl_citus_setup() makes this table a Citus
-- reference table, and from then on the triggers below copy every change of the catalog
-- into it in the same transaction, so a worker's next statement sees a deployment.
-- On a single node it stays empty and the triggers return at once.
CREATE TABLE automl.replica (
    name            text    NOT NULL,
    version         integer NOT NULL,
    model_bytes     bytea   NOT NULL,
    deployed        boolean NOT NULL,
    owner           name    NOT NULL,
    readers         name[]  NOT NULL,
    created_at      timestamptz NOT NULL,
    monitor_enabled boolean,
    sample_rate     float8,
    key_column      text,
    exclude         text[],
    PRIMARY KEY (name, version)
);
COMMENT ON TABLE automl.replica IS 'on a Citus cluster, the live model versions, their deployment, readers and log settings, replicated to every node for scoring there (automl_citus_setup)';
REVOKE ALL ON automl.replica FROM PUBLIC;

-- Whether automl.replica is a Citus table (automl_citus_setup has run).
-- STABLE PARALLEL SAFE: it reads Citus's metadata, if Citus is there.
CREATE FUNCTION automl.replica_enabled() RETURNS boolean
LANGUAGE plpgsql STABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    found boolean;
BEGIN
    IF to_regclass('pg_catalog.pg_dist_partition') IS NULL THEN
        RETURN false;
    END IF;
    EXECUTE 'SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_dist_partition'
            ' WHERE logicalrelid OPERATOR(pg_catalog.=) ''automl.replica''::regclass)' INTO found;
    RETURN found;
END
$$;
COMMENT ON FUNCTION automl.replica_enabled() IS 'whether automl.replica is a Citus reference table (automl_citus_setup has run)';

-- Brings one name's rows of automl.replica in line with the catalog. Sends only what
-- changed: a version's bytes once, the per-name columns where they differ.
-- VOLATILE PARALLEL UNSAFE: it writes.
CREATE FUNCTION automl.replica_sync(model_name text) RETURNS void
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    the_owner   name;
    created     timestamptz;
    mon         record;
    dep         integer;
    the_readers name[];
    live        integer[];
    present     integer[];
    v           record;
BEGIN
    SELECT r.owner, r.created_at INTO the_owner, created FROM automl.registry r WHERE r.name = model_name;
    IF the_owner IS NULL THEN
        DELETE FROM automl.replica WHERE name = model_name;
        RETURN;
    END IF;
    SELECT d.version INTO dep FROM automl.deployments d WHERE d.name = model_name
    ORDER BY d.id DESC LIMIT 1;
    SELECT coalesce(array_agg(g.grantee ORDER BY g.grantee), '{}') INTO the_readers
    FROM automl.grants g WHERE g.name = model_name;
    SELECT o.enabled, o.sample_rate, o.key_column, o.exclude INTO mon
    FROM automl.monitors o WHERE o.name = model_name;
    SELECT coalesce(array_agg(m.version), '{}') INTO live
    FROM automl.models m WHERE m.name = model_name AND m.model_bytes IS NOT NULL;
    SELECT coalesce(array_agg(p.version), '{}') INTO present
    FROM automl.replica p WHERE p.name = model_name;

    IF NOT present <@ live THEN
        DELETE FROM automl.replica WHERE name = model_name AND NOT (version = ANY (live));
    END IF;
    FOR v IN SELECT m.version, m.model_bytes FROM automl.models m
             WHERE m.name = model_name AND m.model_bytes IS NOT NULL
               AND NOT (m.version = ANY (present)) LOOP
        INSERT INTO automl.replica (name, version, model_bytes, deployed, owner, readers, created_at,
                                    monitor_enabled, sample_rate, key_column, exclude)
        VALUES (model_name, v.version, v.model_bytes, v.version IS NOT DISTINCT FROM dep,
                the_owner, the_readers, created, mon.enabled, mon.sample_rate, mon.key_column, mon.exclude);
    END LOOP;
    UPDATE automl.replica
    SET deployed = version IS NOT DISTINCT FROM dep, owner = the_owner, readers = the_readers,
        created_at = created, monitor_enabled = mon.enabled, sample_rate = mon.sample_rate,
        key_column = mon.key_column, exclude = mon.exclude
    WHERE name = model_name
      AND (deployed, owner, readers, created_at, monitor_enabled, sample_rate, key_column, exclude)
          IS DISTINCT FROM (version IS NOT DISTINCT FROM dep, the_owner, the_readers, created,
                            mon.enabled, mon.sample_rate, mon.key_column, mon.exclude);
END
$$;
COMMENT ON FUNCTION automl.replica_sync(text) IS 'copy one model name''s catalog state into automl.replica (on a Citus cluster)';

-- The trigger of every catalog table whose rows a worker's scoring depends on.
CREATE FUNCTION automl.replica_follow() RETURNS trigger
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF automl.replica_enabled() THEN
        PERFORM automl.replica_sync(CASE WHEN TG_OP = 'DELETE' THEN OLD.name ELSE NEW.name END);
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION automl.replica_follow() IS 'trigger of the catalog tables: on a Citus cluster, copies the changed name into automl.replica';
CREATE TRIGGER replica_follow AFTER INSERT OR UPDATE OR DELETE ON automl.registry
    FOR EACH ROW EXECUTE FUNCTION automl.replica_follow();
CREATE TRIGGER replica_follow AFTER INSERT OR UPDATE OR DELETE ON automl.models
    FOR EACH ROW EXECUTE FUNCTION automl.replica_follow();
CREATE TRIGGER replica_follow AFTER INSERT OR DELETE ON automl.deployments
    FOR EACH ROW EXECUTE FUNCTION automl.replica_follow();
CREATE TRIGGER replica_follow AFTER INSERT OR UPDATE OR DELETE ON automl.grants
    FOR EACH ROW EXECUTE FUNCTION automl.replica_follow();
CREATE TRIGGER replica_follow AFTER INSERT OR UPDATE OR DELETE ON automl.monitors
    FOR EACH ROW EXECUTE FUNCTION automl.replica_follow();

-- The one call of the set-up on a Citus coordinator. Idempotent.
-- VOLATILE PARALLEL UNSAFE: it creates a Citus table and writes.
CREATE FUNCTION @extschema@.automl_citus_setup() RETURNS bigint
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    n bigint;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'citus') THEN
        RAISE EXCEPTION 'automl_citus_setup needs the citus extension'
            USING ERRCODE = 'feature_not_supported',
                  HINT = 'Run it on a Citus coordinator, after CREATE EXTENSION citus; a single node needs no set-up.';
    END IF;
    IF (SELECT groupid FROM pg_dist_local_group) <> 0 THEN
        RAISE EXCEPTION 'automl_citus_setup runs on the coordinator, not on a worker'
            USING ERRCODE = 'feature_not_supported';
    END IF;
    IF NOT automl.replica_enabled() THEN
        PERFORM create_reference_table('automl.replica');
    END IF;
    PERFORM automl.replica_sync(r.name) FROM automl.registry r;
    SELECT count(*) INTO n FROM automl.replica;
    RETURN n;
END
$$;
COMMENT ON FUNCTION @extschema@.automl_citus_setup() IS 'on a Citus coordinator: replicate what scoring needs to every node (automl.replica); returns the number of model versions replicated';
REVOKE EXECUTE ON FUNCTION @extschema@.automl_citus_setup() FROM PUBLIC;

-- Predictions scored on a worker are spooled and written into that worker's own
-- automl.predictions by its log writer, as on one node; automl_collect_predictions() moves
-- them to the coordinator's, where the monitoring views read. Exactly once: the last id
-- taken from each worker is stored here in the transaction that inserts the rows, and a
-- worker's rows are deleted there only once a committed collection has taken them.
CREATE TABLE automl.collected (
    groupid      integer     PRIMARY KEY,
    last_id      bigint      NOT NULL,
    collected_at timestamptz NOT NULL
);
COMMENT ON TABLE automl.collected IS 'on a Citus coordinator: the last automl.predictions id collected from each worker (automl_collect_predictions)';
REVOKE ALL ON automl.collected FROM PUBLIC;

-- SECURITY DEFINER: any role may bring the log up to date (automl_flush_predictions does),
-- which reads every worker's log as the extension owner; it moves rows, never shows them.
-- VOLATILE PARALLEL UNSAFE: it writes.
CREATE FUNCTION @extschema@.automl_collect_predictions() RETURNS bigint
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    batch_rows constant integer := 5000;
    node    record;
    done    bigint;
    res     record;
    batch   jsonb;
    n       integer;
    taken   bigint := 0;
BEGIN
    IF NOT automl.replica_enabled() THEN
        RETURN 0;               -- one node: nothing to collect
    END IF;
    IF (SELECT groupid FROM pg_dist_local_group) <> 0 THEN
        RETURN 0;               -- a worker: the coordinator collects
    END IF;
    PERFORM pg_advisory_xact_lock(6385006, 0);      -- one collection at a time
    FOR node IN SELECT groupid, nodename, nodeport FROM pg_dist_node
                WHERE groupid > 0 AND noderole = 'primary' AND isactive ORDER BY groupid LOOP
        done := coalesce((SELECT c.last_id FROM automl.collected c WHERE c.groupid = node.groupid), 0);
        -- on the worker: forget what committed collections took, write its spool files
        SELECT * INTO res FROM master_run_on_worker(ARRAY[node.nodename], ARRAY[node.nodeport],
            ARRAY[format('WITH gone AS (DELETE FROM automl.predictions WHERE id <= %s RETURNING 1)'
                         ' SELECT automl_flush_predictions()', done)], false);
        IF NOT res.success THEN
            RAISE WARNING 'could not collect logged predictions from the worker at %:%', node.nodename, node.nodeport
                USING DETAIL = res.result,
                      HINT = 'Nothing is lost: its predictions wait there for the next collection.';
            CONTINUE;
        END IF;
        LOOP
            SELECT * INTO res FROM master_run_on_worker(ARRAY[node.nodename], ARRAY[node.nodeport],
                ARRAY[format('SELECT coalesce(jsonb_agg(p ORDER BY p.id), ''[]'') FROM'
                             ' (SELECT * FROM automl.predictions WHERE id > %s ORDER BY id LIMIT %s) p',
                             done, batch_rows)], false);
            IF NOT res.success THEN
                RAISE WARNING 'could not collect logged predictions from the worker at %:%', node.nodename, node.nodeport
                    USING DETAIL = res.result,
                          HINT = 'Nothing is lost: its predictions wait there for the next collection.';
                EXIT;
            END IF;
            batch := res.result::jsonb;
            n := jsonb_array_length(batch);
            EXIT WHEN n = 0;
            INSERT INTO automl.predictions (model, version, predicted_at, key, features, prediction, label, probabilities)
            SELECT p.model, p.version, p.predicted_at, p.key, p.features, p.prediction, p.label, p.probabilities
            FROM jsonb_populate_recordset(NULL::automl.predictions, batch) p ORDER BY p.id;
            done := (batch -> (n - 1) ->> 'id')::bigint;
            taken := taken + n;
            EXIT WHEN n < batch_rows;
        END LOOP;
        INSERT INTO automl.collected AS c (groupid, last_id, collected_at) VALUES (node.groupid, done, now())
        ON CONFLICT (groupid) DO UPDATE SET last_id = excluded.last_id, collected_at = excluded.collected_at;
    END LOOP;
    RETURN taken;
END
$$;
COMMENT ON FUNCTION @extschema@.automl_collect_predictions() IS 'on a Citus coordinator: move the predictions logged on the workers into automl.predictions, exactly once; returns the rows moved';

-- automl_train's refit of a ridge model on every row of a distributed table whose rows it
-- trained on a sample of (docs/scale-out.md): a row's target and inputs as a model prepares
-- them, and their sums. The combine function lets Citus sum each worker's shards there and
-- add the partial sums on the coordinator (it refuses polymorphic aggregates, hence the
-- float8[] argument).
-- IMMUTABLE: the results depend on the arguments alone. PARALLEL SAFE: no state but the
-- aggregate's.
CREATE FUNCTION automl.linear_inputs(model bytea, target text, row_value anyelement) RETURNS float8[]
AS 'MODULE_PATHNAME', 'automl_linear_inputs' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION automl.linear_inputs(bytea, text, anyelement) IS 'a row''s target, then its inputs as the model (bytes) prepares them; NULL without a finite target';
CREATE FUNCTION automl.linear_statistics_step(float8[], float8[]) RETURNS float8[]
AS 'MODULE_PATHNAME', 'automl_linear_statistics_step' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION automl.linear_statistics_step(float8[], float8[]) IS 'state function of automl.linear_statistics: adds one row';
CREATE FUNCTION automl.linear_statistics_combine(float8[], float8[]) RETURNS float8[]
AS 'MODULE_PATHNAME', 'automl_linear_statistics_combine' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION automl.linear_statistics_combine(float8[], float8[]) IS 'combine function of automl.linear_statistics: adds two partial sums';
CREATE AGGREGATE automl.linear_statistics(float8[]) (
    SFUNC = automl.linear_statistics_step,
    STYPE = float8[],
    COMBINEFUNC = automl.linear_statistics_combine,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE automl.linear_statistics(float8[]) IS 'n, sums, X''y and X''X of rows of automl.linear_inputs: what a ridge fit needs';
