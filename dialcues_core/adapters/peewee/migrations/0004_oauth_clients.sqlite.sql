-- Migration v4 on sqlite, frozen as it shipped: never edit it; add a new migration instead.
CREATE TABLE IF NOT EXISTS "oauth_clients" ("id" VARCHAR(40) NOT NULL PRIMARY KEY, "user_id" VARCHAR(40) NOT NULL, "organization_id" VARCHAR(40) NOT NULL, "name" VARCHAR(255), "secret_hash" VARCHAR(64) NOT NULL, "scopes" VARCHAR(500) NOT NULL, "created_at" INTEGER NOT NULL, "revoked_at" INTEGER, FOREIGN KEY ("user_id") REFERENCES "users" ("id"));
CREATE INDEX IF NOT EXISTS "oauth_clients_user_id" ON "oauth_clients" ("user_id");
CREATE TABLE IF NOT EXISTS "oauth_access_tokens" ("token_hash" VARCHAR(64) NOT NULL PRIMARY KEY, "client_id" VARCHAR(40) NOT NULL, "scopes" VARCHAR(500) NOT NULL, "created_at" INTEGER NOT NULL, "expires_at" INTEGER NOT NULL, FOREIGN KEY ("client_id") REFERENCES "oauth_clients" ("id") ON DELETE CASCADE);
CREATE INDEX IF NOT EXISTS "oauth_access_tokens_client_id" ON "oauth_access_tokens" ("client_id");
CREATE INDEX IF NOT EXISTS "oauth_access_tokens_client_id_expires_at" ON "oauth_access_tokens" ("client_id", "expires_at");
