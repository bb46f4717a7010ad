-- The caller's country as derived at ingest, so sending a call does not
-- parse its number again.
ALTER TABLE calls ADD COLUMN caller_phone_country TEXT;
