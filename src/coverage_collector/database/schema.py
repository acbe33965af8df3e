"""The collection database's schema: every table, as a list of migrations.

A database records the number of migrations applied (`PRAGMA user_version`); opening it for
writing applies the missing ones, each in its own transaction, so a database made by any
earlier version of the tool is brought up to date in place and never rebuilt.

Units are stored once per binary (its covmeta file, compressed); counters once per entry
and per owner and binary (compressed vectors aligned to those units); file and function
statistics are plain rows for fast queries.

Migrations never change once released: a fresh database runs all of them, so it has exactly
the schema of a migrated one. Read the last ones too (migration 6 renamed `reports` to
`entries`, `report_id` to `entry_id`).
"""

from __future__ import annotations

MIGRATIONS: tuple[str, ...] = (
    # 1: the first schema.
    """
    CREATE TABLE settings (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    CREATE TABLE binaries (
        id INTEGER PRIMARY KEY,
        meta_hash TEXT NOT NULL UNIQUE,      -- the covmeta file hash, hex
        name TEXT NOT NULL DEFAULT '',       -- most common binary name of its reports
        mode TEXT NOT NULL,
        granularity TEXT NOT NULL,
        n_units INTEGER NOT NULL,
        n_funcs INTEGER NOT NULL,
        meta_blob BLOB NOT NULL,             -- zlib(covmeta file bytes)
        counts_blob BLOB,                    -- merged counters of every report, per unit
        statements INTEGER NOT NULL DEFAULT 0,
        covered INTEGER NOT NULL DEFAULT 0,
        reports INTEGER NOT NULL DEFAULT 0,
        instances INTEGER NOT NULL DEFAULT 0,
        input_hash TEXT NOT NULL DEFAULT ''
    );
    CREATE TABLE reports (
        id INTEGER PRIMARY KEY,
        dir_name TEXT NOT NULL UNIQUE,
        binary_id INTEGER REFERENCES binaries(id),
        namespace TEXT NOT NULL DEFAULT '',
        pod_name TEXT NOT NULL DEFAULT '',
        container_name TEXT NOT NULL DEFAULT '',
        image TEXT NOT NULL DEFAULT '',
        binary_name TEXT NOT NULL DEFAULT '',
        hostname TEXT NOT NULL DEFAULT '',
        is_host INTEGER NOT NULL DEFAULT 0,
        explicit_owner_kind TEXT NOT NULL DEFAULT '',
        explicit_owner_name TEXT NOT NULL DEFAULT '',
        collected_at TEXT NOT NULL DEFAULT '',
        first_seen TEXT NOT NULL DEFAULT '',
        last_seen TEXT NOT NULL DEFAULT '',
        source_key TEXT NOT NULL DEFAULT '',  -- image_sources key: image, or host:<binary>
        source_url TEXT NOT NULL DEFAULT '',
        source_commit TEXT NOT NULL DEFAULT '',
        software_group TEXT NOT NULL DEFAULT '',
        software_key TEXT NOT NULL DEFAULT '',
        instances INTEGER NOT NULL DEFAULT 0,
        counts_blob BLOB,
        statements INTEGER NOT NULL DEFAULT 0,
        covered INTEGER NOT NULL DEFAULT 0,
        status TEXT NOT NULL,                -- ok | partial | error
        error_msg TEXT NOT NULL DEFAULT '',
        duplicate_of INTEGER REFERENCES reports(id) ON DELETE SET NULL,
        stat_sig TEXT NOT NULL,              -- names, sizes, mtimes of the entry's files
        input_hash TEXT NOT NULL,            -- content of covmeta and counter files
        metadata_hash TEXT NOT NULL          -- content of metadata.json and info.json
    );
    CREATE INDEX reports_binary ON reports(binary_id);
    CREATE TABLE instances (
        report_id INTEGER NOT NULL REFERENCES reports(id) ON DELETE CASCADE,
        counter_file TEXT NOT NULL,
        pid INTEGER NOT NULL,
        discovered_ns INTEGER NOT NULL,
        size INTEGER NOT NULL,
        PRIMARY KEY (report_id, counter_file)
    ) WITHOUT ROWID;
    CREATE TABLE owners (
        id INTEGER PRIMARY KEY,
        group_key TEXT NOT NULL UNIQUE,
        namespace TEXT NOT NULL,
        owner_type TEXT NOT NULL,
        owner_name TEXT NOT NULL,
        binary_name TEXT NOT NULL,
        binary_id INTEGER NOT NULL REFERENCES binaries(id),
        image TEXT NOT NULL DEFAULT '',
        images_json TEXT NOT NULL DEFAULT '[]',
        pods_json TEXT NOT NULL DEFAULT '[]',
        pod_count INTEGER NOT NULL DEFAULT 0,
        containers_json TEXT NOT NULL DEFAULT '[]',
        hosts_json TEXT NOT NULL DEFAULT '[]',
        reports INTEGER NOT NULL DEFAULT 0,
        instances INTEGER NOT NULL DEFAULT 0,
        statements INTEGER NOT NULL DEFAULT 0,
        covered INTEGER NOT NULL DEFAULT 0,
        coverage_pct REAL NOT NULL DEFAULT 0.0,
        counts_blob BLOB,
        first_seen TEXT NOT NULL DEFAULT '',
        last_seen TEXT NOT NULL DEFAULT '',
        input_hash TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX owners_binary ON owners(binary_id);
    CREATE TABLE owner_reports (
        owner_id INTEGER NOT NULL REFERENCES owners(id) ON DELETE CASCADE,
        report_id INTEGER NOT NULL REFERENCES reports(id) ON DELETE CASCADE,
        PRIMARY KEY (owner_id, report_id)
    ) WITHOUT ROWID;
    CREATE INDEX owner_reports_report ON owner_reports(report_id);
    -- Per-binary files and functions of the application (excluded files have no rows).
    CREATE TABLE binary_files (
        binary_id INTEGER NOT NULL REFERENCES binaries(id) ON DELETE CASCADE,
        file_id INTEGER NOT NULL,
        path TEXT NOT NULL,
        statements INTEGER NOT NULL,
        covered INTEGER NOT NULL,
        PRIMARY KEY (binary_id, file_id)
    ) WITHOUT ROWID;
    CREATE TABLE binary_functions (
        binary_id INTEGER NOT NULL REFERENCES binaries(id) ON DELETE CASCADE,
        func_id INTEGER NOT NULL,            -- index of the function in the covmeta file
        file_id INTEGER NOT NULL,
        package TEXT NOT NULL,
        name TEXT NOT NULL,
        literal INTEGER NOT NULL,
        start_line INTEGER NOT NULL,
        units INTEGER NOT NULL,
        statements INTEGER NOT NULL,
        covered INTEGER NOT NULL,
        executions INTEGER NOT NULL,         -- counter of the function's entry block
        PRIMARY KEY (binary_id, func_id)
    ) WITHOUT ROWID;
    -- Only the files and functions an owner executed (covered > 0): most of a big binary
    -- never runs in one owner. The views below list every file and function.
    CREATE TABLE owner_files (
        owner_id INTEGER NOT NULL REFERENCES owners(id) ON DELETE CASCADE,
        file_id INTEGER NOT NULL,
        covered INTEGER NOT NULL,
        PRIMARY KEY (owner_id, file_id)
    ) WITHOUT ROWID;
    CREATE TABLE owner_functions (
        owner_id INTEGER NOT NULL REFERENCES owners(id) ON DELETE CASCADE,
        func_id INTEGER NOT NULL,
        covered INTEGER NOT NULL,
        executions INTEGER NOT NULL,
        PRIMARY KEY (owner_id, func_id)
    ) WITHOUT ROWID;
    CREATE VIEW owner_function_stats AS
        SELECT o.id AS owner_id, f.func_id, f.file_id, f.package, f.name, f.literal,
               f.start_line, f.statements, coalesce(x.covered, 0) AS covered,
               coalesce(x.executions, 0) AS executions
        FROM owners o
        JOIN binary_functions f ON f.binary_id = o.binary_id
        LEFT JOIN owner_functions x ON x.owner_id = o.id AND x.func_id = f.func_id;
    CREATE VIEW owner_file_stats AS
        SELECT o.id AS owner_id, f.file_id, f.path, f.statements,
               coalesce(x.covered, 0) AS covered
        FROM owners o
        JOIN binary_files f ON f.binary_id = o.binary_id
        LEFT JOIN owner_files x ON x.owner_id = o.id AND x.file_id = f.file_id;
    CREATE TABLE image_sources (
        image TEXT PRIMARY KEY,              -- container image, or host:<binary>
        source_repo TEXT NOT NULL DEFAULT '',
        commit_id TEXT NOT NULL DEFAULT '',
        software_group TEXT NOT NULL DEFAULT '',
        software_key TEXT NOT NULL DEFAULT '',
        origin TEXT NOT NULL DEFAULT '',
        updated_at TEXT NOT NULL DEFAULT '',
        error_msg TEXT NOT NULL DEFAULT ''
    );
    CREATE TABLE errors (
        id INTEGER PRIMARY KEY,
        stage TEXT NOT NULL,
        item TEXT NOT NULL,
        message TEXT NOT NULL,
        recorded_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
    );
    CREATE INDEX errors_item ON errors(stage, item);
    """,
    # 2: source checkouts (cluster clone-sources).
    """
    CREATE TABLE clones (
        source_url TEXT NOT NULL,            -- as recorded in image_sources
        commit_id TEXT NOT NULL,             -- as recorded in image_sources
        path TEXT NOT NULL DEFAULT '',       -- the checkout, relative to the collection
        status TEXT NOT NULL,                -- cloned | present | fallback | unavailable | refused
        checked_out TEXT NOT NULL DEFAULT '',
        message TEXT NOT NULL DEFAULT '',
        updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
        PRIMARY KEY (source_url, commit_id)
    );
    """,
    # 3: every binary's files resolved to source.
    """
    CREATE TABLE binary_sources (
        binary_id INTEGER PRIMARY KEY REFERENCES binaries(id) ON DELETE CASCADE,
        method TEXT NOT NULL,                -- the method that resolved most files, or none
        confidence TEXT NOT NULL,            -- exact | module | low | fallback | none
        checkout TEXT NOT NULL DEFAULT '',   -- the main checkout, relative to the collection
        commit_id TEXT NOT NULL DEFAULT '',
        source_url TEXT NOT NULL DEFAULT '',
        resolved INTEGER NOT NULL,
        missing INTEGER NOT NULL,            -- module known, file not in the checkout
        unresolved INTEGER NOT NULL,         -- no repository
        notes TEXT NOT NULL DEFAULT ''       -- e.g. recorded source unavailable, fallback
    );
    CREATE TABLE file_sources (
        binary_id INTEGER NOT NULL REFERENCES binaries(id) ON DELETE CASCADE,
        file_id INTEGER NOT NULL,
        status TEXT NOT NULL,                -- resolved | missing | unresolved
        source_path TEXT NOT NULL DEFAULT '', -- relative to the collection
        method TEXT NOT NULL DEFAULT '',
        PRIMARY KEY (binary_id, file_id)
    ) WITHOUT ROWID;
    """,
    # 4: image inspection state, kept apart from the sources it may fill.
    """
    ALTER TABLE image_sources ADD COLUMN inspected_at TEXT NOT NULL DEFAULT '';
    ALTER TABLE image_sources ADD COLUMN inspect_error TEXT NOT NULL DEFAULT '';
    """,
    # 5: why a file found in a checkout was refused (sources/tree.py: outside checkout,
    # symlink, not a regular file, too large); '' for the others.
    """
    ALTER TABLE file_sources ADD COLUMN reason TEXT NOT NULL DEFAULT '';
    """,
    # 6: entries are called entries (issue 15): "report" means the rendered HTML only. The
    # tables are renamed in place, not rebuilt, so a large collection migrates in an instant
    # and keeps every row and id (nothing is recomputed); SQLite rewrites the foreign keys
    # that name them. Indexes keep their name on a rename, so they are made anew.
    """
    ALTER TABLE reports RENAME TO entries;
    ALTER TABLE owner_reports RENAME TO owner_entries;
    ALTER TABLE instances RENAME COLUMN report_id TO entry_id;
    ALTER TABLE owner_entries RENAME COLUMN report_id TO entry_id;
    ALTER TABLE binaries RENAME COLUMN reports TO entries;
    ALTER TABLE owners RENAME COLUMN reports TO entries;
    DROP INDEX reports_binary;
    CREATE INDEX entries_binary ON entries(binary_id);
    DROP INDEX owner_reports_report;
    CREATE INDEX owner_entries_entry ON owner_entries(entry_id);
    """,
    # 7: collections that span clusters (issue 16). An entry belongs to one cluster (the
    # prefix download listed it under; '' before clusters were recorded), its instances
    # carry when they were first and last seen, an owner lists its entries' clusters.
    """
    ALTER TABLE entries ADD COLUMN cluster TEXT NOT NULL DEFAULT '';
    ALTER TABLE instances ADD COLUMN first_seen TEXT NOT NULL DEFAULT '';
    ALTER TABLE instances ADD COLUMN last_seen TEXT NOT NULL DEFAULT '';
    ALTER TABLE owners ADD COLUMN clusters_json TEXT NOT NULL DEFAULT '[]';
    CREATE INDEX entries_cluster ON entries(cluster, binary_id);
    """,
    # 8: compile keeps up with a growing collection (issue 16). An owner's membership row
    # records the hash of the entry's counters it merged, so a later compile adds only new
    # entries to it; deleting an entry finds the host entries marked as its duplicates by
    # index (without it, forgetting a cluster's 2,000 entries scanned the table 2,000 times).
    """
    ALTER TABLE owner_entries ADD COLUMN input_hash TEXT NOT NULL DEFAULT '';
    CREATE INDEX entries_duplicate_of ON entries(duplicate_of);
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)
