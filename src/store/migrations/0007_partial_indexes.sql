-- Deliveries are looked up by due time only while pending, and by kind only
-- as reminders: partial indexes stay as small as the work waiting, and a
-- call's delivery leaves them as soon as it is delivered.
DROP INDEX deliveries_due;
DROP INDEX deliveries_reminders;
CREATE INDEX deliveries_pending ON deliveries (destination, due_at) WHERE state = 'pending';
CREATE INDEX deliveries_reminders ON deliveries (due_at) WHERE kind = 'reminder';
