-- rule_results: one row per task execution and scoring rule: `rule`, `passed` (the rule's verdict),
-- then every column of `results` (so `success` stays SMOLTRACE's verdict beside it, to compare).
-- The built-in rule 'default' is `results.success`. Rules of the user's own (SQL boolean expressions
-- over the columns of `results`, stored in smoltrace_scoring_rules by `smoltrace-rules add`) are
-- appended to this statement as `UNION ALL SELECT '<name>' AS rule, coalesce((<expression>), false)
-- AS passed, * FROM results` whenever the rules change or the store is opened for writing
-- (smoltrace/store/rules.py): a view cannot read its own definition from a table, so it is regenerated.
-- Filtering on `rule` reads only that rule's branch. A rule that gives NULL for a task fails it.
CREATE OR REPLACE VIEW rule_results AS
SELECT 'default' AS rule, coalesce(success, false) AS passed, * FROM results;
