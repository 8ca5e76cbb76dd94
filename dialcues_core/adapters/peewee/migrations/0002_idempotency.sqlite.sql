-- Migration v2 on sqlite, frozen as it shipped: never edit it; add a new migration instead.
CREATE TABLE IF NOT EXISTS "idempotency_keys" ("user_id" VARCHAR(40) NOT NULL, "key" VARCHAR(255) NOT NULL, "fingerprint" VARCHAR(64) NOT NULL, "lease_until" INTEGER NOT NULL, "status" INTEGER, "body" BLOB, "content_type" VARCHAR(255), "created_at" INTEGER NOT NULL, PRIMARY KEY ("user_id", "key"));
CREATE INDEX IF NOT EXISTS "idempotency_keys_created_at" ON "idempotency_keys" ("created_at");
