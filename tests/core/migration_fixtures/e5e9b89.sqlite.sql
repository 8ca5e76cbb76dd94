-- The schema a database created by e5e9b89 had (SQLite), with its schema_version rows.
-- e5e9b89 2026-11-23 Core library: domain, errors, validation, recurrence, keys, peewee pers
CREATE TABLE "api_keys" ("id" VARCHAR(40) NOT NULL PRIMARY KEY, "user_id" VARCHAR(40) NOT NULL, "organization_id" VARCHAR(40) NOT NULL, "name" VARCHAR(255), "prefix" VARCHAR(20) NOT NULL, "last4" VARCHAR(4) NOT NULL, "key_hash" VARCHAR(64) NOT NULL, "scopes" VARCHAR(500) NOT NULL, "created_at" INTEGER NOT NULL, "last_used_at" INTEGER, "expires_at" INTEGER, "revoked_at" INTEGER, FOREIGN KEY ("user_id") REFERENCES "users" ("id"));
CREATE TABLE "executions" ("id" INTEGER NOT NULL PRIMARY KEY, "user_id" VARCHAR(40) NOT NULL, "organization_id" VARCHAR(40) NOT NULL, "reminder_id" INTEGER, "reminder_title" VARCHAR(255), "status" VARCHAR(16) NOT NULL, "attempt" INTEGER NOT NULL, "call_id" VARCHAR(100), "line_id" VARCHAR(40), "to_number" VARCHAR(16) NOT NULL, "message" TEXT, "scheduled_for" INTEGER NOT NULL, "executed_at" INTEGER, "ended_at" INTEGER, "ended_reason" VARCHAR(255), "duration_s" INTEGER, "cost" REAL, "error_message" TEXT, "lease_until" INTEGER, "due_at" INTEGER, "created_at" INTEGER NOT NULL);
CREATE TABLE "organizations" ("id" VARCHAR(40) NOT NULL PRIMARY KEY, "name" VARCHAR(255) NOT NULL, "created_at" INTEGER NOT NULL, "provider" VARCHAR(20), "provider_api_key" TEXT, "provider_assistant_id" VARCHAR(255), "provider_webhook_secret" TEXT, "provider_base_url" VARCHAR(500), "provider_concurrency" INTEGER, "provider_retry_delays" VARCHAR(255));
CREATE TABLE "outbound_lines" ("id" VARCHAR(40) NOT NULL PRIMARY KEY, "organization_id" VARCHAR(40) NOT NULL, "provider" VARCHAR(20) NOT NULL, "provider_line_id" VARCHAR(255), "phone_number" VARCHAR(16) NOT NULL, "label" VARCHAR(255), "is_default" INTEGER NOT NULL, "created_at" INTEGER NOT NULL, FOREIGN KEY ("organization_id") REFERENCES "organizations" ("id"));
CREATE TABLE "reminders" ("id" INTEGER NOT NULL PRIMARY KEY, "user_id" VARCHAR(40) NOT NULL, "organization_id" VARCHAR(40) NOT NULL, "title" VARCHAR(255) NOT NULL, "message" TEXT NOT NULL, "phone_number" VARCHAR(16) NOT NULL, "scheduled_at" INTEGER NOT NULL, "timezone" VARCHAR(64) NOT NULL, "local_time" VARCHAR(19) NOT NULL, "status" VARCHAR(16) NOT NULL, "line_id" VARCHAR(40), "recurrence_kind" VARCHAR(16), "interval_days" INTEGER, "weekdays" VARCHAR(20), "cron" VARCHAR(255), "recurrence_end_at" INTEGER, "retry_count" INTEGER NOT NULL, "next_attempt_at" INTEGER, "last_execution_id" INTEGER, "due_at" INTEGER, "search_text" TEXT NOT NULL, "created_at" INTEGER NOT NULL, "updated_at" INTEGER NOT NULL);
CREATE TABLE "schema_version" ("id" INTEGER NOT NULL PRIMARY KEY, "version" INTEGER NOT NULL);
CREATE TABLE "users" ("id" VARCHAR(40) NOT NULL PRIMARY KEY, "organization_id" VARCHAR(40) NOT NULL, "email" VARCHAR(320) NOT NULL, "name" VARCHAR(255) NOT NULL, "created_at" INTEGER NOT NULL, FOREIGN KEY ("organization_id") REFERENCES "organizations" ("id"));
CREATE UNIQUE INDEX "api_keys_key_hash" ON "api_keys" ("key_hash");
CREATE INDEX "api_keys_user_id" ON "api_keys" ("user_id");
CREATE INDEX "executions_call_id" ON "executions" ("call_id");
CREATE INDEX "executions_due_at" ON "executions" ("due_at");
CREATE INDEX "executions_reminder_id" ON "executions" ("reminder_id");
CREATE INDEX "executions_status_lease_until" ON "executions" ("status", "lease_until");
CREATE INDEX "executions_user_id_id" ON "executions" ("user_id", "id");
CREATE INDEX "outbound_lines_organization_id" ON "outbound_lines" ("organization_id");
CREATE INDEX "reminders_due_at" ON "reminders" ("due_at");
CREATE INDEX "reminders_user_id_scheduled_at_id" ON "reminders" ("user_id", "scheduled_at", "id");
CREATE INDEX "reminders_user_id_status_scheduled_at" ON "reminders" ("user_id", "status", "scheduled_at");
CREATE INDEX "reminders_user_id_updated_at" ON "reminders" ("user_id", "updated_at");
CREATE INDEX "users_organization_id" ON "users" ("organization_id");
CREATE UNIQUE INDEX "users_organization_id_email" ON "users" ("organization_id", "email");
INSERT INTO schema_version (id, version) VALUES (1, 1);
