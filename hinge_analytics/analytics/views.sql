-- Views over the lake's Delta tables (registered as Arrow datasets named *_raw).
-- Only rows whose (recording_id, ingest_id) is the committed one in `recordings` are visible:
-- rows of an interrupted ingest are never seen (see lake.py).

CREATE OR REPLACE TEMP VIEW recordings AS
SELECT * FROM recordings_raw;

CREATE OR REPLACE TEMP VIEW reps AS
SELECT r.* FROM reps_raw r
JOIN recordings_raw c USING (recording_id, ingest_id);

CREATE OR REPLACE TEMP VIEW angles AS
SELECT a.* FROM angles_raw a
JOIN recordings_raw c USING (recording_id, ingest_id);

-- Predictions made for the current ingest of a recording; the newest per rep wins.
CREATE OR REPLACE TEMP VIEW predictions AS
SELECT * EXCLUDE (rn) FROM (
    SELECT p.*, row_number() OVER (
        PARTITION BY p.recording_id, p.rep ORDER BY p.predicted_at DESC) AS rn
    FROM predictions_raw p
    JOIN recordings_raw c USING (recording_id, ingest_id)
) WHERE rn = 1;

CREATE OR REPLACE TEMP VIEW quarantine AS
SELECT * FROM quarantine_raw;

-- One row per rep with its recording's metadata and its label.
CREATE OR REPLACE TEMP VIEW rep_view AS
SELECT
    c.athlete_id, c.session_date, c.exercise, c.side, c.load_kg, c.set_number, c.modality,
    r.*,
    p.label, p.predicted_label, p.confidence, p.cue, p.model_version
FROM reps r
JOIN recordings c USING (recording_id)
LEFT JOIN predictions p USING (recording_id, rep);

-- Per athlete x session x exercise.
CREATE OR REPLACE TEMP VIEW sessions AS
SELECT
    athlete_id,
    session_date,
    exercise,
    count(DISTINCT recording_id) AS sets,
    count(*) AS reps,
    max(load_kg) AS top_load_kg,
    avg(CASE WHEN label IS NULL OR label = 'uncertain' THEN NULL
             ELSE (label = 'good')::INT END) AS share_good,
    mode(CASE WHEN label NOT IN ('good', 'uncertain') THEN label END) AS most_common_mistake,
    avg(peak_hip_flexion_deg) AS mean_peak_hip_flexion_deg,
    avg((peak_knee_flexion_left_deg + peak_knee_flexion_right_deg) / 2) AS mean_peak_knee_flexion_deg,
    avg(peak_trunk_inclination_deg) AS mean_peak_trunk_inclination_deg,
    avg(duration_s) AS mean_rep_duration_s,
    100 * (avg(peak_knee_flexion_left_deg) - avg(peak_knee_flexion_right_deg))
        / (0.5 * (avg(peak_knee_flexion_left_deg) + avg(peak_knee_flexion_right_deg)))
        AS knee_si_pct,
    100 * (avg(peak_hip_flexion_left_deg) - avg(peak_hip_flexion_right_deg))
        / (0.5 * (avg(peak_hip_flexion_left_deg) + avg(peak_hip_flexion_right_deg)))
        AS hip_si_pct
FROM rep_view
GROUP BY athlete_id, session_date, exercise;
