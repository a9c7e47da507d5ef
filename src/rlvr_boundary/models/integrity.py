"""Checkpoint integrity: every file of a model folder against a recorded sha256.

A truncated ``.safetensors`` or weights zeroed in place (same size, same mtime) load
without complaint, so every job that reads a checkpoint verifies it first
(:func:`verify_checkpoint`, called by :func:`~.modeling.load_checkpoint` and, for the
vLLM backends, by the sampling job before it hands the path to the engine). The digests
come from whatever was recorded for the folder, all of them checked where several apply:

- ``checksums.sha256.json`` in the folder (:data:`CHECKSUM_FILE`), written by
  :func:`~.modeling.save_checkpoint` for every checkpoint trained here: relative file name
  -> sha256 of every other file (Snakemake's ``.snakemake*`` markers left out);
- the manifest of a fetched or given model (``results/models/<id>/manifest.json``, by
  fetch_model: relative name -> sha256), when the job reads the model through it;
- a Hugging Face cache snapshot's own blob names: each snapshot file is a link to
  ``blobs/<sha256>`` (files stored in LFS: the weights) or ``blobs/<git sha1>`` (small
  files kept in git), so a fetched snapshot is checked even without its manifest.

A mismatch raises :class:`CheckpointCorrupted`, naming the file, the expected and the
actual digest and the one command that redoes it (:func:`redo_command`). A folder with
nothing recorded (a checkpoint saved before checksum files existed, or a user's own folder
read without a manifest) loads as before, with one log line saying it is unverified.

Each file is read once per process: a digest is kept with the file's (device, inode, size,
mtime, ctime), and any write, even one that restores the mtime, changes the ctime.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

log = logging.getLogger(__name__)

CHECKSUM_FILE = "checksums.sha256.json"
_HEX64 = re.compile(r"[0-9a-f]{64}")
_HEX40 = re.compile(r"[0-9a-f]{40}")
_BLOCK = 8 << 20
# (resolved path) -> (stat fingerprint, {algorithm: hex digest}) for this process.
_DIGESTS: dict[str, tuple[tuple, dict[str, str]]] = {}
# A note added to every command: the options that pick the study must be the run's own.
RUN_OPTIONS = "(add the --configfile/--profile options the study runs with)"


class CheckpointCorrupted(ValueError):
    """A checkpoint's file differs from the digest recorded for it (or is missing)."""


def _cpus() -> int:
    """The CPUs this process may run on (a SLURM job's allocation, not the node's)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _own_files(folder: Path) -> list[Path]:
    """The files a checksum file covers: all but itself and Snakemake's markers."""
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.name != CHECKSUM_FILE
                  and not p.name.startswith(".snakemake"))


def _fingerprint(path: Path) -> tuple:
    info = path.stat()
    return info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns


def file_digests(path: str | Path, algorithms: tuple[str, ...] = ("sha256",)) -> dict[str, str]:
    """``{algorithm: hex digest}`` of a file in one read: ``sha256`` and/or ``git-sha1``
    (git's blob id, sha1 of ``blob <size>\\0`` + the bytes: a Hub cache name of a small
    file). Cached per process while the file's stat is unchanged."""
    path = Path(path)
    key, fingerprint = str(path.resolve()), _fingerprint(path)
    cached = _DIGESTS.get(key)
    if cached and cached[0] == fingerprint and all(a in cached[1] for a in algorithms):
        return {a: cached[1][a] for a in algorithms}
    hashers = {"sha256": hashlib.sha256()}
    if "git-sha1" in algorithms:
        hashers["git-sha1"] = hashlib.sha1(b"blob %d\0" % fingerprint[2])
    buffer = bytearray(_BLOCK)
    view = memoryview(buffer)
    with open(path, "rb", buffering=0) as handle:
        while read := handle.readinto(buffer):
            for hasher in hashers.values():
                hasher.update(view[:read])
    digests = {name: hasher.hexdigest() for name, hasher in hashers.items()}
    if _fingerprint(path) == fingerprint:  # not written while it was read
        _DIGESTS[key] = (fingerprint, {**(cached[1] if cached and cached[0] == fingerprint
                                          else {}), **digests})
    return {a: digests[a] for a in algorithms}


def write_checksums(folder: str | Path) -> dict[str, str]:
    """Write :data:`CHECKSUM_FILE` into ``folder`` (sorted keys: byte-stable) and return
    its ``{relative name: sha256}``."""
    folder = Path(folder)
    files = {str(p.relative_to(folder)): file_digests(p)["sha256"] for p in _own_files(folder)}
    (folder / CHECKSUM_FILE).write_text(
        json.dumps({"algorithm": "sha256", "files": files}, indent=2, sort_keys=True) + "\n")
    return files


def _blob(path: Path) -> Path | None:
    """The Hub cache blob a snapshot file links to, or None for an ordinary file."""
    if not path.is_symlink():
        return None
    target = Path(os.path.realpath(path))
    return target if target.parent.name == "blobs" else None


def _blob_expectation(blob: Path) -> tuple[str, str] | None:
    if _HEX64.fullmatch(blob.name):
        return "sha256", blob.name
    if _HEX40.fullmatch(blob.name):
        return "git-sha1", blob.name
    return None


def blob_mismatches(path: Path, digests: dict[str, str]) -> tuple[Path, str, str] | None:
    """For a Hub cache snapshot file: (blob, expected, actual) when the blob's bytes do not
    match its name; None for an intact blob or an ordinary file. ``digests`` holds at least
    the file's sha256 (git-sha1 is computed here when the name is one)."""
    blob = _blob(path)
    expectation = blob and _blob_expectation(blob)
    if not expectation:
        return None
    algorithm, expected = expectation
    actual = digests.get(algorithm) or file_digests(path, (algorithm,))[algorithm]
    return None if actual == expected else (blob, expected, actual)


def _relative(path: Path) -> Path:
    """``path`` relative to the working directory (the workflow's) when it is inside it."""
    absolute = Path(os.path.abspath(path))
    try:
        return absolute.relative_to(Path.cwd())
    except ValueError:
        return absolute


def _maker(folder: Path) -> tuple[str, Path] | None:
    """(rule, output folder) of a checkpoint folder this workflow writes, from the layout:
    results/models/<id> (pretrain_base, pretrain_teacher, train_rl, distill_student),
    results/checkpoints/<run>/step-N (train_rl, or train_paper_rl for a paper run),
    results/trained/<id> (train_paper_rl); None for any other folder."""
    parts = _relative(folder).parts
    if len(parts) < 3 or parts[0] != "results":
        return None
    kind, name = parts[1], parts[2]
    target = Path(*parts[:3])
    if kind == "trained":
        return "train_paper_rl", target
    if kind == "checkpoints":
        return ("train_paper_rl" if Path("results/trained", name).exists() else "train_rl"), target
    if kind == "models":
        if name == "teacher":
            return "pretrain_teacher", target
        if name.endswith("-base"):
            return "pretrain_base", target
        if name.endswith("-distilled"):
            return "distill_student", target
        if "-rl-" in name:
            return "train_rl", target
    return None


def manifests_of(folder: str | Path) -> list[Path]:
    """The fetch_model manifests (results/models/*/manifest.json, from the workflow's
    working directory) whose ``path`` is ``folder``: how a job given only a fetched model's
    folder finds the digests recorded for it."""
    resolved = str(Path(folder).resolve())
    found = []
    for manifest in sorted(Path("results/models").glob("*/manifest.json")):
        try:
            if str(Path(json.loads(manifest.read_text())["path"]).resolve()) == resolved:
                found.append(manifest)
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return found


def _manifest_of(folder: Path) -> Path | None:
    found = manifests_of(folder)
    return found[0] if found else None


def redo_command(folder: str | Path, manifest: str | Path | None = None,
                 blob: Path | None = None) -> str:
    """What to run so that the workflow writes the checkpoint at ``folder`` again: its
    training job (and everything after it) for a folder trained here; the blob's removal
    and its fetch again for a Hub snapshot; for anything else, the folder is not the
    workflow's to redo."""
    folder = Path(folder)
    if blob is not None:
        manifest = manifest or _manifest_of(folder)
        fetch = (f"snakemake --forcerun {_relative(Path(manifest))}" if manifest
                 else "snakemake --forcerun fetch_model")
        return (f"delete the corrupted Hub cache blob and fetch it again: `rm -f {blob} && "
                f"{fetch}` {RUN_OPTIONS}")
    made = _maker(folder)
    if made:
        rule, target = made
        unlock = "" if os.access(target, os.W_OK) else f"chmod -R u+w {target} && "
        return (f"it is written by rule {rule}; redo it and everything that read it with "
                f"`{unlock}snakemake --forcerun {target}` {RUN_OPTIONS}")
    if manifest:
        return (f"{folder} is not written by this workflow: restore the file from an intact "
                f"copy; if the change is intended, record the folder again with "
                f"`snakemake --forcerun {_relative(Path(manifest))}` {RUN_OPTIONS}")
    return f"{folder} is not written by this workflow: restore the file from an intact copy"


def _expectations(folder: Path, manifests: list[str | Path | dict]
                  ) -> tuple[dict[str, list[tuple[str, str]]], list[str]]:
    """{relative name: [(expected sha256, where recorded)]} and the sources used."""
    expected: dict[str, list[tuple[str, str]]] = {}
    sources = []
    manifest = next((m for m in manifests if not isinstance(m, dict)), None)
    for recorded in manifests:
        where = "its manifest" if isinstance(recorded, dict) else f"the manifest {recorded}"
        data = recorded if isinstance(recorded, dict) else json.loads(Path(recorded).read_text())
        for name, digest in (data.get("files") or {}).items():
            expected.setdefault(name, []).append((digest, where))
        sources.append(where)
    checksums = folder / CHECKSUM_FILE
    if checksums.is_file():
        where = f"{checksums} (written with the checkpoint)"
        try:
            files = json.loads(checksums.read_text())["files"]
            if not isinstance(files, dict):
                raise TypeError("`files` is not a mapping")
        except (ValueError, KeyError, TypeError) as error:
            raise CheckpointCorrupted(
                f"{checksums}: unreadable checksum file ({error}); the checkpoint cannot be "
                f"verified. Fix: {redo_command(folder, manifest)}"
            ) from None
        for name, digest in files.items():
            expected.setdefault(name, []).append((digest, where))
        sources.append(CHECKSUM_FILE)
    return expected, sources


def verify_checkpoint(folder: str | Path, manifest: str | Path | dict | None = None) -> str:
    """Check every recorded digest of the checkpoint at ``folder``: its checksum file, the
    ``manifest`` when given (else every fetch_model manifest naming the folder:
    :func:`manifests_of`), and Hub cache blob names. Raises :class:`CheckpointCorrupted` on
    a changed or missing file. Returns ``verified``, or ``unverified`` when nothing is
    recorded for the folder (logged; it loads as before)."""
    folder = Path(folder)
    started = time.perf_counter()
    manifests = [manifest] if manifest is not None else manifests_of(folder)
    manifest = next((m for m in manifests if not isinstance(m, dict)), None)
    expected, sources = _expectations(folder, manifests)
    blobs = {str(p.relative_to(folder)): p for p in folder.rglob("*") if _blob(p) is not None}
    if blobs:
        sources.append("Hub cache blob names")
    if not expected and not blobs:
        log.info("%s: unverified (no %s and no manifest recorded for it); loading it as before",
                 folder, CHECKSUM_FILE)
        return "unverified"
    names = sorted(set(expected) | set(blobs))
    missing = [name for name in names if not (folder / name).is_file()]
    if missing:
        name = missing[0]
        recorded = (f"sha256 {expected[name][0][0]} recorded in {expected[name][0][1]}"
                    if name in expected else "its Hub cache blob is gone")
        raise CheckpointCorrupted(
            f"{folder / name}: missing from the checkpoint ({recorded})"
            f"{f' and {len(missing) - 1} more' if len(missing) > 1 else ''}. Fix: "
            f"{redo_command(folder, manifest, _blob(folder / name))}")
    workers = max(1, min(len(names), _cpus(), 8))
    with ThreadPoolExecutor(workers) as pool:  # hashlib releases the GIL on large blocks
        digests = dict(zip(names, pool.map(lambda n: file_digests(folder / n), names)))
    for name in names:
        path = folder / name
        actual = digests[name]["sha256"]
        for digest, where in expected.get(name, []):
            if actual != digest:
                raise CheckpointCorrupted(
                    f"{path}: sha256 {actual} differs from {digest} recorded in {where}; the "
                    f"checkpoint is corrupted. Fix: "
                    f"{redo_command(folder, manifest, _blob(path))}")
        wrong_blob = blob_mismatches(path, digests[name]) if name in blobs else None
        if wrong_blob:
            blob, digest, actual = wrong_blob
            raise CheckpointCorrupted(
                f"{path}: its Hub cache blob {blob} has {'sha256' if len(digest) == 64 else 'git sha1'} "
                f"{actual}, not the {digest} it is named by; the download is corrupted. Fix: "
                f"{redo_command(folder, manifest, blob)}")
    size = sum((folder / name).stat().st_size for name in names)
    log.info("%s: %d files (%.2f GB) verified against %s in %.1fs", folder, len(names), size / 1e9,
             " and ".join(sources), time.perf_counter() - started)
    return "verified"
