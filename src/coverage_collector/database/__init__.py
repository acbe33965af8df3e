"""The collection database: the only package that runs SQLite statements.

`open_database` / `open_existing` / `open_readonly` return a `Database`; the modules here
read and write it through typed functions returning frozen dataclasses, so a column added
to the schema is added in one place.
"""

from coverage_collector.database.connection import (
    DB_NAME,
    Database,
    DatabaseError,
    db_path,
    open_database,
    open_existing,
    open_readonly,
    require_database,
)
from coverage_collector.database.errors import compile_error_count
from coverage_collector.database.schema import SCHEMA_VERSION
from coverage_collector.database.settings import get_setting, set_setting
from coverage_collector.database.sources import (
    CLONE_STAGE,
    BinarySourceRow,
    BinaryToResolve,
    CloneRow,
    FileSourceRow,
    ImageSourceRow,
    RefusedFileRow,
    SourceCommit,
    SourceCounts,
    binaries_to_resolve,
    binary_sources,
    clone_of,
    clone_paths,
    file_sources,
    image_sources,
    images_to_inspect,
    images_with_repository,
    record_clone,
    record_image_inspection,
    record_info_json_sources,
    recorded_commits,
    refused_source_files,
    source_counts,
    store_binary_sources,
    usable_clones,
)

__all__ = [
    "CLONE_STAGE",
    "DB_NAME",
    "SCHEMA_VERSION",
    "BinarySourceRow",
    "BinaryToResolve",
    "CloneRow",
    "Database",
    "DatabaseError",
    "FileSourceRow",
    "ImageSourceRow",
    "RefusedFileRow",
    "SourceCommit",
    "SourceCounts",
    "binaries_to_resolve",
    "binary_sources",
    "clone_of",
    "clone_paths",
    "compile_error_count",
    "db_path",
    "file_sources",
    "get_setting",
    "image_sources",
    "images_to_inspect",
    "images_with_repository",
    "open_database",
    "open_existing",
    "open_readonly",
    "record_clone",
    "record_image_inspection",
    "record_info_json_sources",
    "recorded_commits",
    "refused_source_files",
    "require_database",
    "set_setting",
    "source_counts",
    "store_binary_sources",
    "usable_clones",
]
