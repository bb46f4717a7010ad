-- Steps a multi-step destination (a CRM) finished, with the ids it got
-- (JSON object): a retry resumes after them instead of repeating them.
ALTER TABLE deliveries ADD COLUMN progress TEXT;
