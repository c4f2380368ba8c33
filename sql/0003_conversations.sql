-- 0003: voice calls.  A conversation row is written once, when the call
-- ends (INSERT ... ON CONFLICT (id) DO NOTHING, its id is the session id),
-- together with its transcript turns and tool calls and one more call in
-- the tenant's monthly usage.  Calls whose worker died are written the
-- same way by the sweeper (swept = true).

CREATE TABLE conversations (
    id                    uuid PRIMARY KEY,          -- the session id
    tenant_id             uuid NOT NULL REFERENCES tenants (id)
                          ON DELETE CASCADE,
    agent_id              uuid NOT NULL REFERENCES agents (id)
                          ON DELETE CASCADE,
    agent_name            text NOT NULL DEFAULT '',  -- as it was then
    key_id                uuid REFERENCES api_keys (id) ON DELETE SET NULL,
    mode                  text NOT NULL CHECK (mode IN ('live', 'echo')),
    model                 text,
    started_at            timestamptz NOT NULL,
    ended_at              timestamptz NOT NULL,
    duration_ms           bigint NOT NULL CHECK (duration_ms >= 0),
    end_reason            text NOT NULL CHECK (end_reason IN (
                              'client_closed', 'client_vanished',
                              'upstream_failed', 'idle_timeout',
                              'max_duration', 'shutdown', 'usage_limit',
                              'error', 'client_protocol')),
    close_code            integer,
    audio_seconds_in      double precision NOT NULL DEFAULT 0,
    audio_seconds_out     double precision NOT NULL DEFAULT 0,
    resumptions           integer NOT NULL DEFAULT 0,
    prompt_tokens         bigint NOT NULL DEFAULT 0,
    response_tokens       bigint NOT NULL DEFAULT 0,
    total_tokens          bigint NOT NULL DEFAULT 0,
    turn_count            integer NOT NULL DEFAULT 0,
    transcript_truncated  boolean NOT NULL DEFAULT false,
    swept                 boolean NOT NULL DEFAULT false,
    created_at            timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX conversations_page
    ON conversations (tenant_id, started_at DESC, id DESC);
CREATE INDEX conversations_agent_page
    ON conversations (tenant_id, agent_id, started_at DESC, id DESC);

CREATE TABLE conversation_turns (
    conversation_id  uuid NOT NULL REFERENCES conversations (id)
                     ON DELETE CASCADE,
    seq              integer NOT NULL,
    role             text NOT NULL CHECK (role IN ('user', 'agent')),
    text             text NOT NULL,
    at               timestamptz NOT NULL,
    typed            boolean NOT NULL DEFAULT false,
    interrupted      boolean NOT NULL DEFAULT false,
    PRIMARY KEY (conversation_id, seq)
);

CREATE TABLE conversation_tool_calls (
    conversation_id  uuid NOT NULL REFERENCES conversations (id)
                     ON DELETE CASCADE,
    seq              integer NOT NULL,
    call_id          text NOT NULL,
    name             text NOT NULL,
    status           text NOT NULL
                     CHECK (status IN ('ok', 'error', 'timeout', 'cancelled')),
    args             jsonb,
    result           jsonb,
    started_at       timestamptz NOT NULL,
    finished_at      timestamptz,
    PRIMARY KEY (conversation_id, seq)
);

-- calls per calendar month (UTC), against plans.conversations_per_month
CREATE TABLE tenant_usage (
    tenant_id      uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    month          date NOT NULL,              -- its first day
    conversations  integer NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, month)
);

-- The API's JSON shapes (docs/openapi.json: Conversation, Turn, ToolCall).

CREATE FUNCTION orbis_conversation_json(c conversations) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_build_object('id', c.id, 'agentId', c.agent_id,
                             'agentName', c.agent_name,
                             'startedAt', c.started_at,
                             'endedAt', c.ended_at,
                             'durationSec', round(c.duration_ms / 1000.0, 3),
                             'endReason', c.end_reason,
                             'audioSecondsIn', c.audio_seconds_in,
                             'audioSecondsOut', c.audio_seconds_out,
                             'resumptions', c.resumptions,
                             'turnCount', c.turn_count)
$$;

CREATE FUNCTION orbis_conversation_detail_json(c conversations) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT (orbis_conversation_json(c)::jsonb || jsonb_build_object(
        'turns', coalesce((
            SELECT jsonb_agg(jsonb_build_object('role', t.role,
                                                'text', t.text,
                                                'at', t.at)
                             ORDER BY t.seq)
              FROM conversation_turns t
             WHERE t.conversation_id = c.id), '[]'::jsonb),
        'toolCalls', coalesce((
            SELECT jsonb_agg(jsonb_build_object('name', k.name,
                                                'status', k.status,
                                                'args', k.args,
                                                'result', k.result,
                                                'startedAt', k.started_at,
                                                'finishedAt', k.finished_at)
                             ORDER BY k.seq)
              FROM conversation_tool_calls k
             WHERE k.conversation_id = c.id), '[]'::jsonb)))::json
$$;
