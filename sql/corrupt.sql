-- Corrupted model bytes: the loader checks the header, the length, the
-- checksum and every value, and raises an error instead of crashing.
CREATE TABLE corrupt_src AS
SELECT sin(i) AS a, cos(i) AS b, (sin(i) > cos(i)) AS label FROM generate_series(1, 100) i;
SELECT version FROM automl_train('victim', 'corrupt_src', 'label', max_trials => 1);
SELECT automl_predict('victim', c) IS NOT NULL AS works FROM corrupt_src c LIMIT 1;
CREATE TABLE good_bytes AS SELECT model_bytes FROM automl.models WHERE name = 'victim';

-- truncated
UPDATE automl.models SET model_bytes = substr(model_bytes, 1, length(model_bytes) - 9) WHERE name = 'victim';
-- error: the loader refuses these bytes
SELECT automl_predict('victim', c) FROM corrupt_src c LIMIT 1;
-- shorter than the header
UPDATE automl.models SET model_bytes = '\x4155544f4d4c4d44'::bytea WHERE name = 'victim';
-- error: the loader refuses these bytes
SELECT automl_predict('victim', c) FROM corrupt_src c LIMIT 1;
-- empty
UPDATE automl.models SET model_bytes = ''::bytea WHERE name = 'victim';
-- error: the loader refuses these bytes
SELECT automl_predict('victim', c) FROM corrupt_src c LIMIT 1;
-- not a model at all
UPDATE automl.models SET model_bytes = convert_to(repeat('garbage ', 20), 'UTF8') WHERE name = 'victim';
-- error: the loader refuses these bytes
SELECT automl_predict('victim', c) FROM corrupt_src c LIMIT 1;
-- one flipped byte in the payload
UPDATE automl.models m SET model_bytes = set_byte(g.model_bytes, 60, get_byte(g.model_bytes, 60) # 1)
FROM good_bytes g WHERE m.name = 'victim';
-- error: the loader refuses these bytes
SELECT automl_predict('victim', c) FROM corrupt_src c LIMIT 1;
-- a newer format version
UPDATE automl.models m SET model_bytes = set_byte(g.model_bytes, 8, 9) FROM good_bytes g WHERE m.name = 'victim';
-- error: the loader refuses these bytes
SELECT automl_predict('victim', c) FROM corrupt_src c LIMIT 1;
-- an older, unreleased format version
UPDATE automl.models m SET model_bytes = set_byte(g.model_bytes, 8, 1) FROM good_bytes g WHERE m.name = 'victim';
-- error: the loader refuses these bytes
SELECT automl_predict('victim', c) FROM corrupt_src c LIMIT 1;
-- flags that this version does not know
UPDATE automl.models m SET model_bytes = set_byte(g.model_bytes, 12, 1) FROM good_bytes g WHERE m.name = 'victim';
-- error: the loader refuses these bytes
SELECT automl_predict('victim', c) FROM corrupt_src c LIMIT 1;
-- extra bytes after the end
UPDATE automl.models m SET model_bytes = g.model_bytes || '\x00'::bytea FROM good_bytes g WHERE m.name = 'victim';
-- error: the loader refuses these bytes
SELECT automl_predict('victim', c) FROM corrupt_src c LIMIT 1;

-- damaged bytes of the deployed version do not stop a new training (the
-- comparison refits the deployed version's configuration and never loads its
-- bytes); the same recipe on the same rows is stored, not deployed, and the
-- reason says why
SELECT version, deployed FROM automl_train('victim', 'corrupt_src', 'label', max_trials => 1);
SELECT event, version, reason FROM automl.audit WHERE model = 'victim' AND event LIKE 'auto%';

-- the good bytes serve again: the cache never keeps a model that failed to load
UPDATE automl.models m SET model_bytes = g.model_bytes FROM good_bytes g WHERE m.name = 'victim';
SELECT automl_predict('victim', c) IS NOT NULL AS works_again FROM corrupt_src c LIMIT 1;

-- Clean-up: this file's tables go; test/fixtures/clean_up.sql deletes the
-- models and shows that nothing is left for the next file.
DROP TABLE corrupt_src, good_bytes;
\i test/fixtures/clean_up.sql
