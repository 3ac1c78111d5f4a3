"""Paths for :func:`daskdl.import_file` on any fsspec filesystem.

Local paths, ``s3://``, ``gs://``, ``az://``, ``http(s)://``, ``memory://`` ... : existence,
globs and directories are resolved with fsspec (``storage_options`` go to the filesystem), and
files are opened through it with their compression inferred from the name.
"""
from __future__ import annotations

import os

import fsspec
from fsspec.core import url_to_fs


def filesystem(path: str, storage_options: dict | None):
    """(filesystem, path inside it) for a path or URL."""
    return url_to_fs(path, **(storage_options or {}))


def is_local(path: str) -> bool:
    return "://" not in path or path.startswith("file://")


def is_http(path: str) -> bool:
    return path.lower().startswith(("http://", "https://"))


def _is_glob(path: str) -> bool:
    return any(ch in path for ch in "*?[")


def _url(fs, p: str) -> str:
    """A path from ``fs`` as a URL usable by dask and fsspec again."""
    return fs.unstrip_protocol(p) if not isinstance(fs, fsspec.implementations.local.LocalFileSystem) else p


def resolve(path: str, storage_options: dict | None) -> tuple[list[str], bool]:
    """(files, is_directory): the files a path, glob or directory names (sorted URLs); raises
    ``FileNotFoundError`` naming the path when there is none."""
    fs, p = filesystem(path, storage_options)
    if _is_glob(path) and not is_http(path):
        files = sorted(f for f in fs.glob(p) if not fs.isdir(f))
        if not files:
            raise FileNotFoundError(f"no file matches {path!r}")
        return [_url(fs, f) for f in files], False
    if is_http(path):  # an HTTP server has no directories; asking for the file is the test
        try:
            with fs.open(p, "rb") as fh:
                fh.read(1)
        except (FileNotFoundError, OSError) as e:
            raise FileNotFoundError(f"file not found: {path!r} ({e})") from e
        return [path], False
    if not fs.exists(p):
        raise FileNotFoundError(f"file not found: {path!r}")
    if fs.isdir(p):
        files = sorted(f for f in fs.find(p) if not os.path.basename(f).startswith((".", "_")))
        return [_url(fs, f) for f in files], True
    return [_url(fs, p)], False


def open_binary(path: str, storage_options: dict | None, compression: str | None):
    """A binary file object for ``path`` (decompressed when ``compression`` is given)."""
    return fsspec.open(path, mode="rb", compression=compression, **(storage_options or {})).open()


def list_dir(path: str, storage_options: dict | None) -> list[str]:
    """Base names of the entries of a directory."""
    fs, p = filesystem(path, storage_options)
    return [os.path.basename(str(e).rstrip("/")) for e in fs.ls(p, detail=False)]
