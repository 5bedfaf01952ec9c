"""Server assembly: the stores, engine, catalog and auth of one process, built from the
configuration. The command line, first-start work and the worker processes build their
services here; front ends are handed the catalog and auth, never the stores."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from limnos.auth import AuthService
from limnos.auth.crypto import derive_key
from limnos.block.adapter import BlockAdapter
from limnos.block.local import LocalAdapter
from limnos.block.mem import MemAdapter
from limnos.block.presign import UrlSigner
from limnos.catalog.catalog import Catalog
from limnos.catalog.entry import same_content
from limnos.config import Config
from limnos.graveler.committed import CommittedStore
from limnos.graveler.engine import Graveler
from limnos.kv.sqlite import SQLiteStore
from limnos.kv.store import KVStore


@dataclass
class Services:
    """Stores, engine, catalog and auth of one process."""

    config: Config
    kv: KVStore
    block: BlockAdapter
    committed: CommittedStore
    graveler: Graveler
    catalog: Catalog
    auth: AuthService

    def close(self) -> None:
        """Release connections."""
        self.block.close()
        self.kv.close()


def open_kv(config: Config) -> KVStore:
    """The metadata store named by ``database.*``."""
    if config.database.type == "postgres":
        from limnos.kv.postgres import PostgresStore

        return PostgresStore(
            config.database.postgres.connection_string,
            max_open_connections=config.database.postgres.max_open_connections,
            max_lifetime_seconds=config.database.postgres.connection_max_lifetime.total_seconds(),
        )
    return SQLiteStore(Path(config.database.local.path) / "limnos.db")


def url_signer(config: Config) -> UrlSigner:
    """The signer of the presigned URLs this installation serves: keyed by
    ``blockstore.signing.secret_key``, or, when that is not set, by a key derived from
    ``auth.encrypt.secret_key`` (every server of an installation shares both)."""
    secret = config.blockstore.signing.secret_key or config.auth.encrypt.secret_key
    return UrlSigner(derive_key(secret, b"limnos/block/presigned-urls/v1"))


def open_block(config: Config) -> BlockAdapter:
    """The blockstore named by ``blockstore.*``."""
    kind = config.blockstore.type
    expiry = int(config.blockstore.local.pre_signed_expiry.total_seconds())
    if kind == "mem":
        return MemAdapter(signer=url_signer(config), presign_expiry_seconds=expiry)
    if kind == "s3":
        from limnos.block.s3 import S3Adapter, S3Settings

        return S3Adapter(
            S3Settings(
                region=config.blockstore.s3.region,
                endpoint=config.blockstore.s3.endpoint,
                force_path_style=config.blockstore.s3.force_path_style,
                access_key_id=config.blockstore.s3.credentials.access_key_id,
                secret_access_key=config.blockstore.s3.credentials.secret_access_key,
                max_retries=config.blockstore.s3.max_retries,
                pre_signed_expiry_seconds=int(config.blockstore.s3.pre_signed_expiry.total_seconds()),
            )
        )
    return LocalAdapter(
        config.blockstore.local.path,
        allowed_external_prefixes=config.blockstore.local.allowed_external_prefixes,
        signer=url_signer(config),
        presign_expiry_seconds=expiry,
    )


def build(config: Config) -> Services:
    """Open everything a server process needs."""
    kv = open_kv(config)
    block = open_block(config)
    cache_dir: str | None = None
    if config.blockstore.type != "local":
        cache_dir = os.path.join(config.committed.local_cache.dir, "ranges")
    committed = CommittedStore(
        block,
        cache_dir=cache_dir,
        disk_cache_bytes=config.committed.local_cache.size_bytes,
        memory_cache_bytes=config.committed.memory_cache.size_bytes,
        same=same_content,
    )
    graveler = Graveler(kv, block, committed)
    catalog = Catalog(
        kv,
        graveler,
        block,
        import_enabled=config.blockstore.local.import_enabled,
        link_expiry_seconds=int(config.blockstore.link_address_expiry.total_seconds()),
        default_namespace_prefix=config.blockstore.default_namespace_prefix,
    )
    return Services(
        config=config,
        kv=kv,
        block=block,
        committed=committed,
        graveler=graveler,
        catalog=catalog,
        auth=AuthService(kv, config.auth.encrypt.secret_key),
    )
