-- Migration v9 on sqlite, frozen as it shipped: never edit it; add a new migration instead.
DROP INDEX IF EXISTS "reminders_user_id_status_scheduled_at";
DROP INDEX IF EXISTS "reminders_user_id_updated_at";
CREATE INDEX IF NOT EXISTS "reminders_user_id_status_scheduled_at_id" ON "reminders" ("user_id", "status", "scheduled_at", "id");
CREATE INDEX IF NOT EXISTS "reminders_user_id_updated_at_id" ON "reminders" ("user_id", "updated_at", "id");
CREATE INDEX IF NOT EXISTS "reminders_user_id_search_text" ON "reminders" ("user_id", "search_text");
