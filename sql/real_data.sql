-- Real data shipped in test/data (sources in test/data/SOURCES.md): each
-- trains, and its validation score lands where a linear model should.
CREATE TABLE iris (sepal_length float8, sepal_width float8, petal_length float8,
                   petal_width float8, species text);
\copy iris FROM 'test/data/iris.csv' WITH (FORMAT csv, HEADER true)
SELECT name, task, algorithm, metric, round(score::numeric, 2) AS log_loss
FROM automl_train('iris', 'iris', 'species', max_trials => 1);
SELECT classes, (metrics->>'accuracy')::float8 >= 0.9 AS accurate FROM automl.models WHERE name = 'iris';
SELECT species, automl_predict_label('iris', i) AS predicted, count(*)
FROM iris i GROUP BY 1, 2 ORDER BY 1, 2;

CREATE TABLE breast_cancer (
    id serial, mean_radius float8, mean_texture float8, mean_perimeter float8, mean_area float8,
    mean_smoothness float8, mean_compactness float8, mean_concavity float8,
    mean_concave_points float8, mean_symmetry float8, mean_fractal_dimension float8,
    radius_error float8, texture_error float8, perimeter_error float8, area_error float8,
    smoothness_error float8, compactness_error float8, concavity_error float8,
    concave_points_error float8, symmetry_error float8, fractal_dimension_error float8,
    worst_radius float8, worst_texture float8, worst_perimeter float8, worst_area float8,
    worst_smoothness float8, worst_compactness float8, worst_concavity float8,
    worst_concave_points float8, worst_symmetry float8, worst_fractal_dimension float8,
    diagnosis text);
\copy breast_cancer (mean_radius, mean_texture, mean_perimeter, mean_area, mean_smoothness, mean_compactness, mean_concavity, mean_concave_points, mean_symmetry, mean_fractal_dimension, radius_error, texture_error, perimeter_error, area_error, smoothness_error, compactness_error, concavity_error, concave_points_error, symmetry_error, fractal_dimension_error, worst_radius, worst_texture, worst_perimeter, worst_area, worst_smoothness, worst_compactness, worst_concavity, worst_concave_points, worst_symmetry, worst_fractal_dimension, diagnosis) FROM 'test/data/breast_cancer.csv' WITH (FORMAT csv, HEADER true)
SELECT name, task, metric, round(score::numeric, 2) AS roc_auc
FROM automl_train('cancer', 'breast_cancer', 'diagnosis', exclude => ARRAY['id'], max_trials => 1);
SELECT classes, array_length(features, 1) AS n_features FROM automl.models WHERE name = 'cancer';
-- the positive class is the second in sorted order: malignant
SELECT diagnosis, round(avg(automl_predict('cancer', b))::numeric, 1) AS mean_p_malignant
FROM breast_cancer b GROUP BY 1 ORDER BY 1;

CREATE TABLE diabetes (age float8, sex float8, bmi float8, bp float8, s1 float8, s2 float8,
                       s3 float8, s4 float8, s5 float8, s6 float8, progression float8);
\copy diabetes FROM 'test/data/diabetes.csv' WITH (FORMAT csv, HEADER true)
SELECT name, task, metric, round(score::numeric, -1) AS rmse_to_tens
FROM automl_train('diabetes', 'diabetes', 'progression', max_trials => 1);
SELECT (metrics->>'r2')::float8 BETWEEN 0.3 AND 0.7 AS r2_as_expected FROM automl.models WHERE name = 'diabetes';

CREATE TABLE phoneme ("V1" float8, "V2" float8, "V3" float8, "V4" float8, "V5" float8, "Class" int);
\copy phoneme FROM 'test/data/phoneme.csv' WITH (FORMAT csv, HEADER true)
SELECT name, task, metric, round(score::numeric, 2) AS roc_auc
FROM automl_train('phoneme', 'phoneme', 'Class', max_trials => 1);
SELECT classes, features FROM automl.models WHERE name = 'phoneme';
SELECT "Class", automl_predict_label('phoneme', p) AS predicted, count(*)
FROM phoneme p GROUP BY 1, 2 ORDER BY 1, 2;

-- Clean-up: this file's tables go; test/fixtures/clean_up.sql deletes the
-- models and shows that nothing is left for the next file.
DROP TABLE iris, breast_cancer, diabetes, phoneme;
\i test/fixtures/clean_up.sql
