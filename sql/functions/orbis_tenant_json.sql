-- orbis_tenant_json: its current definition (first created by 0002_accounts.sql).
-- Re-applied by scripts/migrate.sh after every migration run, so this
-- file is the one place to change it.

CREATE OR REPLACE FUNCTION orbis_tenant_json(t tenants) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_build_object('id', t.id, 'name', t.name, 'plan', t.plan,
                             'billingEmail', t.billing_email,
                             'allowedOrigins', t.allowed_origins,
                             'referralCode', t.referral_code,
                             'createdAt', t.created_at,
                             'updatedAt', t.updated_at)
$$;
