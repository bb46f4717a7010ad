-- The call-back as resolved at ingest (the template's `callback` object as
-- JSON; NULL when the call asks for none): every send shows the time the
-- reminder was planned for, and the phrase is resolved once per call.
ALTER TABLE calls ADD COLUMN callback TEXT;
