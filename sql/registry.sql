-- The model registry: champion/challenger deployment, deploy, rollback,
-- retire, delete, lineage, audit, ownership.
SET extra_float_digits = 0;
CREATE TABLE houses AS
SELECT i AS id, sin(i) AS size, cos(i * 1.3) AS age, (i % 4) AS rooms,
       3 * sin(i) - 2 * cos(i * 1.3) + 0.5 * (i % 4) + 0.2 * sin(i * 7.7) AS price
FROM generate_series(1, 400) AS i;
-- a weak first model (one feature), then a better one, then a worse one
CREATE VIEW houses_small AS SELECT id, rooms, price FROM houses;
SELECT version, deployed FROM automl_train('price', 'houses_small', 'price', exclude => ARRAY['id'], max_trials => 1);
SELECT version, deployed FROM automl_train('price', 'houses', 'price', exclude => ARRAY['id'], max_trials => 1);
SELECT version, deployed FROM automl_train('price', 'houses', 'price', exclude => ARRAY['id'],
                                           hyperparams => '{"alpha": 100000}');
SELECT model, version, status, parent_version, source_kind, source_definition IS NOT NULL AS has_definition,
       comparison->>'champion_version' AS champion, (comparison->>'deployed')::boolean AS won,
       extension_version = (SELECT extversion FROM pg_extension WHERE extname = 'automl') AS this_release,
       length(data_digest) AS digest_length
FROM automl.lineage WHERE model = 'price' ORDER BY version;
SELECT event, version, regexp_replace(reason, '[0-9]+\.[0-9]+', 'N', 'g') AS reason
FROM automl.audit WHERE model = 'price' ORDER BY id;

-- the data digest depends on the rows, not on their order
CREATE TABLE houses_shuffled AS SELECT * FROM houses ORDER BY md5(id::text);
SELECT version FROM automl_train('price_copy', 'houses_shuffled', 'price', exclude => ARRAY['id'], max_trials => 1);
SELECT a.data_digest = b.data_digest AS same_digest
FROM automl.models a, automl.models b
WHERE a.name = 'price' AND a.version = 2 AND b.name = 'price_copy' AND b.version = 1;
UPDATE houses_shuffled SET price = price + 1 WHERE id = 7;
-- (kept from serving: this name must keep one deployment for the rollback error below)
SELECT name, auto_deploy FROM automl_set_policy('price_copy', auto_deploy => false);
SELECT version FROM automl_train('price_copy', 'houses_shuffled', 'price', exclude => ARRAY['id'], max_trials => 1);
SELECT count(DISTINCT data_digest) AS digests FROM automl.models WHERE name = 'price_copy';

-- never auto-deploy, or only for a large gain
SELECT * FROM automl_set_policy('price', auto_deploy => false);
SELECT version, deployed FROM automl_train('price', 'houses', 'price', exclude => ARRAY['id'],
                                           hyperparams => '{"alpha": 0.001}');
SELECT reason FROM automl.audit WHERE model = 'price' AND version = 4 AND event LIKE 'auto%';
SELECT * FROM automl_set_policy('price', auto_deploy => true, min_gain => 10);
-- error: a gain below 0
SELECT * FROM automl_set_policy('price', min_gain => -1);

-- deploy and roll back
SELECT * FROM automl_deploy('price', 1, 'compare in production');
SELECT * FROM automl_deploy('price', 1);
SELECT * FROM automl_rollback('price', 'version 1 was worse');
SELECT * FROM automl_rollback('price');
SELECT * FROM automl_rollback('price');
SELECT version, regexp_replace(reason, '[0-9]+\.[0-9]+', 'N', 'g') AS reason FROM automl.deployments WHERE name = 'price' ORDER BY id;
SELECT status, count(*) FROM automl.lineage WHERE model = 'price' GROUP BY 1 ORDER BY 1;
SELECT jsonb_array_length(deployments) AS times_deployed FROM automl.lineage WHERE model = 'price' AND version = 2;

-- a rolled-back transaction changes nothing
BEGIN;
SELECT version FROM automl_deploy('price', 3);
SELECT version FROM automl.deployed WHERE name = 'price';
ROLLBACK;
SELECT version FROM automl.deployed WHERE name = 'price';

-- which version served at a given time
SELECT automl_version_at('price') AS now_serving,
       automl_version_at('price', (SELECT min(deployed_at) FROM automl.deployments WHERE name = 'price')) AS first,
       automl_version_at('price', '2000-01-01') AS before_any;

-- retire: the lineage stays, the bytes go
SELECT automl_retire('price', 3, 'worse than version 2');
SELECT automl_retire('price', 3);
SELECT version, status, retired_at IS NOT NULL AS retired FROM automl.lineage WHERE model = 'price' ORDER BY version;

-- errors: a retired version neither serves nor deploys; the deployed version and a
-- missing one are not retired
SELECT automl_predict('price@3', h) FROM houses h LIMIT 1;
SELECT * FROM automl_deploy('price', 3);
SELECT automl_retire('price', 2);
SELECT automl_retire('price', 42);

-- errors: NULL arguments, unknown models and versions, nothing to roll back to
SELECT * FROM automl_deploy(NULL, 1);
SELECT * FROM automl_deploy('price', NULL);
SELECT * FROM automl_deploy('nothing', 1);
SELECT * FROM automl_deploy('price', 42);
SELECT * FROM automl_rollback('nothing');
SELECT * FROM automl_rollback('price_copy');
SELECT automl_delete('nothing');

-- ownership: a name belongs to the role that first trained it
CREATE ROLE regress_alice;
CREATE ROLE regress_bob;
CREATE ROLE regress_team;
GRANT regress_team TO regress_bob;
GRANT SELECT ON houses TO regress_alice, regress_bob;
SET ROLE regress_alice;
SELECT version FROM automl_train('alice_price', 'houses', 'price', exclude => ARRAY['id'], max_trials => 1);
RESET ROLE;
SELECT owner FROM automl.registry WHERE name = 'alice_price';
SET ROLE regress_bob;

-- another role sees nothing of the model: no row of the catalog or its views
SELECT (SELECT count(*) FROM automl.registry WHERE name = 'alice_price') AS registry,
       (SELECT count(*) FROM automl.models WHERE name = 'alice_price') AS models,
       (SELECT count(*) FROM automl.trials WHERE name = 'alice_price') AS trials,
       (SELECT count(*) FROM automl.deployments WHERE name = 'alice_price') AS deployments,
       (SELECT count(*) FROM automl.events WHERE name = 'alice_price') AS events,
       (SELECT count(*) FROM automl.lineage WHERE model = 'alice_price') AS lineage,
       (SELECT count(*) FROM automl.audit WHERE model = 'alice_price') AS audit,
       (SELECT count(*) FROM automl.leaderboard WHERE model = 'alice_price') AS leaderboard,
       (SELECT count(*) FROM automl.deployed WHERE name = 'alice_price') AS deployed;
-- errors: to it the model does not exist, to score or to change
SELECT count(automl_predict('alice_price', h)) AS scored FROM houses h;
SELECT count(automl_predict_label('alice_price@1', h)) AS scored FROM houses h;
SELECT * FROM automl_deploy('alice_price', 1);
-- error: and its name is taken
SELECT version FROM automl_train('alice_price', 'houses', 'price', exclude => ARRAY['id'], max_trials => 1);
-- error: only the owner grants
SELECT automl_grant('alice_price', 'regress_bob');

-- the owner lets bob use the model: bob sees it and scores with it
SET ROLE regress_alice;
SELECT automl_grant('alice_price', 'regress_bob') AS granted;
SELECT automl_grant('alice_price', 'regress_bob') AS granted_again;
-- errors: no such role; NULL arguments
SELECT automl_grant('alice_price', 'regress_nobody');
SELECT automl_grant('alice_price', NULL);
SELECT automl_grant(NULL, 'regress_bob');

SELECT name, grantee, owner, granted_by FROM automl.grants ORDER BY name, grantee;
SET ROLE regress_bob;
SELECT count(automl_predict('alice_price', h)) AS scored FROM houses h;
SELECT count(*) AS versions_seen FROM automl.lineage WHERE model = 'alice_price';
SELECT name, grantee FROM automl.grants ORDER BY name, grantee;

-- errors: a grant is not ownership: bob may not train, deploy, roll back, retire,
-- delete, set the policy or pass the grant on
SELECT version FROM automl_train('alice_price', 'houses', 'price', exclude => ARRAY['id'], max_trials => 1);
SELECT * FROM automl_deploy('alice_price', 1);
SELECT * FROM automl_rollback('alice_price');
SELECT automl_retire('alice_price', 1);
SELECT automl_delete('alice_price');
SELECT * FROM automl_set_policy('alice_price', auto_deploy => false);
SELECT automl_grant('alice_price', 'regress_team');
SELECT automl_revoke('alice_price', 'regress_bob');

-- revoked, the model is hidden again; granted to PUBLIC, every role sees it
SET ROLE regress_alice;
SELECT automl_revoke('alice_price', 'regress_bob') AS revoked;
SELECT automl_revoke('alice_price', 'regress_bob') AS revoked_again;
SET ROLE regress_bob;
SELECT count(*) AS models_seen FROM automl.models WHERE name = 'alice_price';
SET ROLE regress_alice;
SELECT automl_grant('alice_price', 'PUBLIC') AS granted_to_public;  -- PUBLIC, as in GRANT
SET ROLE regress_bob;
SELECT count(automl_predict('alice_price', h)) AS scored FROM houses h;
SET ROLE regress_alice;
SELECT automl_revoke('alice_price', 'public') AS revoked_from_public;
SELECT event, detail FROM automl.audit WHERE model = 'alice_price' AND event IN ('grant', 'revoke') ORDER BY id;
SET ROLE regress_bob;

-- errors: version 0 or a negative one is not a reference to the deployed version
SELECT automl_predict('alice_price@0', h) FROM houses h LIMIT 1;
SELECT automl_predict('alice_price@-1', h) FROM houses h LIMIT 1;

-- errors: catalog tables are not writable directly
INSERT INTO automl.deployments (name, version, reason) VALUES ('alice_price', 1, 'sneaky');
UPDATE automl.models SET score = 1;

RESET ROLE;
-- a member of the owning role may manage the name
UPDATE automl.registry SET owner = 'regress_team' WHERE name = 'alice_price';
SET ROLE regress_bob;
SELECT version, deployed FROM automl_train('alice_price', 'houses', 'price', exclude => ARRAY['id'], max_trials => 1);
RESET ROLE;
SELECT who, event, version FROM automl.audit WHERE model = 'alice_price' ORDER BY id;

-- delete: an explicit call; the audit trail keeps the record
SELECT automl_delete('price_copy', 'experiment over');
SELECT count(*) AS versions_left FROM automl.models WHERE name = 'price_copy';
SELECT event, version, reason, detail FROM automl.audit WHERE model = 'price_copy' AND event = 'delete';
-- error: it no longer scores
SELECT automl_predict('price_copy', h) FROM houses h LIMIT 1;
SELECT automl_delete('alice_price');
-- a deleted name trained again by another role: the new owner does not see the
-- earlier owners' trail, and those who acted on it still see their own events
SET ROLE regress_alice;
SELECT version FROM automl_train('alice_price', 'houses', 'price', exclude => ARRAY['id'], max_trials => 1);
SELECT who, event, version FROM automl.audit WHERE model = 'alice_price' ORDER BY id;
SET ROLE regress_bob;
SELECT count(*) AS events_seen_by_bob FROM automl.audit WHERE model = 'alice_price' AND who = 'regress_bob';
RESET ROLE;
SELECT automl_delete('alice_price');
DROP OWNED BY regress_alice, regress_bob;
DROP ROLE regress_alice, regress_bob, regress_team;
-- error: events are append-only too
DELETE FROM automl.events;

-- The Citus set-up: on a node without Citus it says so (docs/scale-out.md); the replica
-- it would fill stays empty on a single node, whatever the catalog did above.
-- error: no citus extension here
SELECT automl_citus_setup();
SELECT count(*) AS replica_rows, automl.replica_enabled() AS replica_enabled FROM automl.replica;
SELECT automl_collect_predictions() AS collected_on_one_node;
-- The sums of the Citus ridge refit (docs/scale-out.md) work on one node too: a row's
-- target and inputs as the model prepares them, and their sums (n, sum of y, ...).
CREATE TABLE lin_rows AS SELECT i AS id, i % 5 AS x, 2.0 * (i % 5) + i % 3 AS y FROM generate_series(1, 10) i;
SELECT version FROM automl_train('lin_sums', 'lin_rows', 'y', exclude => ARRAY['id'],
                                 algorithms => ARRAY['linear'], hyperparams => '{"alpha": 1}');
SELECT s[1] AS n, s[2] AS sum_y, array_length(s, 1) AS length
FROM (SELECT automl.linear_statistics(automl.linear_inputs(m.model_bytes, 'y', r)) AS s
      FROM lin_rows r, automl.models m WHERE m.name = 'lin_sums') q;
SELECT automl.linear_inputs(m.model_bytes, 'y', r) IS NULL AS no_target_no_row
FROM (SELECT 1 AS id, 3 AS x, NULL::numeric AS y) r, automl.models m WHERE m.name = 'lin_sums';
-- errors: bytes that are no model, a value that is no row, no such target, rows of different widths
SELECT automl.linear_inputs('\x00'::bytea, 'y', r) FROM lin_rows r;
SELECT automl.linear_inputs(m.model_bytes, 'y', 42) FROM automl.models m WHERE m.name = 'lin_sums';
SELECT automl.linear_inputs(m.model_bytes, 'nope', r) FROM lin_rows r, automl.models m WHERE m.name = 'lin_sums';
SELECT automl.linear_statistics(v) FROM (VALUES (ARRAY[1.0, 2.0]::float8[]), (ARRAY[1.0]::float8[])) t(v);

SELECT automl_delete('lin_sums');
DROP TABLE lin_rows;
-- Only a superuser (or whom one grants it to) sets up the cluster, or reads the replica.
CREATE ROLE regress_citus_user;
SET ROLE regress_citus_user;
-- errors: not for ordinary roles
SELECT automl_citus_setup();
SELECT count(*) FROM automl.replica;

RESET ROLE;
DROP ROLE regress_citus_user;

-- Clean-up: this file's tables and view go (its roles went above);
-- test/fixtures/clean_up.sql deletes the models and shows that nothing is left.
DROP VIEW houses_small;
DROP TABLE houses, houses_shuffled;
\i test/fixtures/clean_up.sql
