-- Migration v8 on postgres, frozen as it shipped: never edit it; add a new migration instead.
CREATE TABLE IF NOT EXISTS "workers" ("id" VARCHAR(64) NOT NULL PRIMARY KEY, "host" VARCHAR(255) NOT NULL, "pid" INTEGER NOT NULL, "started_at" BIGINT NOT NULL, "last_seen_at" BIGINT NOT NULL, "last_claim_at" BIGINT, "stopped_at" BIGINT);
CREATE INDEX IF NOT EXISTS "workers_last_seen_at" ON "workers" ("last_seen_at");
CREATE TABLE IF NOT EXISTS "tzdata_zones" ("name" VARCHAR(64) NOT NULL PRIMARY KEY, "version" VARCHAR(16) NOT NULL, "tzif" BYTEA NOT NULL);
