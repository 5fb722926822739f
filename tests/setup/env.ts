// Defaults for tests that load lib/config: a fixed session secret and quiet logs.
process.env.SESSION_SECRET ??= "test-session-secret-0123456789abcdef0123456789";
process.env.LOG_LEVEL ??= "silent";
process.env.DATABASE_URL ??= "postgres://unset@127.0.0.1:1/unset";
process.env.GATEWAY_SECRET ??= "test-gateway-secret-0123456789abcdef0123456789";
process.env.KEY_PEPPER ??= "test-key-pepper-0123456789abcdef0123456789abcd";
process.env.WEBHOOK_SECRET ??= "test-webhook-secret-0123456789abcdef0123456789";
process.env.CRON_SECRET ??= "test-cron-secret-0123456789abcdef0123456789abc";
process.env.LITELLM_URL ??= "http://127.0.0.1:9";
