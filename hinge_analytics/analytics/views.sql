-- Views over the lake's Delta tables (registered as Arrow datasets named *_raw; DuckDB scans them
-- in place, nothing is copied). Only rows whose (recording_id, ingest_id) is the committed one in
-- `recordings` are visible: rows of an interrupted ingest are never seen (see lake.py).
--
-- Layers:  recordings / reps / rep_curves / angles / video_landmarks / predictions / quarantine
--                        (committed rows only)
--          rep_view      one row per rep with its recording's metadata, label and place in the set
--          set_view      one row per set (recording): share good, form decay within the set
--          session_labels  athlete x session x exercise x label: rep counts (any label vocabulary)
--          sessions      athlete x session x exercise: everything a coach reads, plus the flags
--          weekly        athlete x exercise x ISO week, with week-over-week changes
--          athlete_flags(since, athlete)  table macro: one row per athlete over a period
--
-- Flag rules (documented in hinge_analytics/analytics/__init__.py, constants in the macros below):
--   asymmetry:  |SI| > 10 %  AND  |L - R| >= 5 deg  AND  >= 4 reps per side, per metric and session;
--     an athlete is asymmetric when that holds in >= half of their sessions of some exercise in
--     which both legs were measured apart (IMUs, multi-camera markers; never a single camera).
--   too heavy, too soon: over the rolling 28-day window ending at a session (>= 3 sessions of the
--     exercise): top load rises >= 5 %/week AND (share of good reps falls >= 3 points/week OR
--     back rounding rises >= 2 deg/week).

CREATE OR REPLACE TEMP VIEW recordings AS
SELECT * FROM recordings_raw;

CREATE OR REPLACE TEMP VIEW reps AS
SELECT r.* FROM reps_raw r
JOIN recordings_raw c USING (recording_id, ingest_id);

CREATE OR REPLACE TEMP VIEW angles AS
SELECT a.* FROM angles_raw a
JOIN recordings_raw c USING (recording_id, ingest_id);

CREATE OR REPLACE TEMP VIEW rep_curves AS
SELECT r.* FROM rep_curves_raw r
JOIN recordings_raw c USING (recording_id, ingest_id);

-- The pose estimator's output for video recordings: world and image landmarks per frame.
CREATE OR REPLACE TEMP VIEW video_landmarks AS
SELECT v.* FROM video_landmarks_raw v
JOIN recordings_raw c USING (recording_id, ingest_id);

-- Predictions made for the current ingest of a recording. `hinge predict` replaces all of a
-- recording's predictions in one transaction (lake.replace_recordings), so there is at most one
-- per rep; predictions of an earlier ingest of the recording are hidden by the ingest_id join.
CREATE OR REPLACE TEMP VIEW predictions AS
SELECT p.* FROM predictions_raw p
JOIN recordings_raw c USING (recording_id, ingest_id);

CREATE OR REPLACE TEMP VIEW quarantine AS
SELECT * FROM quarantine_raw;

-- ------------------------------------------------------------------ rule constants
-- The fields in braces are the thresholds of hinge_analytics/analytics/__init__.py, filled in when the
-- views are created: one definition for the SQL and for the report's text.
-- Symmetry index (SPEC.md): SI = 100 (L - R) / (0.5 (L + R)); positive = left larger.
CREATE OR REPLACE TEMP MACRO symmetry_index(l, r) AS
    100 * (l - r) / nullif(0.5 * (l + r), 0);
-- Small angles make SI explode (RDL knee ~20 deg: 2 deg of noise is already 10 %), so a metric is
-- asymmetric only when the relative AND the absolute difference are large, on enough reps.
-- A session can show an asymmetry at all when each side rests on enough reps.
CREATE OR REPLACE TEMP MACRO sides_measured(n_left, n_right) AS
    coalesce(least(n_left, n_right) >= {ASYMMETRY_MIN_REPS}, false);
CREATE OR REPLACE TEMP MACRO is_asymmetric(l, r, n_left, n_right) AS
    coalesce(abs(symmetry_index(l, r)) > {ASYMMETRY_SI_PCT} AND abs(l - r) >= {ASYMMETRY_MIN_DIFF_DEG}
             AND sides_measured(n_left, n_right), false);
-- Left and right are compared only where each leg is measured on its own: IMUs on the legs, or
-- markers triangulated from several cameras (TRC or C3D in metres). A single camera sees the far
-- leg hidden or foreshortened and the estimator guesses it: real side and oblique clips read the
-- two knees 15-35 deg apart in every rep (docs/validation-2026-12-06.md).
CREATE OR REPLACE TEMP MACRO measures_both_legs(modality, format, sensors) AS
    coalesce(modality = 'imu' OR (format IN ('trc', 'c3d') AND sensors = 'world_m'), false);
-- Shares of good and of uncertain reps: over every labelled rep, an 'uncertain' one included (a
-- share over the confident reps alone reads 75 % good for 3 good reps in 22 when 18 are uncertain).
-- Reps not labelled yet (no `hinge predict` since they were ingested) do not count.
CREATE OR REPLACE TEMP MACRO good_or_null(label) AS
    CASE WHEN label IS NULL THEN NULL ELSE (label = 'good')::INT END;
CREATE OR REPLACE TEMP MACRO uncertain_or_null(label) AS
    CASE WHEN label IS NULL THEN NULL ELSE (label = 'uncertain')::INT END;
-- An asymmetry in words a coach reads: both sides in degrees, not a symmetry index (SI of a knee
-- that bends 3 deg against 10 deg is -108 %, of 93 against 100 deg -7 %).
CREATE OR REPLACE TEMP MACRO side_by_side(joint, l, r, lift) AS
    printf('%s %.0f° left, %.0f° right (%s)', joint, l, r, lift);
CREATE OR REPLACE TEMP MACRO too_heavy_rule(n_sessions, load_pct_per_week, good_pp_per_week, rounding_deg_per_week) AS
    coalesce(n_sessions >= {TOO_HEAVY_MIN_SESSIONS} AND load_pct_per_week >= {TOO_HEAVY_LOAD_PCT_PER_WEEK}
             AND (coalesce(good_pp_per_week <= {TOO_HEAVY_GOOD_PP_PER_WEEK}, false)
                  OR coalesce(rounding_deg_per_week >= {TOO_HEAVY_ROUNDING_DEG_PER_WEEK}, false)), false);

-- ------------------------------------------------------------------ one row per rep
CREATE OR REPLACE TEMP MACRO set_third(rep, n) AS
    CASE WHEN n IS NULL OR n < 3 THEN NULL
         WHEN rep <= greatest(1, n // 3) THEN 'first'
         WHEN rep > n - greatest(1, n // 3) THEN 'last'
         ELSE 'middle' END;

CREATE OR REPLACE TEMP VIEW rep_view AS
SELECT
    c.athlete_id, c.session_date, c.exercise, c.side, c.load_kg, c.set_number, c.modality,
    r.*,
    p.label, p.predicted_label, p.confidence, p.cue, p.model_version,
    c.n_reps AS reps_in_set,
    -- first / middle / last third of the set: k = max(1, floor(n/3)) reps at each end; sets of
    -- fewer than 3 reps have no thirds
    set_third(r.rep, c.n_reps) AS set_third,
    coalesce(r.peak_upper_back_rounding_deg, r.peak_thoracic_flexion_deg) AS peak_back_rounding_deg
FROM reps r
JOIN recordings c USING (recording_id)
LEFT JOIN predictions p USING (recording_id, rep);

-- ------------------------------------------------------------------ one row per set (recording)
CREATE OR REPLACE TEMP VIEW set_view AS
SELECT
    athlete_id, session_date, exercise, side, set_number, load_kg, recording_id,
    count(*) AS reps,
    avg(good_or_null(label)) AS share_good,
    avg(uncertain_or_null(label)) AS share_uncertain,
    avg(good_or_null(label)) FILTER (WHERE set_third = 'first') AS share_good_first_third,
    avg(good_or_null(label)) FILTER (WHERE set_third = 'last') AS share_good_last_third,
    -- form decay (fatigue): share good in the first third minus the last third; > 0 = form fades
    avg(good_or_null(label)) FILTER (WHERE set_third = 'first')
        - avg(good_or_null(label)) FILTER (WHERE set_third = 'last') AS form_decay,
    avg(duration_s) AS mean_rep_duration_s,
    avg(peak_hip_flexion_deg) AS mean_peak_hip_flexion_deg
FROM rep_view
GROUP BY ALL;

-- ------------------------------------------------------------------ rep counts per label
CREATE OR REPLACE TEMP VIEW session_labels AS
SELECT athlete_id, session_date, exercise, coalesce(label, 'not labelled') AS label, count(*) AS reps
FROM rep_view
GROUP BY ALL;

-- ------------------------------------------------------------------ per athlete x session x exercise
-- Left/right values per metric: bilateral sets give both legs on every rep; unilateral sets (side
-- given, e.g. single-leg RDL) compare the stance leg of the left-stance sets with the stance leg of
-- the right-stance sets.
-- The session aggregates read each table once and join only small per-session results (no
-- rep-by-rep join of reps with predictions): that keeps 10^6 reps well under a second.
CREATE OR REPLACE TEMP VIEW session_sets AS
SELECT athlete_id, session_date, exercise,
    count(*) AS sets, max(load_kg) AS top_load_kg, avg(load_kg) AS mean_load_kg
FROM recordings
GROUP BY athlete_id, session_date, exercise;

CREATE OR REPLACE TEMP VIEW session_angles AS
WITH sided AS (
    SELECT c.athlete_id, c.session_date, c.exercise, r.*,
        coalesce(r.peak_upper_back_rounding_deg, r.peak_thoracic_flexion_deg) AS peak_back_rounding_deg,
        CASE WHEN left_seen THEN r.peak_knee_flexion_left_deg END AS knee_l,
        CASE WHEN right_seen THEN r.peak_knee_flexion_right_deg END AS knee_r,
        CASE WHEN left_seen THEN r.peak_hip_flexion_left_deg END AS hip_l,
        CASE WHEN right_seen THEN r.peak_hip_flexion_right_deg END AS hip_r,
        CASE WHEN left_seen THEN r.peak_ankle_dorsiflexion_left_deg END AS ankle_l,
        CASE WHEN right_seen THEN r.peak_ankle_dorsiflexion_right_deg END AS ankle_r
    FROM reps_raw r
    JOIN (
        -- unilateral work: each side from its own stance leg's sets
        SELECT *,
            measures_both_legs(modality, format, sensors) AND (side IS NULL OR side = 'left') AS left_seen,
            measures_both_legs(modality, format, sensors) AND (side IS NULL OR side = 'right') AS right_seen
        FROM recordings_raw
    ) c USING (recording_id, ingest_id)
)
SELECT
    athlete_id, session_date, exercise,
    count(*) AS reps,
    -- angles: mean over reps of each rep's peak, and the session's highest peak
    avg(peak_hip_flexion_deg) AS mean_peak_hip_flexion_deg,
    max(peak_hip_flexion_deg) AS max_peak_hip_flexion_deg,
    -- a side view (a hidden far leg) or one leg's IMUs measure one knee: it stands for both
    avg((coalesce(peak_knee_flexion_left_deg, peak_knee_flexion_right_deg)
        + coalesce(peak_knee_flexion_right_deg, peak_knee_flexion_left_deg)) / 2) AS mean_peak_knee_flexion_deg,
    max(greatest(peak_knee_flexion_left_deg, peak_knee_flexion_right_deg)) AS max_peak_knee_flexion_deg,
    avg(peak_trunk_inclination_deg) AS mean_peak_trunk_inclination_deg,
    max(peak_trunk_inclination_deg) AS max_peak_trunk_inclination_deg,
    avg(peak_back_rounding_deg) AS mean_peak_back_rounding_deg,
    avg(peak_lumbar_flexion_deg) AS mean_peak_lumbar_flexion_deg,
    avg(knee_to_hip_ratio) AS mean_knee_to_hip_ratio,
    -- tempo (seconds per rep and phase)
    avg(duration_s) AS mean_rep_duration_s,
    avg(eccentric_s) AS mean_eccentric_s,
    avg(bottom_pause_s) AS mean_bottom_pause_s,
    avg(concentric_s) AS mean_concentric_s,
    avg(peak_hinge_velocity_deg_s) AS mean_peak_hinge_velocity_deg_s,
    -- left / right: means of per-rep peaks, and how many reps each rests on
    avg(knee_l) AS knee_left_deg, avg(knee_r) AS knee_right_deg,
    count(knee_l) AS knee_left_n, count(knee_r) AS knee_right_n,
    avg(hip_l) AS hip_left_deg, avg(hip_r) AS hip_right_deg,
    count(hip_l) AS hip_left_n, count(hip_r) AS hip_right_n,
    avg(ankle_l) AS ankle_left_deg, avg(ankle_r) AS ankle_right_deg,
    count(ankle_l) AS ankle_left_n, count(ankle_r) AS ankle_right_n
FROM sided
GROUP BY athlete_id, session_date, exercise;

-- Labelled reps counted per session and label in one pass (also by place in the set).
CREATE OR REPLACE TEMP VIEW session_label_counts AS
SELECT c.athlete_id, c.session_date, c.exercise, p.label,
    count(*) AS reps,
    count(*) FILTER (WHERE c.n_reps >= 3 AND p.rep <= greatest(1, c.n_reps // 3)) AS reps_first_third,
    count(*) FILTER (WHERE c.n_reps >= 3 AND p.rep > c.n_reps - greatest(1, c.n_reps // 3))
        AS reps_last_third
FROM predictions_raw p
JOIN recordings_raw c USING (recording_id, ingest_id)  -- = the predictions view, joined once
GROUP BY ALL;

CREATE OR REPLACE TEMP VIEW session_label_stats AS
SELECT
    athlete_id, session_date, exercise,
    sum(reps) AS n_labelled,
    coalesce(sum(reps) FILTER (WHERE label = 'good'), 0) / nullif(sum(reps), 0) AS share_good,
    coalesce(sum(reps) FILTER (WHERE label = 'uncertain'), 0) / nullif(sum(reps), 0) AS share_uncertain,
    sum(reps) FILTER (WHERE label = 'good') AS n_good,
    sum(reps) FILTER (WHERE label = 'rounded_back') AS n_rounded_back,
    sum(reps) FILTER (WHERE label = 'lumbar_flexion') AS n_lumbar_flexion,
    sum(reps) FILTER (WHERE label = 'hyperextension') AS n_hyperextension,
    sum(reps) FILTER (WHERE label = 'squatting') AS n_squatting,
    sum(reps) FILTER (WHERE label = 'hips_not_back') AS n_hips_not_back,
    sum(reps) FILTER (WHERE label NOT IN ('good', 'rounded_back', 'lumbar_flexion', 'hyperextension',
                                          'squatting', 'hips_not_back', 'uncertain')) AS n_other_label,
    sum(reps) FILTER (WHERE label = 'uncertain') AS n_uncertain,
    arg_max(label, reps) FILTER (WHERE label NOT IN ('good', 'uncertain')) AS most_common_mistake,
    -- fatigue: pooled over the session's sets
    coalesce(sum(reps_first_third) FILTER (WHERE label = 'good'), 0)
        / nullif(sum(reps_first_third), 0) AS share_good_first_third,
    coalesce(sum(reps_last_third) FILTER (WHERE label = 'good'), 0)
        / nullif(sum(reps_last_third), 0) AS share_good_last_third
FROM session_label_counts
WHERE label IS NOT NULL
GROUP BY athlete_id, session_date, exercise;

CREATE OR REPLACE TEMP VIEW session_base AS
SELECT
    athlete_id, session_date, exercise,
    s.sets, a.reps, s.top_load_kg, s.mean_load_kg,
    l.share_good,
    l.share_uncertain,
    coalesce(l.n_good, 0)::BIGINT AS n_good,
    coalesce(l.n_rounded_back, 0)::BIGINT AS n_rounded_back,
    coalesce(l.n_lumbar_flexion, 0)::BIGINT AS n_lumbar_flexion,
    coalesce(l.n_hyperextension, 0)::BIGINT AS n_hyperextension,
    coalesce(l.n_squatting, 0)::BIGINT AS n_squatting,
    coalesce(l.n_hips_not_back, 0)::BIGINT AS n_hips_not_back,
    coalesce(l.n_other_label, 0)::BIGINT AS n_other_label,
    coalesce(l.n_uncertain, 0)::BIGINT AS n_uncertain,
    (a.reps - coalesce(l.n_labelled, 0))::BIGINT AS n_unlabelled,
    l.most_common_mistake,
    a.* EXCLUDE (athlete_id, session_date, exercise, reps),
    l.share_good_first_third,
    l.share_good_last_third
FROM session_angles a
JOIN session_sets s USING (athlete_id, session_date, exercise)
LEFT JOIN session_label_stats l USING (athlete_id, session_date, exercise);

CREATE OR REPLACE TEMP VIEW session_sym AS
SELECT
    * EXCLUDE (knee_left_n, knee_right_n, hip_left_n, hip_right_n, ankle_left_n, ankle_right_n),
    share_good_first_third - share_good_last_third AS form_decay,
    sides_measured(knee_left_n, knee_right_n) AS knee_sides_measured,
    sides_measured(hip_left_n, hip_right_n) AS hip_sides_measured,
    sides_measured(ankle_left_n, ankle_right_n) AS ankle_sides_measured,
    symmetry_index(knee_left_deg, knee_right_deg) AS knee_si_pct,
    symmetry_index(hip_left_deg, hip_right_deg) AS hip_si_pct,
    symmetry_index(ankle_left_deg, ankle_right_deg) AS ankle_si_pct,
    -- the same comparison in degrees, which reports show: an SI of a small angle reads -140 %
    -- for a good morning's knees bent 3 and 16 deg
    knee_left_deg - knee_right_deg AS knee_diff_deg,
    hip_left_deg - hip_right_deg AS hip_diff_deg,
    ankle_left_deg - ankle_right_deg AS ankle_diff_deg,
    is_asymmetric(knee_left_deg, knee_right_deg, knee_left_n, knee_right_n) AS knee_asymmetry_flag,
    is_asymmetric(hip_left_deg, hip_right_deg, hip_left_n, hip_right_n) AS hip_asymmetry_flag,
    is_asymmetric(ankle_left_deg, ankle_right_deg, ankle_left_n, ankle_right_n) AS ankle_asymmetry_flag,
    -- rolling window for "too heavy, too soon": this session and the same exercise's sessions of
    -- the 27 days before it; slopes per week by least squares over session dates
    date_diff('day', DATE '2000-01-03', session_date) AS day_number
FROM session_base;

CREATE OR REPLACE TEMP VIEW session_trends AS
SELECT
    *,
    knee_asymmetry_flag OR hip_asymmetry_flag OR ankle_asymmetry_flag AS asymmetry_flag,
    -- week-over-week: change from this athlete's previous session of the exercise
    lag(session_date) OVER w_prev AS previous_session_date,
    share_good - lag(share_good) OVER w_prev AS share_good_change,
    top_load_kg - lag(top_load_kg) OVER w_prev AS top_load_change_kg,
    count(*) OVER w_roll AS window_sessions,
    -- least-squares slopes per week over the window (NULL until it holds two sessions)
    CASE WHEN count(*) OVER w_roll >= 2 THEN 100 * 7 * regr_slope(top_load_kg, day_number) OVER w_roll
        / nullif(first_value(top_load_kg) OVER w_roll, 0) END AS load_trend_pct_per_week,
    CASE WHEN count(share_good) OVER w_roll >= 2
        THEN 100 * 7 * regr_slope(share_good, day_number) OVER w_roll END AS share_good_trend_pp_per_week,
    CASE WHEN count(mean_peak_back_rounding_deg) OVER w_roll >= 2
        THEN 7 * regr_slope(mean_peak_back_rounding_deg, day_number) OVER w_roll
    END AS back_rounding_trend_deg_per_week
FROM session_sym
WINDOW
    w_prev AS (PARTITION BY athlete_id, exercise ORDER BY session_date),
    w_roll AS (PARTITION BY athlete_id, exercise ORDER BY day_number
               RANGE BETWEEN {TOO_HEAVY_WINDOW_DAYS_BEFORE} PRECEDING AND CURRENT ROW);

CREATE OR REPLACE TEMP VIEW sessions AS
SELECT
    * EXCLUDE (day_number),
    too_heavy_rule(window_sessions, load_trend_pct_per_week, share_good_trend_pp_per_week,
                   back_rounding_trend_deg_per_week) AS too_heavy_too_soon
FROM session_trends;

-- ------------------------------------------------------------------ per athlete x exercise x week
CREATE OR REPLACE TEMP VIEW weekly AS
SELECT
    *,
    share_good - lag(share_good) OVER w AS share_good_change,
    top_load_kg - lag(top_load_kg) OVER w AS top_load_change_kg
FROM (
    SELECT
        athlete_id, exercise, date_trunc('week', session_date)::DATE AS week,
        count(*) AS sessions, sum(reps)::BIGINT AS reps, max(top_load_kg) AS top_load_kg,
        sum(n_good) / nullif(sum(reps - n_unlabelled), 0) AS share_good,
        sum(n_uncertain) / nullif(sum(reps - n_unlabelled), 0) AS share_uncertain,
        bool_or(asymmetry_flag) AS asymmetry_flag,
        bool_or(too_heavy_too_soon) AS too_heavy_too_soon
    FROM sessions
    GROUP BY ALL
)
WINDOW w AS (PARTITION BY athlete_id, exercise ORDER BY week);

-- ------------------------------------------------------------------ per athlete over a period
-- athlete_flags(since, athlete): NULL = no limit. Asymmetric when, for some exercise and metric, at
-- least half of the athlete's sessions of that exercise in the period are flagged (a persistent
-- pattern, not one noisy session); too heavy, too soon when any session in the period is flagged.
CREATE OR REPLACE TEMP MACRO athlete_flags(since, only_athlete) AS TABLE
WITH chosen AS (
    SELECT * FROM sessions
    WHERE (since IS NULL OR session_date >= since)
      AND (only_athlete IS NULL OR athlete_id = only_athlete)
),
per_exercise AS (
    SELECT
        athlete_id,
        exercise,
        concat_ws(', ',
            CASE WHEN avg(knee_asymmetry_flag::INT) FILTER (WHERE knee_sides_measured) >= 0.5 THEN side_by_side('knee',
                median(knee_left_deg) FILTER (WHERE knee_asymmetry_flag),
                median(knee_right_deg) FILTER (WHERE knee_asymmetry_flag), exercise) END,
            CASE WHEN avg(hip_asymmetry_flag::INT) FILTER (WHERE hip_sides_measured) >= 0.5 THEN side_by_side('hip',
                median(hip_left_deg) FILTER (WHERE hip_asymmetry_flag),
                median(hip_right_deg) FILTER (WHERE hip_asymmetry_flag), exercise) END,
            CASE WHEN avg(ankle_asymmetry_flag::INT) FILTER (WHERE ankle_sides_measured) >= 0.5 THEN side_by_side('ankle',
                median(ankle_left_deg) FILTER (WHERE ankle_asymmetry_flag),
                median(ankle_right_deg) FILTER (WHERE ankle_asymmetry_flag), exercise) END
        ) AS detail
    FROM chosen
    GROUP BY athlete_id, exercise
),
asymmetry AS (
    SELECT athlete_id, string_agg(nullif(detail, ''), '; ' ORDER BY exercise) AS asymmetry_detail
    FROM per_exercise
    GROUP BY athlete_id
)
SELECT
    athlete_id,
    count(DISTINCT session_date) AS sessions,
    sum(reps)::BIGINT AS reps,
    min(session_date) AS first_session,
    max(session_date) AS last_session,
    sum(n_good) / nullif(sum(reps - n_unlabelled), 0) AS share_good,
    sum(n_uncertain) / nullif(sum(reps - n_unlabelled), 0) AS share_uncertain,
    mode(most_common_mistake) AS most_common_mistake,
    avg(asymmetry_flag::INT) FILTER (WHERE knee_sides_measured OR hip_sides_measured OR ankle_sides_measured)
        AS share_sessions_asymmetric,
    any_value(a.asymmetry_detail) IS NOT NULL AS asymmetry_flag,
    any_value(a.asymmetry_detail) AS asymmetry_detail,
    bool_or(too_heavy_too_soon) AS too_heavy_too_soon,
    string_agg(DISTINCT exercise, ', ' ORDER BY exercise) FILTER (WHERE too_heavy_too_soon)
        AS too_heavy_exercises,
    min(session_date) FILTER (WHERE too_heavy_too_soon) AS too_heavy_since
FROM chosen
LEFT JOIN asymmetry a USING (athlete_id)
GROUP BY athlete_id
ORDER BY athlete_id;
