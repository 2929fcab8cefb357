-- Training reads data as the calling user: privileges and row-level security
-- apply. The extension's own queries cannot be hijacked through search_path.
CREATE TABLE secrets AS
SELECT i AS id, sin(i) AS x, cos(i) AS z, sin(i) * 2 + cos(i) AS y, (i % 2 = 0) AS visible
FROM generate_series(1, 200) i;
-- an ordinary role needs no privileges on the catalog: the functions write it
CREATE ROLE automl_analyst;

-- no SELECT on the table: the scan is refused
SET ROLE automl_analyst;
SELECT * FROM automl_train('secret_model', 'secrets', 'y', max_trials => 1);
RESET ROLE;

-- column privileges: a column the role may not read is refused too
GRANT SELECT (id, x, y, visible) ON secrets TO automl_analyst;
SET ROLE automl_analyst;
SELECT * FROM automl_train('secret_model', 'secrets', 'y', max_trials => 1);
-- excluding it is enough
SELECT name, version, deployed FROM automl_train('secret_model', 'secrets', 'y', exclude => ARRAY['z', 'id'], max_trials => 1);
RESET ROLE;

-- row-level security: the model sees only the rows its trainer may see
GRANT SELECT ON secrets TO automl_analyst;
ALTER TABLE secrets ENABLE ROW LEVEL SECURITY;
CREATE POLICY only_visible ON secrets FOR SELECT TO automl_analyst USING (visible);
SET ROLE automl_analyst;
SELECT version FROM automl_train('secret_model', 'secrets', 'y', exclude => ARRAY['id'], max_trials => 1);
RESET ROLE;
SELECT version, n_rows, created_by FROM automl.models WHERE name = 'secret_model' ORDER BY version;

-- a role may read models and score with them
SET ROLE automl_analyst;
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
DROP SCHEMA evil CASCADE;
DROP TABLE secrets;
SELECT automl_delete('secret_model');
DROP ROLE automl_analyst;
