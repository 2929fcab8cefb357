-- test/data/load.sql: the tables that the examples of README.md and docs/ use, loaded from
-- the real data committed in test/data and test/forecast/data (sources: test/data/SOURCES.md).
-- Run it with psql from the top of the checkout (\copy reads the files relative to the
-- current directory), in the database where you will try the examples:
--
--   psql -X -v ON_ERROR_STOP=1 -f test/data/load.sql
--
-- It does not create the extension (README.md's first example does) and can be run again:
-- it drops and reloads its tables (and only them).
--
--   breast_cancer  469 tumours of the Wisconsin breast cancer data, 30 measurements and
--                  the diagnosis (benign / malignant): the rows a model is trained on
--   new_patients   the other 100 tumours, without the diagnosis: rows to score
--   confirmed      their diagnosis (id, diagnosis), as it becomes known later
--   adult          4,000 adults of the 1994 US census (UCI adult): age, work, education,
--                  family, sex, race, ... and class (income <=50K / >50K)
--   adult_test     2,000 other adults of the same census, never trained on: rows to evaluate on
--   diabetes       442 diabetes patients, 10 measurements and progression (a number) one year later
--   monthly        three monthly series of R's datasets package, one row per series and month:
--                  AirPassengers (1949-1960), nottem (1920-1939), USAccDeaths (1973-1978)

\set ON_ERROR_STOP on
SET client_min_messages = warning;
DROP TABLE IF EXISTS breast_cancer, new_patients, confirmed, adult, adult_test, diabetes, monthly;
RESET client_min_messages;

-- The breast cancer data, in its file order; ids 1-469 are the training rows, 470-569 the new ones.
CREATE TEMP TABLE breast_cancer_file (
    id                      integer GENERATED ALWAYS AS IDENTITY,
    mean_radius             float8,
    mean_texture            float8,
    mean_perimeter          float8,
    mean_area               float8,
    mean_smoothness         float8,
    mean_compactness        float8,
    mean_concavity          float8,
    mean_concave_points     float8,
    mean_symmetry           float8,
    mean_fractal_dimension  float8,
    radius_error            float8,
    texture_error           float8,
    perimeter_error         float8,
    area_error              float8,
    smoothness_error        float8,
    compactness_error       float8,
    concavity_error         float8,
    concave_points_error    float8,
    symmetry_error          float8,
    fractal_dimension_error float8,
    worst_radius            float8,
    worst_texture           float8,
    worst_perimeter         float8,
    worst_area              float8,
    worst_smoothness        float8,
    worst_compactness       float8,
    worst_concavity         float8,
    worst_concave_points    float8,
    worst_symmetry          float8,
    worst_fractal_dimension float8,
    diagnosis               text NOT NULL
);
\copy breast_cancer_file (mean_radius, mean_texture, mean_perimeter, mean_area, mean_smoothness, mean_compactness, mean_concavity, mean_concave_points, mean_symmetry, mean_fractal_dimension, radius_error, texture_error, perimeter_error, area_error, smoothness_error, compactness_error, concavity_error, concave_points_error, symmetry_error, fractal_dimension_error, worst_radius, worst_texture, worst_perimeter, worst_area, worst_smoothness, worst_compactness, worst_concavity, worst_concave_points, worst_symmetry, worst_fractal_dimension, diagnosis) FROM 'test/data/breast_cancer.csv' WITH (FORMAT csv, HEADER true)

CREATE TABLE breast_cancer AS SELECT * FROM breast_cancer_file WHERE id <= 469 ORDER BY id;
ALTER TABLE breast_cancer ADD PRIMARY KEY (id);
CREATE TABLE new_patients AS SELECT * FROM breast_cancer_file WHERE id > 469 ORDER BY id;
ALTER TABLE new_patients DROP COLUMN diagnosis, ADD PRIMARY KEY (id);
CREATE TABLE confirmed AS SELECT id, diagnosis FROM breast_cancer_file WHERE id > 469 ORDER BY id;
ALTER TABLE confirmed ADD PRIMARY KEY (id);
DROP TABLE breast_cancer_file;

-- The census data: the training sample and the test sample (NA is a missing value).
CREATE TABLE adult (
    id             integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    age            integer,
    workclass      text,
    fnlwgt         integer,
    education      text,
    education_num  integer,
    marital_status text,
    occupation     text,
    relationship   text,
    race           text,
    sex            text,
    capital_gain   integer,
    capital_loss   integer,
    hours_per_week integer,
    native_country text,
    class          text NOT NULL
);
CREATE TABLE adult_test (LIKE adult INCLUDING ALL);
\copy adult (age, workclass, fnlwgt, education, education_num, marital_status, occupation, relationship, race, sex, capital_gain, capital_loss, hours_per_week, native_country, class) FROM 'test/data/adult_sample.csv' WITH (FORMAT csv, HEADER true, NULL 'NA')
\copy adult_test (age, workclass, fnlwgt, education, education_num, marital_status, occupation, relationship, race, sex, capital_gain, capital_loss, hours_per_week, native_country, class) FROM 'test/data/adult_test_sample.csv' WITH (FORMAT csv, HEADER true, NULL 'NA')

-- The diabetes data (regression).
CREATE TABLE diabetes (
    id          integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    age         integer,
    sex         integer,
    bmi         float8,
    bp          float8,
    s1          float8,
    s2          float8,
    s3          float8,
    s4          float8,
    s5          float8,
    s6          float8,
    progression float8 NOT NULL
);
\copy diabetes (age, sex, bmi, bp, s1, s2, s3, s4, s5, s6, progression) FROM 'test/data/diabetes.csv' WITH (FORMAT csv, HEADER true)

-- Three monthly series in one table (forecasting).
CREATE TABLE monthly (series text NOT NULL, month date NOT NULL, value float8, PRIMARY KEY (series, month));
CREATE TEMP TABLE series_file (month date, value float8);
\copy series_file FROM 'test/forecast/data/air_passengers.csv' WITH (FORMAT csv, HEADER true)
INSERT INTO monthly SELECT 'AirPassengers', month, value FROM series_file;
TRUNCATE series_file;
\copy series_file FROM 'test/forecast/data/nottem.csv' WITH (FORMAT csv, HEADER true)
INSERT INTO monthly SELECT 'nottem', month, value FROM series_file;
TRUNCATE series_file;
\copy series_file FROM 'test/forecast/data/us_acc_deaths.csv' WITH (FORMAT csv, HEADER true)
INSERT INTO monthly SELECT 'USAccDeaths', month, value FROM series_file;
DROP TABLE series_file;

ANALYZE breast_cancer, new_patients, confirmed, adult, adult_test, diabetes, monthly;
SELECT 'breast_cancer' AS "table", count(*) AS "rows" FROM breast_cancer
UNION ALL SELECT 'new_patients', count(*) FROM new_patients
UNION ALL SELECT 'confirmed', count(*) FROM confirmed
UNION ALL SELECT 'adult', count(*) FROM adult
UNION ALL SELECT 'adult_test', count(*) FROM adult_test
UNION ALL SELECT 'diabetes', count(*) FROM diabetes
UNION ALL SELECT 'monthly', count(*) FROM monthly;
