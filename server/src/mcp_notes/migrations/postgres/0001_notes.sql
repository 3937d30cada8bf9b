CREATE TABLE notes (
    id uuid PRIMARY KEY,
    tenant text NOT NULL DEFAULT '',
    subject text NOT NULL,
    title text NOT NULL,
    body text NOT NULL,
    tags text[] NOT NULL DEFAULT '{}',
    version integer NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    search tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('english', title), 'A') || setweight(to_tsvector('english', body), 'B')
    ) STORED
);
CREATE INDEX notes_owner_updated ON notes (tenant, subject, updated_at DESC);
CREATE INDEX notes_search ON notes USING gin (search);
CREATE INDEX notes_tags ON notes USING gin (tags);
