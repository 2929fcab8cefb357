
-- Scale-out on Citus (docs/scale-out.md) -----------------------------------

-- What a Citus worker needs to score: every live version's bytes, which version is
-- deployed, and who may score. The catalog stays on the
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
    PRIMARY KEY (name, version)
);
COMMENT ON TABLE automl.replica IS 'on a Citus cluster, the live model versions, their deployment and readers, replicated to every node for scoring there (automl_citus_setup)';
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
    dep         integer;
    the_readers name[];
    live        integer[];
    present     integer[];
    v           record;
BEGIN
    SELECT r.owner INTO the_owner FROM automl.registry r WHERE r.name = model_name;
    IF the_owner IS NULL THEN
        DELETE FROM automl.replica WHERE name = model_name;
        RETURN;
    END IF;
    SELECT d.version INTO dep FROM automl.deployments d WHERE d.name = model_name
    ORDER BY d.id DESC LIMIT 1;
    SELECT coalesce(array_agg(g.grantee ORDER BY g.grantee), '{}') INTO the_readers
    FROM automl.grants g WHERE g.name = model_name;
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
        INSERT INTO automl.replica (name, version, model_bytes, deployed, owner, readers)
        VALUES (model_name, v.version, v.model_bytes, v.version IS NOT DISTINCT FROM dep,
                the_owner, the_readers);
    END LOOP;
    UPDATE automl.replica
    SET deployed = version IS NOT DISTINCT FROM dep, owner = the_owner, readers = the_readers
    WHERE name = model_name
      AND (deployed, owner, readers)
          IS DISTINCT FROM (version IS NOT DISTINCT FROM dep, the_owner, the_readers);
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
    IF EXISTS (SELECT 1 FROM automl.monitors o WHERE o.enabled) THEN
        RAISE WARNING 'predictions scored on Citus workers are not logged'
            USING DETAIL = 'Statements that Citus pushes down to the workers score there; only rows scored on the coordinator reach automl.predictions.',
                  HINT = 'See docs/scale-out.md.';
    END IF;
    SELECT count(*) INTO n FROM automl.replica;
    RETURN n;
END
$$;
COMMENT ON FUNCTION @extschema@.automl_citus_setup() IS 'on a Citus coordinator: replicate what scoring needs to every node (automl.replica); returns the number of model versions replicated';
REVOKE EXECUTE ON FUNCTION @extschema@.automl_citus_setup() FROM PUBLIC;
