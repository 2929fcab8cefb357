-- Training reads data as the calling user: privileges and row-level security
-- apply. The extension's own queries cannot be hijacked through search_path.
CREATE TABLE secrets AS
SELECT i AS id, sin(i) AS x, cos(i) AS z, sin(i) * 2 + cos(i) AS y, (i % 2 = 0) AS visible
FROM generate_series(1, 200) i;
-- an ordinary role needs no privileges on the catalog: the functions write it
CREATE ROLE regress_analyst;

SET ROLE regress_analyst;
-- error: no SELECT on the table: the scan is refused
SELECT * FROM automl_train('secret_model', 'secrets', 'y', max_trials => 1);
RESET ROLE;

GRANT SELECT (id, x, y, visible) ON secrets TO regress_analyst;
SET ROLE regress_analyst;
-- error: column privileges: a column the role may not read is refused too
SELECT * FROM automl_train('secret_model', 'secrets', 'y', max_trials => 1);
-- excluding it is enough
SELECT name, version, deployed FROM automl_train('secret_model', 'secrets', 'y', exclude => ARRAY['z', 'id'], max_trials => 1);
RESET ROLE;

-- row-level security: the model sees only the rows its trainer may see
GRANT SELECT ON secrets TO regress_analyst;
ALTER TABLE secrets ENABLE ROW LEVEL SECURITY;
CREATE POLICY only_visible ON secrets FOR SELECT TO regress_analyst USING (visible);
SET ROLE regress_analyst;
SELECT version FROM automl_train('secret_model', 'secrets', 'y', exclude => ARRAY['id'], max_trials => 1);
RESET ROLE;
SELECT version, n_rows, created_by FROM automl.models WHERE name = 'secret_model' ORDER BY version;

-- a role may read models and score with them
SET ROLE regress_analyst;
SELECT count(automl_predict('secret_model', s)) AS scored FROM secrets s;
RESET ROLE;

-- search_path cannot change what the extension's queries mean
CREATE SCHEMA evil;
CREATE FUNCTION evil.text_eq(text, text) RETURNS boolean LANGUAGE sql AS 'SELECT false';
CREATE OPERATOR evil.= (LEFTARG = text, RIGHTARG = text, FUNCTION = evil.text_eq);
CREATE FUNCTION evil.max(integer) RETURNS integer LANGUAGE sql AS 'SELECT 1000';
CREATE TABLE evil.models (name text, version int);
SET search_path = evil, pg_catalog, public;
SELECT name, version FROM automl_train('secret_model', 'secrets', 'y', exclude => ARRAY['id'], max_trials => 1);
SELECT count(automl_predict('secret_model', s)) AS scored FROM secrets s;
RESET search_path;

RESET ROLE;

-- Clean-up: this file's schema, table and role go; test/fixtures/clean_up.sql
-- deletes the models and shows that nothing is left for the next file.
DROP SCHEMA evil CASCADE;
DROP TABLE secrets;
SELECT automl_delete('secret_model');
DROP ROLE regress_analyst;
\i test/fixtures/clean_up.sql
