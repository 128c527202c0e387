"""`python -m bot backup --to DIR` / `python -m bot restore --from DIR`: the PostgreSQL database (pg_dump's custom
format) and the local blob folder, with a manifest that lets a restore check the field key before it starts.

The settings (ZWB_DATABASE_URL, ZWB_BLOB_DIR, ZWB_FIELD_KEY) name the source of a backup and the target of a
restore. Case data, conversation state and uploads are encrypted with the field key: a backup is unreadable
without it, and the key is never written into the backup.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy.engine import make_url

from bot.config import Settings
from storage.cipher import FieldCipher

MANIFEST = "manifest.json"
DUMP = "database.dump"
BLOBS = "blobs"
_KEY_PROBE = "zhengwu-bot backup"


class BackupError(Exception):
    """A backup or restore that cannot go on; the message says why."""


def _libpq(database_url: str) -> tuple[str, dict[str, str]]:
    """A libpq URL without the password, and the environment that carries the password (not on the command line)."""
    url = make_url(database_url)
    if not url.drivername.startswith("postgresql"):
        raise BackupError(f"backup and restore need PostgreSQL (ZWB_DATABASE_URL is {url.drivername}); "
                          "for the embedded SQLite file, copy it while the app is stopped")
    env = {**os.environ}
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    return url.set(drivername="postgresql", password=None).render_as_string(hide_password=False), env


def _run(command: list[str], env: dict[str, str]) -> None:
    try:
        subprocess.run(command, env=env, check=True, capture_output=True, text=True)
    except FileNotFoundError as exc:
        raise BackupError(f"{command[0]} not found: install the PostgreSQL client (Debian: postgresql-client)") from exc
    except subprocess.CalledProcessError as exc:
        raise BackupError(f"{command[0]} failed: {exc.stderr.strip()}") from exc


def _local_blob_dir(settings: Settings) -> Path:
    if settings.blob_store != "local":
        raise BackupError("uploads are in an S3 bucket: back them up with the provider's versioning or replication "
                          "(or `rclone sync` / `mc mirror` of the prefix); this command copies a local blob_dir")
    return settings.blob_dir


def backup(settings: Settings, cipher: FieldCipher, target: Path) -> dict[str, object]:
    """Dump the database and copy the blob folder into `target` (which must not exist yet); returns the manifest."""
    if target.exists():
        raise BackupError(f"{target} exists already; a backup goes into a new folder")
    dsn, env = _libpq(settings.database_url)
    blob_dir = _local_blob_dir(settings)
    target.mkdir(parents=True, mode=0o700)
    _run(["pg_dump", "--format=custom", "--no-owner", "--no-privileges", f"--file={target / DUMP}", dsn], env)
    os.chmod(target / DUMP, 0o600)
    if blob_dir.is_dir():
        shutil.copytree(blob_dir, target / BLOBS)
    else:
        (target / BLOBS).mkdir(mode=0o700)
    files = sum(1 for p in (target / BLOBS).rglob("*") if p.is_file())
    manifest: dict[str, object] = {
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"), "database": DUMP, "blobs": BLOBS,
        "blob_files": files, "key_probe": cipher.encrypt(_KEY_PROBE)}
    (target / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return manifest


def restore(settings: Settings, cipher: FieldCipher, source: Path) -> dict[str, object]:
    """Restore a backup into the (empty) database and the (empty or missing) blob folder of the settings."""
    try:
        manifest: dict[str, object] = json.loads((source / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BackupError(f"{source} is not a backup: {exc}") from exc
    try:
        cipher.decrypt(str(manifest["key_probe"]))
    except (ValueError, KeyError) as exc:
        raise BackupError("this backup was encrypted with a field key that is not configured: set ZWB_FIELD_KEY "
                          "(or ZWB_FIELD_OLD_KEYS) to the key of the backed-up installation") from exc
    dsn, env = _libpq(settings.database_url)
    blob_dir = _local_blob_dir(settings)
    if blob_dir.exists() and any(blob_dir.iterdir()):
        raise BackupError(f"{blob_dir} is not empty; restore into an empty blob folder")
    _run(["pg_restore", "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction",
          f"--dbname={dsn}", str(source / DUMP)], env)
    shutil.copytree(source / BLOBS, blob_dir, dirs_exist_ok=True)
    return manifest


def main(argv: list[str]) -> int:
    """`backup --to DIR` or `restore --from DIR`, with the settings of config.yaml and ZWB_*."""
    from bootstrap import VAR, load_settings

    parser = argparse.ArgumentParser(prog="python -m bot backup|restore")
    parser.add_argument("action", choices=["backup", "restore"])
    parser.add_argument("--to", type=Path, help="backup: a new folder")
    parser.add_argument("--from", dest="source", type=Path, help="restore: a folder written by backup")
    args = parser.parse_args(argv)
    settings = load_settings()
    cipher = FieldCipher.from_config(settings.field_key, settings.field_old_keys, VAR / "field.key")
    try:
        if args.action == "backup":
            if args.to is None:
                parser.error("backup needs --to DIR")
            manifest = backup(settings, cipher, args.to)
            print(f"backed up the database and {manifest['blob_files']} blob files to {args.to}")
        else:
            if args.source is None:
                parser.error("restore needs --from DIR")
            manifest = restore(settings, cipher, args.source)
            print(f"restored the backup of {manifest['created']} ({manifest['blob_files']} blob files)")
    except BackupError as exc:
        print(f"{args.action} failed: {exc}", file=sys.stderr)
        return 1
    return 0
